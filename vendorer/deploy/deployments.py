"""A deployment as the SCM site reports it, and how it went: records, statuses, logs, errors.

KuduLite (`DeploymentController.cs`, `DeployResult.cs`) answers a record `{id, status,
status_text, complete, log_url, ...}` with `status` 0 Pending, 1 Building, 2 Deploying, 3 Failed,
4 Success; Flex Consumption adds -1 Cancelled, 5 Conflict, 6 PartialSuccess (Core Tools
`DeployStatus.cs`, azd `PublishStatus`). A log is `[{id, message, type, details_url}]` with `type`
0 Message, 1 Warning, 2 Error; `details_url` (set for entries with details) answers the same shape.

Only status 4 is success: any other final status is a `DeploymentFailed` carrying the log's error
entries and their details, because the deployment's failure is vendorer's (exit 1).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import quote

from vendorer.deploy.kudu import KuduClient, KuduError

__all__ = [
    "FINAL_STATUSES",
    "SUCCESS",
    "DeploymentConflict",
    "DeploymentFailed",
    "DeploymentOutcomeUnknown",
    "DeploymentRecord",
    "DeploymentTimedOut",
    "LogEntry",
    "error_lines",
    "read_log",
    "status_name",
]

CANCELLED, PENDING, BUILDING, DEPLOYING, FAILED, SUCCESS = -1, 0, 1, 2, 3, 4
CONFLICT, PARTIAL_SUCCESS = 5, 6
STATUS_NAMES: Final = {
    CANCELLED: "Cancelled",
    PENDING: "Pending",
    BUILDING: "Building",
    DEPLOYING: "Deploying",
    FAILED: "Failed",
    SUCCESS: "Success",
    CONFLICT: "Conflict",
    PARTIAL_SUCCESS: "PartialSuccess",
}
FINAL_STATUSES: Final = frozenset({CANCELLED, FAILED, SUCCESS, CONFLICT, PARTIAL_SUCCESS})
WARNING, ERROR = 1, 2
MAX_ERROR_LINES: Final = 40  # a failed build's log can be long: its first lines tell the story
MAX_DETAIL_DEPTH: Final = 3


def status_name(status: int) -> str:
    return f"{status} {STATUS_NAMES.get(status, 'Unknown')}"


class DeploymentConflict(KuduError):
    """The site refused the deployment: another one runs (HTTP 409). Never retried blindly."""


class DeploymentTimedOut(KuduError):
    """The deployment did not finish before the deadline; it goes on on the site."""


class DeploymentOutcomeUnknown(KuduError):
    """The package went out and the site's answer was lost, and what it did cannot be found."""


class DeploymentFailed(KuduError):
    """The deployment ended in a status other than Success; `errors` are its log's error lines."""

    def __init__(self, record: DeploymentRecord, errors: list[str]) -> None:
        shown = "\n".join(f"  {line}" for line in errors) if errors else "  (its log names none)"
        text = f": {record.status_text}" if record.status_text else ""
        super().__init__(
            f"the deployment {record.id} ended with status {status_name(record.status)}{text}; "
            f"the errors in its log:\n{shown}"
        )
        self.record = record
        self.errors = tuple(errors)


@dataclass(frozen=True, slots=True, kw_only=True)
class DeploymentRecord:
    id: str
    status: int
    status_text: str = ""
    complete: bool = False
    log_url: str | None = None
    is_temp: bool = False

    @classmethod
    def from_json(cls, data: object) -> DeploymentRecord | None:
        """The record in an answer, or None when the answer holds none."""
        if not isinstance(data, Mapping) or not isinstance(data.get("status"), int):
            return None
        log_url = data.get("log_url")
        return cls(
            id=str(data.get("id") or ""),
            status=int(data["status"]),
            status_text=str(data.get("status_text") or ""),
            complete=bool(data.get("complete")),
            log_url=log_url if isinstance(log_url, str) and log_url else None,
            is_temp=bool(data.get("is_temp")) or str(data.get("id", "")).startswith("temp-"),
        )

    @property
    def finished(self) -> bool:
        return self.status in FINAL_STATUSES

    @property
    def succeeded(self) -> bool:
        return self.status == SUCCESS


@dataclass(frozen=True, slots=True, kw_only=True)
class LogEntry:
    id: str
    message: str
    type: int = 0
    details_url: str | None = None

    @classmethod
    def from_json(cls, data: object) -> LogEntry | None:
        if not isinstance(data, Mapping) or not isinstance(data.get("message"), str):
            return None
        details = data.get("details_url")
        kind = data.get("type")
        return cls(
            id=str(data.get("id") or ""),
            message=data["message"],
            type=kind if isinstance(kind, int) else 0,
            details_url=details if isinstance(details, str) and details else None,
        )


def read_log(client: KuduClient, record: DeploymentRecord) -> list[LogEntry]:
    """The deployment's log entries (none for a record without an id yet, or a log gone)."""
    if not record.id:
        return []
    target = record.log_url or f"deployments/{quote(record.id, safe='')}/log"
    return _entries(client, target)


def error_lines(client: KuduClient, record: DeploymentRecord) -> list[str]:
    """What the log says went wrong: each error entry and, indented, its details (and theirs);
    the last entries when none is marked an error. At most `MAX_ERROR_LINES` lines."""
    entries = read_log(client, record)
    errors = [entry for entry in entries if entry.type == ERROR]
    lines: list[str] = []
    for entry in errors or entries[-5:]:
        lines.append(entry.message.strip())
        if entry.details_url:
            lines += _details(client, entry.details_url, 1)
    lines = [client.scrub(line) for line in lines]
    if len(lines) > MAX_ERROR_LINES:
        more = len(lines) - MAX_ERROR_LINES
        where = record.log_url or "the deployment's log"
        lines = [*lines[:MAX_ERROR_LINES], f"... ({more} more lines in {where})"]
    return lines


def _details(client: KuduClient, url: str, depth: int) -> list[str]:
    lines: list[str] = []
    for entry in _entries(client, url):
        lines.append("  " * depth + entry.message.strip())
        if entry.details_url and depth < MAX_DETAIL_DEPTH:
            lines += _details(client, entry.details_url, depth + 1)
    return lines


def _entries(client: KuduClient, target: str) -> list[LogEntry]:
    answer = client.get_json(target)
    items: Any = answer.data if answer.status == 200 else []
    if not isinstance(items, list):
        return []
    return [entry for item in items if (entry := LogEntry.from_json(item)) is not None]
