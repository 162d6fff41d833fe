"""Who vendorer is on Azure: the cloud's endpoints, a Microsoft Entra ID credential, its tokens.

- The cloud (`azure_cloud`): Azure Resource Manager's endpoint and the token scopes for ARM and
  for the SCM (Kudu) site. The cloud is azure-core's setting (`AZURE_SDK_CLOUD_CONF`:
  AZURE_PUBLIC_CLOUD, AZURE_CHINA_CLOUD, AZURE_US_GOVERNMENT); `VENDORER_ARM_ENDPOINT` (or the
  `arm_endpoint` argument) names another ARM endpoint, for a cloud azure-core does not list and for
  tests: https, or plain http to this machine only (the loopback rule).
- The credential (`default_credential`): azure-identity's DefaultAzureCredential (a service
  principal in the environment, workload and managed identity, the Azure CLI's `az login`, ...);
  callers may pass any TokenCredential instead.
- SCM tokens (`ScmToken`): a `Callable[[], str]` the Kudu client calls for each request's
  `Authorization: Bearer`. It asks for the App Service audience as az cli does
  (`https://appservice.azure.com/.default`) and falls back to the ARM audience, which Core Tools
  and azd send and the SCM site takes too (research §10).
- The subscription (`subscription_for`): the one given, else AZURE_SUBSCRIPTION_ID, else the Azure
  CLI's current one (`az account show`), as az cli users expect.

A token is never printed, logged or written, and a failed sign-in is one AzureSignInError that
says what to do; azure-identity's own long message is not shown (only its AADSTS codes).
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final
from urllib.parse import urlsplit

from azure.core.exceptions import AzureError as SdkError
from azure.core.exceptions import ServiceRequestError, ServiceResponseError
from azure.core.settings import settings as azure_settings

from vendorer._util.urls import may_carry_credentials, url_problem
from vendorer.deploy.azure_errors import SIGN_IN_HELP, AzureSignInError
from vendorer.errors import ConfigError, UsageError

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential

__all__ = [
    "ARM_ENDPOINT_VARIABLE",
    "AzureCloud",
    "ScmToken",
    "azure_cloud",
    "default_credential",
    "quiet_sdk_logging",
    "sign_in_failed",
    "subscription_for",
]

ARM_ENDPOINT_VARIABLE: Final = "VENDORER_ARM_ENDPOINT"
SUBSCRIPTION_VARIABLE: Final = "AZURE_SUBSCRIPTION_ID"
REFRESH_BEFORE = 300  # seconds: a cached token this close to its expiry is fetched afresh
AZ_TIMEOUT = 20.0  # seconds for `az account show`
# az cli's `app_service_resource_id` per cloud (azure-cli-core cloud.py), the SCM token's audience.
_SCM_SCOPES: Final = {
    "AZURE_PUBLIC_CLOUD": "https://appservice.azure.com/.default",
    "AZURE_CHINA_CLOUD": "https://management.core.chinacloudapi.cn/.default",
    "AZURE_US_GOVERNMENT": "https://management.core.usgovcloudapi.net/.default",
}
_AADSTS = re.compile(r"AADSTS\d+")
_HINTS = (  # (words in azure-identity's message, what they mean for the user)
    ("az login", "the Azure CLI is not signed in"),
    ("Azure CLI not found", "the Azure CLI is not installed"),
    ("DefaultAzureCredential failed", "no credential found"),
)


@dataclass(frozen=True, slots=True, kw_only=True)
class AzureCloud:
    """Where Azure Resource Manager is, and the token scopes for it and for SCM sites."""

    name: str  # azure-core's cloud name (AZURE_PUBLIC_CLOUD ...)
    arm_endpoint: str  # https://management.azure.com, no trailing slash
    arm_scope: str  # https://management.azure.com/.default
    scm_scope: str  # https://appservice.azure.com/.default

    @property
    def loopback(self) -> bool:
        """ARM is a stand-in on this machine over plain http (tests): the only case where a
        Bearer token goes without TLS."""
        return urlsplit(self.arm_endpoint).scheme == "http"


def azure_cloud(
    arm_endpoint: str | None = None, environ: Mapping[str, str] | None = None
) -> AzureCloud:
    """The cloud: azure-core's setting, with ARM at `arm_endpoint`, else VENDORER_ARM_ENDPOINT,
    else the cloud's own endpoint. ConfigError for an endpoint that may not carry a token."""
    from azure.mgmt.core.tools import get_arm_endpoints

    environ = os.environ if environ is None else environ
    try:
        cloud = azure_settings.azure_cloud()
    except ValueError as error:
        raise ConfigError(f"AZURE_SDK_CLOUD_CONF: {error}") from None
    endpoints = get_arm_endpoints(cloud)
    source = "arm_endpoint" if arm_endpoint else ARM_ENDPOINT_VARIABLE
    endpoint = arm_endpoint or environ.get(ARM_ENDPOINT_VARIABLE) or endpoints["resource_manager"]
    endpoint = endpoint.strip().rstrip("/")
    problem = url_problem(endpoint, ("http", "https"))
    if problem is None and not may_carry_credentials(endpoint):
        problem = "is plain http to another machine: a token goes over https only"
    if problem is not None:
        raise ConfigError(f"{source}: the ARM endpoint {problem}")
    return AzureCloud(
        name=cloud.value,
        arm_endpoint=endpoint,
        arm_scope=endpoints["credential_scopes"][0],
        scm_scope=_SCM_SCOPES[cloud.value],
    )


