"""What vendorer says when Azure refuses: one error class per service, and the secrets kept out.

Errors from the Azure SDK (azure-identity, azure-core, azure-storage-blob) are long, may quote a
request or a setting, and end in a traceback; vendorer turns each into one of these, whose message
says what failed and what to do next. Every message goes through `hide_secrets` first: a token,
an account key, a SAS signature or a connection string never reaches the user, a log or a file.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from vendorer._util.urls import scrub_credentials
from vendorer.errors import VendorerError

__all__ = [
    "SIGN_IN_HELP",
    "ArmError",
    "AzureError",
    "AzureSignInError",
    "StorageError",
    "first_line",
    "hide_secrets",
]

SIGN_IN_HELP = (
    "sign in with `az login` (vendorer uses the Azure CLI's account), or set AZURE_TENANT_ID, "
    "AZURE_CLIENT_ID and AZURE_CLIENT_SECRET (or AZURE_CLIENT_CERTIFICATE_PATH) for a service "
    "principal; in CI a managed identity or a workload identity (AZURE_FEDERATED_TOKEN_FILE) "
    "works too"
)
MIN_SECRET = 4  # shorter known secrets are not replaced: they would mangle ordinary words
_NAMED_SECRET = re.compile(
    r"(?i)\b(sig|AccountKey|SharedAccessSignature|SharedAccessKey|client_secret|password|pwd)"
    r"=([^;&\s\"'<>]+)"
)
_BEARER = re.compile(r"(?i)\bBearer\s+[A-Za-z0-9._~+/=-]+")
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")


class AzureError(VendorerError):
    """Azure refused or failed a request vendorer made for a deployment. Exit code 1."""


class AzureSignInError(AzureError):
    """No Microsoft Entra ID token could be had (not signed in, or sign-in refused)."""


class ArmError(AzureError):
    """Azure Resource Manager refused or failed a call about the site."""


class StorageError(AzureError):
    """The storage account (run-from-package) refused or failed an upload."""


def hide_secrets(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` without the `secrets` given, nor anything shaped like one: a `sig=`, `AccountKey=`
    or `SharedAccessSignature=` value, a Bearer token, a JWT, the userinfo of a URL."""
    for secret in sorted({s for s in secrets if len(s) >= MIN_SECRET}, key=len, reverse=True):
        text = text.replace(secret, "***")
    text = _NAMED_SECRET.sub(lambda match: f"{match.group(1)}=***", text)
    text = _BEARER.sub("Bearer ***", text)
    text = _JWT.sub("***", text)
    return scrub_credentials(text)


def first_line(text: str, limit: int = 300) -> str:
    """The first non-empty line of a service's message, shortened: enough to say what it said."""
    line = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return line if len(line) <= limit else line[: limit - 3] + "..."
