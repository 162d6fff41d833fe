"""Azure Resource Manager for one site, through `azure-mgmt-web`: the client, and its errors said.

`ArmSession(ref, credential, cloud)` holds a `WebSiteManagementClient` for the site `ref` names;
`session.call(action, operation, ...)` runs one SDK operation and turns whatever it raises into
one vendorer error that names what was attempted and the next step: a missing site, resource
group or subscription (which option to check), 401 (sign in again), 403 (which permission, which
role), a network failure (where ARM was), any other answer (ARM's code and first line). Nothing
in a message is a token or a setting's value (`hide_secrets`).

azure-core refuses a Bearer token over plain http; the session lifts that rule only when the ARM
endpoint is plain http to this machine (`AzureCloud.loopback`: the tests' stand-in), never for
another host (`azure_cloud` refuses such an endpoint).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, TypeVar

from azure.core.exceptions import (
    AzureError as SdkError,
)
from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.core.pipeline import PipelineRequest
from azure.core.rest import HttpRequest
from azure.mgmt.core.policies import ARMChallengeAuthenticationPolicy
from azure.mgmt.web import WebSiteManagementClient

from vendorer.deploy.azure_auth import AzureCloud, quiet_sdk_logging, sign_in_failed
from vendorer.deploy.azure_errors import ArmError, AzureError, first_line, hide_secrets
from vendorer.deploy.site import SiteRef

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential

__all__ = [
    "READ_CONFIG",
    "READ_PLAN",
    "READ_SETTINGS",
    "READ_SITE",
    "RESTART",
    "SYNC_TRIGGERS",
    "WRITE_SETTINGS",
    "ArmAction",
    "ArmSession",
]

Answer = TypeVar("Answer")
CONNECT_TIMEOUT = 20.0  # seconds to reach ARM (azure-core's default is 300)
READ_TIMEOUT = 120.0
ROLE_HINT = "the Website Contributor role (or Contributor) on the site or its resource group"
_FORBIDDEN_ACTION = re.compile(r"perform action '([^']+)'")


@dataclass(frozen=True, slots=True)
class ArmAction:
    """What a call does, for the user ("read the app settings of {site}", `{site}` the site's
    name), and the RBAC permission it needs when that is known."""

    what: str
    permission: str | None = None


READ_SITE: Final = ArmAction("read the site {site}", "Microsoft.Web/sites/read")
READ_PLAN: Final = ArmAction(
    "read the App Service plan of {site}", "Microsoft.Web/serverfarms/read"
)
READ_SETTINGS: Final = ArmAction(
    "read the app settings of {site}", "Microsoft.Web/sites/config/list/action"
)
WRITE_SETTINGS: Final = ArmAction(
    "write the app settings of {site}", "Microsoft.Web/sites/config/write"
)
READ_CONFIG: Final = ArmAction(
    "read the configuration of {site}", "Microsoft.Web/sites/config/read"
)
SYNC_TRIGGERS: Final = ArmAction("sync the function triggers of {site}")
RESTART: Final = ArmAction("restart {site}", "Microsoft.Web/sites/restart/action")


class _LoopbackPolicy(ARMChallengeAuthenticationPolicy):
    """ARM's Bearer policy, allowed over plain http: for a loopback ARM endpoint only."""

    def on_request(self, request: PipelineRequest[HttpRequest]) -> None:
        request.context.options["enforce_https"] = False
        super().on_request(request)