def quiet_sdk_logging() -> None:
    """The Azure SDK's warnings go to the application's logging only: without a handler Python
    would print them (a long list of credentials tried), and vendorer says what failed itself."""
    logger = logging.getLogger("azure")
    if not any(isinstance(handler, logging.NullHandler) for handler in logger.handlers):
        logger.addHandler(logging.NullHandler())


def default_credential() -> TokenCredential:
    """azure-identity's DefaultAzureCredential (no interactive browser); `AZURE_TOKEN_CREDENTIALS`
    narrows the chain (`dev`, `prod`, or one credential's name)."""
    from azure.identity import DefaultAzureCredential

    quiet_sdk_logging()
    try:
        return DefaultAzureCredential()
    except ValueError as error:  # a bad AZURE_TOKEN_CREDENTIALS
        raise ConfigError(f"Azure credentials: {error}") from None


def sign_in_failed(error: Exception, scope: str) -> AzureSignInError:
    """One clear error for a credential that gave no token for `scope`; azure-identity's message
    is not repeated (it is long), only what it means and its AADSTS codes."""
    text = str(error)
    reason = next((meaning for words, meaning in _HINTS if words in text), "sign-in was refused")
    if isinstance(error, ServiceRequestError | ServiceResponseError):
        reason = "Microsoft Entra ID did not answer: check the network"
    codes = list(dict.fromkeys(_AADSTS.findall(text)))
    said = f"; Microsoft Entra ID said {', '.join(codes)}" if codes else ""
    audience = scope.removesuffix("/.default")
    return AzureSignInError(
        f"no Microsoft Entra ID token for {audience} ({reason}{said}): {SIGN_IN_HELP}"
    )


class ScmToken:
    """A fresh Bearer token for SCM (Kudu) sites each call, as `Callable[[], str]`.

    Tokens are cached until five minutes before they expire (getting one may start `az`). The
    App Service audience comes first; when the credential cannot give one, the ARM audience.
    """

    def __init__(self, credential: TokenCredential, cloud: AzureCloud) -> None:
        self._credential = credential
        self._scopes = (cloud.scm_scope, cloud.arm_scope)
        self._first = 0  # index of the scope to ask first
        self._token = ""
        self._expires = 0.0
        self._lock = threading.Lock()

    def __repr__(self) -> str:  # never the token
        return f"ScmToken(scope={self._scopes[self._first]!r})"

    @property
    def scope(self) -> str:
        """The scope asked first now."""
        return self._scopes[self._first]

    def __call__(self) -> str:
        with self._lock:
            if self._token and time.time() < self._expires - REFRESH_BEFORE:
                return self._token
            failure: Exception | None = None
            for index in range(self._first, len(self._scopes)):
                try:
                    access = self._credential.get_token(self._scopes[index])
                except SdkError as error:  # not signed in, refused, or Entra ID not reached
                    failure = failure or error
                    continue
                self._first, self._token, self._expires = index, access.token, access.expires_on
                return self._token
            assert failure is not None
            raise sign_in_failed(failure, self._scopes[self._first]) from None

    def use_arm_audience(self) -> bool:
        """The SCM site refused the App Service token: ask for an ARM token from now on. False
        when that is already the audience (nothing else to try)."""
        with self._lock:
            if self._first == len(self._scopes) - 1:
                return False
            self._first, self._token, self._expires = len(self._scopes) - 1, "", 0.0
            return True


def subscription_for(given: str | None, environ: Mapping[str, str] | None = None) -> str:
    """The subscription: `given` (--subscription), else AZURE_SUBSCRIPTION_ID, else the Azure
    CLI's current subscription; UsageError when none of them names one."""
    environ = os.environ if environ is None else environ
    for value in (given, environ.get(SUBSCRIPTION_VARIABLE)):
        if value and value.strip():
            return value.strip()
    current, why = _az_current_subscription()
    if current:
        return current
    raise UsageError(
        f"no Azure subscription named ({why}): give --subscription ID, set "
        f"{SUBSCRIPTION_VARIABLE}, or sign in with `az login` (and choose one with "
        "`az account set --subscription ID`)"
    )


def _az_current_subscription() -> tuple[str | None, str]:
    """(the Azure CLI's current subscription id, or None and why not)."""
    program = shutil.which("az")
    if program is None:
        return None, "the Azure CLI is not installed"
    try:
        done = subprocess.run(
            [program, "account", "show", "--output", "json"],
            capture_output=True,
            text=True,
            timeout=AZ_TIMEOUT,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None, "`az account show` did not answer"
    if done.returncode != 0:
        signed_out = "az login" in done.stderr
        return None, "the Azure CLI is not signed in" if signed_out else "`az account show` failed"
    try:
        current = json.loads(done.stdout).get("id")
    except (ValueError, AttributeError):
        current = None
    return (str(current), "") if current else (None, "`az account show` named none")
