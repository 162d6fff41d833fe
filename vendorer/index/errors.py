"""The index's failures: each its own `IndexError_` subclass, its message saying what to do.

Every httpx exception is translated into one of these by the index client; none imports httpx.
"""

from __future__ import annotations

from vendorer.errors import IndexError_

__all__ = [
    "BrokenDownloadError",
    "HashMismatchError",
    "HttpStatusError",
    "IndexAuthError",
    "IndexPageError",
    "IndexTimeoutError",
    "IndexUnreachableError",
    "MetadataError",
    "OfflineError",
    "ResponseTooLargeError",
    "TransferCancelled",
]


class IndexUnreachableError(IndexError_):
    """No connection could be made (refused, DNS, proxy, TLS)."""


class IndexTimeoutError(IndexError_):
    """The server did not answer in time, on every try."""


class BrokenDownloadError(IndexError_):
    """A transfer was cut off, or the bytes that arrived are not the archive they should be."""


class ResponseTooLargeError(IndexError_):
    """A page or metadata file larger than vendorer reads into memory."""


class TransferCancelled(IndexError_):
    """The run was interrupted: transfers still running stop at their next try or chunk."""


class OfflineError(IndexError_):
    """Offline mode asked for something the cache does not hold."""


class HttpStatusError(IndexError_):
    """The server answered with an error status."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class IndexAuthError(HttpStatusError):
    """HTTP 401 or 403: missing or wrong credentials."""


class HashMismatchError(IndexError_):
    """A file's bytes do not match the hash the index gave."""

    def __init__(
        self,
        what: str,
        algorithm: str,
        expected: str,
        actual: str,
        *,
        deleted: bool,
        against: str = "the index's",
    ) -> None:
        fate = "it was deleted and not used" if deleted else "it was not used"
        super().__init__(
            f"{what}: {algorithm} {actual} does not match {against} {expected}; {fate}. A "
            "corrupted transfer or a file changed on the index: try again, and lock again if it "
            "persists"
        )
        self.algorithm = algorithm
        self.expected = expected
        self.actual = actual


class IndexPageError(IndexError_):
    """A project or find-links page that cannot be read (malformed, or an unknown API version)."""


class MetadataError(IndexError_):
    """Core metadata that cannot be used (unreadable, invalid, or naming another distribution)."""
