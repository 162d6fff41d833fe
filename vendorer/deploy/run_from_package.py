"""Run-from-package for Functions on Elastic Premium and Linux Consumption (research §6).

As Core Tools (`UploadPackageToStorage`) and az cli (`upload_zip_to_storage`) do it: the package
goes to the storage account of the app setting `AzureWebJobsStorage` (a connection string with an
account key), container `function-releases` (created when missing), blob
`<yyyyMMddHHmmss>-<uuid>.zip`; the service's Content-MD5 must equal the package's; a read-only
service SAS for that one blob, signed with the account key, from five minutes ago for ten years;
then the app settings are written whole with `WEBSITE_RUN_FROM_PACKAGE=<blob URL>?<SAS>` (and
`WEBSITE_MOUNT_ENABLED=1` on Consumption), which restarts the site onto the package, and the
triggers are synced.

Why ten years, as Core Tools: the platform reads the package through that URL at every start (a
cold start, a scale-out, a restart), so a SAS that expires leaves the site unable to start long
after the deployment worked. It reads one blob and nothing else; a new deployment writes a new
blob and a new URL.

Secrets: the connection string, the account key and the SAS URL are never shown, logged or
written by vendorer; the blob's URL is shown without its query.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit, urlunsplit

from azure.core.exceptions import AzureError as SdkError
from azure.core.exceptions import (
    HttpResponseError,
    ResourceExistsError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.storage.blob import (
    BlobClient,
    BlobSasPermissions,
    BlobServiceClient,
    ContentSettings,
    generate_blob_sas,
)

from vendorer.deploy.azure_arm import ArmSession
from vendorer.deploy.azure_auth import quiet_sdk_logging
from vendorer.deploy.azure_errors import AzureError, StorageError, first_line, hide_secrets
from vendorer.deploy.azure_settings import change_settings, read_settings, sync_triggers
from vendorer.deploy.build_settings import MOUNT, RUN_FROM_PACKAGE, SettingsChange
from vendorer.deploy.site import Site
from vendorer.report import NULL_REPORTER, UPLOAD, Reporter

__all__ = [
    "CONTAINER",
    "SAS_LIFETIME",
    "STORAGE_SETTING",
    "RunFromPackage",
    "StorageAccount",
    "UploadedPackage",
    "blob_name",
    "publish_run_from_package",
    "storage_account",
    "upload_package",
]

STORAGE_SETTING: Final = "AzureWebJobsStorage"
CONTAINER: Final = "function-releases"
SAS_LIFETIME: Final = timedelta(days=3650)  # Core Tools: ten years (see the module docstring)
SAS_EARLY: Final = timedelta(minutes=5)  # the SAS starts before now: clocks differ
CONNECT_TIMEOUT = 20.0
READ_TIMEOUT = 120.0
_FIX_SETTING = (
    f"set the app setting {STORAGE_SETTING} to the storage account's connection string "
    "(`az storage account show-connection-string`), or deploy to a Flex Consumption or "
    "Dedicated plan"
)


@dataclass(frozen=True, slots=True, kw_only=True)
class StorageAccount:
    """The account of `AzureWebJobsStorage`: its name, its blob endpoint, and its secrets."""

    name: str
    blob_endpoint: str  # https://<name>.blob.core.windows.net, without a query
    key: str = field(repr=False)
    connection_string: str = field(repr=False)

    @property
    def secrets(self) -> tuple[str, str]:
        return (self.key, self.connection_string)


@dataclass(frozen=True, slots=True, kw_only=True)
class UploadedPackage:
    blob_url: str  # no query: safe to show
    sas_url: str = field(repr=False)  # the blob URL with a read-only SAS: a secret
    md5: str  # hex
    size: int


@dataclass(frozen=True, slots=True, kw_only=True)
class RunFromPackage:
    """What a run-from-package deployment did: the blob, and the app settings it set."""

    blob_url: str
    md5: str
    change: SettingsChange


def storage_account(settings: Mapping[str, str]) -> StorageAccount:
    """The storage account the app setting `AzureWebJobsStorage` names; StorageError when the
    setting is missing, identity-based, or not a connection string with an account key."""
    lowered = {key.lower(): value for key, value in settings.items()}
    connection = lowered.get(STORAGE_SETTING.lower(), "").strip()
    if not connection:
        identity = any(key.startswith(STORAGE_SETTING.lower() + "__") for key in lowered)
        why = (
            "uses an identity-based connection (AzureWebJobsStorage__...), which gives no "
            "account key to sign a SAS with"
            if identity
            else "is missing"
        )
        raise StorageError(f"the app setting {STORAGE_SETTING} {why}: {_FIX_SETTING}")
    try:
        client = BlobServiceClient.from_connection_string(connection)
    except ValueError:
        raise StorageError(
            f"the app setting {STORAGE_SETTING} is not a storage connection string: {_FIX_SETTING}"
        ) from None
    key = str(getattr(client.credential, "account_key", "") or "")
    if not key or not _is_base64(key):
        problem = "has no AccountKey" if not key else "has an AccountKey that is not base64"
        raise StorageError(
            f"the app setting {STORAGE_SETTING} {problem} (a SAS is signed with the account "
            f"key): {_FIX_SETTING}"
        )
    parts = urlsplit(client.url)
    endpoint = urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), "", ""))
    name = client.account_name or ""
    return StorageAccount(name=name, blob_endpoint=endpoint, key=key, connection_string=connection)


def _is_base64(text: str) -> bool:
    try:
        base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


def blob_name(now: datetime | None = None) -> str:
    """`<yyyyMMddHHmmss>-<uuid>.zip`, the time in UTC (az cli's and Core Tools' name)."""
    now = now or datetime.now(UTC)
    return f"{now.astimezone(UTC):%Y%m%d%H%M%S}-{uuid.uuid4()}.zip"


def upload_package(
    account: StorageAccount,
    package: Path,
    *,
    reporter: Reporter = NULL_REPORTER,
    retries: int = 3,
) -> UploadedPackage:
    """Upload `package` to a new blob in `function-releases`, check its MD5, and sign a
    read-only SAS for it; StorageError when the account refuses or the MD5 differs."""
    quiet_sdk_logging()
    client = BlobServiceClient.from_connection_string(
        account.connection_string,
        retry_total=retries,
        connection_timeout=CONNECT_TIMEOUT,
        read_timeout=READ_TIMEOUT,
    )
    with client:
        container = client.get_container_client(CONTAINER)
        blob = container.get_blob_client(blob_name())
        shown = _without_query(blob.url)
        try:
            with contextlib.suppress(ResourceExistsError):
                container.create_container()
            md5, size = _md5_and_size(package)
            _send(blob, package, size, shown, reporter)
            _check_md5(blob, md5, size, shown)
        except SdkError as error:
            raise _storage_failure(error, account, f"upload the package to {shown}") from None
    return UploadedPackage(
        blob_url=shown,
        sas_url=f"{shown}?{_read_sas(account, blob.blob_name)}",
        md5=md5.hex(),
        size=size,
    )


def _md5_and_size(package: Path) -> tuple[bytes, int]:
    digest, size = hashlib.md5(usedforsecurity=False), 0
    with package.open("rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
            size += len(chunk)
    return digest.digest(), size


def _send(blob: BlobClient, package: Path, size: int, shown: str, reporter: Reporter) -> None:
    """Upload with an MD5 checked by the service on every request (each block when chunked)."""
    sent = 0

    def progress(current: int, total: int | None) -> None:
        nonlocal sent
        reporter.advanced(UPLOAD, size=max(0, current - sent))
        sent = max(sent, current)

    reporter.started(UPLOAD, title=f"uploading {package.name} to {shown}", total=size)
    try:
        with package.open("rb") as stream:
            blob.upload_blob(
                stream,
                length=size,
                content_settings=ContentSettings(content_type="application/zip"),
                validate_content="md5",
                progress_hook=progress,
            )
    finally:
        reporter.finished(UPLOAD)


def _check_md5(blob: BlobClient, md5: bytes, size: int, shown: str) -> None:
    """The blob the service stored is the package: its Content-MD5 (the service computes it for
    a single upload) and its size; a mismatched blob is deleted."""
    properties = blob.get_blob_properties()
    stored = properties.content_settings.content_md5
    if (stored is None or bytes(stored) == md5) and properties.size == size:
        return
    blob.delete_blob()
    raise StorageError(
        f"the blob {shown} does not hold the package (its Content-MD5 or size differs): "
        "the upload was corrupted on the way; deploy again"
    )


def _read_sas(account: StorageAccount, name: str) -> str:
    now = datetime.now(UTC)
    https = account.blob_endpoint.startswith("https:")
    return generate_blob_sas(
        account.name,
        CONTAINER,
        name,
        account_key=account.key,
        permission=BlobSasPermissions(read=True),
        start=now - SAS_EARLY,
        expiry=now + SAS_LIFETIME,
        protocol="https" if https else None,
    )


def _without_query(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def _storage_failure(error: SdkError, account: StorageAccount, what: str) -> StorageError:
    where = f"the storage account {account.name} ({STORAGE_SETTING})"
    if isinstance(error, ServiceRequestError | ServiceResponseError):
        reason = hide_secrets(first_line(str(error), 200), account.secrets)
        return StorageError(
            f"could not {what}: {where} at {account.blob_endpoint} did not answer ({reason}); "
            "check the network, and the account's firewall"
        )
    status = getattr(error, "status_code", None)
    code = _code(getattr(error, "error_code", None))
    said = hide_secrets(first_line(getattr(error, "message", None) or str(error)), account.secrets)
    # A wrong key: AuthenticationFailed on Azure; Azurite says AuthorizationFailure with the same
    # "failed to authenticate" message. AuthorizationFailure alone is Azure's firewall.
    if status == 403 and (code == "AuthenticationFailed" or "failed to authenticate" in said):
        return StorageError(
            f"could not {what}: {where} refused the account key (403 {code}); was the key "
            f"rotated? {_FIX_SETTING}"
        )
    if status == 403:
        return StorageError(
            f"could not {what}: {where} refused the request (403 {code}); its firewall or "
            "network rules may not let this machine in"
        )
    answer = f"{status} {code}".strip() if isinstance(error, HttpResponseError) else "an error"
    return StorageError(f"could not {what}: {where} answered {answer}: {said}")


def _code(code: object) -> str:
    """A storage error code as the service says it (`AuthenticationFailed`): the SDK's enum's
    value, or the text."""
    return str(getattr(code, "value", code) or "")


def publish_run_from_package(
    session: ArmSession,
    site: Site,
    package: Path,
    *,
    reporter: Reporter = NULL_REPORTER,
    also: SettingsChange | None = None,
    storage_retries: int = 3,
) -> RunFromPackage:
    """The whole route (see the module docstring) for a Premium or Consumption site; `also`
    (the build-settings fix, say) goes into the same settings write, so the site restarts once."""
    if site.plan not in ("functions-premium", "functions-consumption"):
        raise AzureError(
            f"site {site.name} is on {site.plan}: run-from-package from a blob is the route for "
            "Functions on Elastic Premium and Linux Consumption only"
        )
    account = storage_account(read_settings(session))
    uploaded = upload_package(account, package, reporter=reporter, retries=storage_retries)
    updates = {RUN_FROM_PACKAGE: uploaded.sas_url}
    if site.plan == "functions-consumption":
        updates[MOUNT] = "1"
    also = also or SettingsChange()
    change = SettingsChange(
        updates={**also.updates, **updates},
        removals=tuple(name for name in also.removals if name not in updates),
        reasons={**also.reasons, RUN_FROM_PACKAGE: f"{uploaded.blob_url}, through a read-only SAS"},
    )
    try:
        change_settings(session, change, reporter)
    except AzureError:
        _forget(account, uploaded)
        raise
    sync_triggers(session)
    return RunFromPackage(blob_url=uploaded.blob_url, md5=uploaded.md5, change=change)


def _forget(account: StorageAccount, uploaded: UploadedPackage) -> None:
    """Delete a blob no setting points at (best effort: a leftover blob harms nothing)."""
    client = BlobServiceClient.from_connection_string(account.connection_string, retry_total=0)
    name = uploaded.blob_url.rsplit("/", 1)[-1]
    try:
        with client:
            client.get_blob_client(CONTAINER, name).delete_blob()
    except SdkError:
        pass