class ArmSession:
    """One site's view of Azure Resource Manager; close it (or use `with`) when done."""

    def __init__(
        self,
        ref: SiteRef,
        credential: TokenCredential,
        cloud: AzureCloud,
        *,
        retries: int = 3,
    ) -> None:
        quiet_sdk_logging()
        self.ref = ref
        self.cloud = cloud
        options: dict[str, Any] = {
            "retry_total": retries,
            "connection_timeout": CONNECT_TIMEOUT,
            "read_timeout": READ_TIMEOUT,
        }
        if cloud.loopback:
            options["authentication_policy"] = _LoopbackPolicy(credential, cloud.arm_scope)
        self.web = WebSiteManagementClient(
            credential,
            ref.subscription,
            base_url=cloud.arm_endpoint,
            credential_scopes=[cloud.arm_scope],
            **options,
        )

    def close(self) -> None:
        self.web.close()

    def __enter__(self) -> ArmSession:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def call(
        self,
        action: ArmAction,
        operation: Callable[..., Answer],
        *args: Any,
        secrets: Collection[str] = (),
        **kwargs: Any,
    ) -> Answer:
        """`operation(*args, **kwargs)`; an SDK error becomes one AzureError (`secrets` are
        values the call carried, kept out of the message whatever ARM answered)."""
        try:
            return operation(*args, **kwargs)
        except SdkError as error:
            raise self.failure(error, action, secrets) from None

    def failure(
        self, error: SdkError, action: ArmAction, secrets: Collection[str] = ()
    ) -> AzureError:
        """The vendorer error for an SDK error raised while trying to `action`."""
        status = getattr(error, "status_code", None)
        if isinstance(error, ClientAuthenticationError) and status is None:
            return sign_in_failed(error, self.cloud.arm_scope)  # the credential gave no token
        if isinstance(error, ServiceRequestError | ServiceResponseError):
            reason = hide_secrets(first_line(str(error), 200), secrets)
            return ArmError(
                f"could not {action.what.format(site=self.ref.name)}: Azure Resource Manager at "
                f"{self.cloud.arm_endpoint} "
                f"did not answer ({reason}); check the network (and HTTPS_PROXY), or "
                "VENDORER_ARM_ENDPOINT if it is set"
            )
        if isinstance(error, HttpResponseError) and status is not None:
            return ArmError(hide_secrets(self._answer_problem(error, status, action), secrets))
        reason = hide_secrets(first_line(str(error)), secrets)
        what = action.what.format(site=self.ref.name)
        return ArmError(f"could not {what} through Azure Resource Manager: {reason}")

    def _answer_problem(self, error: HttpResponseError, status: int, action: ArmAction) -> str:
        code = error.error.code if error.error is not None and error.error.code else ""
        said = first_line(error.error.message if error.error and error.error.message else "")
        ref = self.ref
        where = f"resource group {ref.resource_group}, subscription {ref.subscription}"
        what = action.what.format(site=f"{ref.name} ({where})")
        if status == 404:
            return _not_found(code, action, ref) or (
                f"could not {what}: Azure Resource Manager answered 404 {code}: {said}"
            )
        if status == 401:
            return (
                f"could not {what}: Azure Resource Manager refused the token "
                f"(401 {code}); sign in again (`az login`), or check AZURE_TENANT_ID: the site's "
                "subscription must be in the tenant the token is for"
            )
        if status == 403:
            found = _FORBIDDEN_ACTION.search(said)
            needed = found.group(1) if found else action.permission
            permission = f"it needs {needed}; " if needed else ""
            return (
                f"not allowed to {what}: {permission}ask for {ROLE_HINT}, or sign in as an "
                "identity that has it"
            )
        detail = f"{status} {code}".strip() + (f": {said}" if said else "")
        return f"could not {what}: Azure Resource Manager answered {detail}"


def _not_found(code: str, action: ArmAction, ref: SiteRef) -> str | None:
    if code == "SubscriptionNotFound":
        return (
            f"subscription {ref.subscription} not found: check --subscription (or "
            "AZURE_SUBSCRIPTION_ID); `az account list` shows the ones you can use"
        )
    if code == "ResourceGroupNotFound":
        return (
            f"resource group {ref.resource_group} not found in subscription {ref.subscription}: "
            "check --resource-group (`az group list` shows them)"
        )
    if action == READ_SITE:
        return (
            f"no site {ref.name} in resource group {ref.resource_group} (subscription "
            f"{ref.subscription}): check --site (`az webapp list -g {ref.resource_group}` "
            "and `az functionapp list` show them)"
        )
    if action == READ_PLAN:
        return f"the App Service plan of site {ref.name} was not found (was it deleted?)"
    return None
