"""How a command reaches a site: through Azure Resource Manager (`--site NAME -g RG`), or through
its SCM (Kudu) site alone (a publish profile, or VENDORER_KUDU_URL with _USER and _PASSWORD).

Through ARM, vendorer signs in as azure-identity's DefaultAzureCredential finds you, reads the site
(its plan, settings, Python, startup command) and talks to its SCM site with an Entra ID token
(Bearer), so the SCM site's Basic auth, off by default on new apps, may stay off. Through Kudu
alone, the Basic credentials of the publish profile or the environment are used.
"""

from __future__ import annotations

import os
import re
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

from vendorer.deploy.site import Site
from vendorer.errors import UsageError

if TYPE_CHECKING:
    from vendorer.deploy.azure_arm import ArmSession
    from vendorer.deploy.kudu import KuduClient

__all__ = ["Connection", "SiteChoice", "connect", "open_kudu", "open_scm"]

_NAMES: Final = (  # (option, what Azure takes, the rule in words)
    (
        "--site",
        re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,58}[A-Za-z0-9])?"),
        "a site's name is 1 to 60 letters, digits and hyphens, not starting or ending with one",
    ),
    (
        "--resource-group",
        re.compile(r"[-\w.()]{0,89}[-\w()]"),
        "a resource group's name is 1 to 90 letters, digits, underscores, hyphens, periods and "
        "parentheses, not ending with a period",
    ),
    (
        "--subscription",
        re.compile(r"[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}"),
        "a subscription is its ID, a GUID (`az account list` shows them)",
    ),
)


@dataclass(frozen=True, slots=True, kw_only=True)
class SiteChoice:
    """The site as the command line names it."""

    site: str | None = None  # --site: through ARM
    resource_group: str | None = None
    subscription: str | None = None
    publish_profile: Path | None = None  # else VENDORER_KUDU_URL ...

    @property
    def through_azure(self) -> bool:
        return bool(self.site)

    def check(self) -> None:
        """A UsageError for options that do not name one site one way, or names Azure would
        not take (checked here, so they never reach a URL)."""
        for (option, pattern, rule), value in zip(_NAMES, self._values(), strict=True):
            if value is not None and not pattern.fullmatch(value):
                raise UsageError(f"{option} {value!r}: {rule}")
        if self.site and self.publish_profile:
            raise UsageError("name the site one way: --site (through Azure) or --publish-profile")
        if self.site and not self.resource_group:
            raise UsageError("--site needs --resource-group (the site's resource group)")
        if not self.site and (self.resource_group or self.subscription):
            raise UsageError("--resource-group and --subscription go with --site NAME")

    def _values(self) -> tuple[str | None, ...]:
        return (self.site, self.resource_group, self.subscription)

    def check_named(self) -> None:
        """`check`, and a UsageError when no way to the site is given at all."""
        self.check()
        if not self.site and not self.publish_profile and not os.environ.get("VENDORER_KUDU_URL"):
            raise UsageError(
                "which site? --site NAME --resource-group RG (through Azure: az login, or any "
                "credential azure-identity takes), or --publish-profile FILE, or "
                "VENDORER_KUDU_URL with _USER and _PASSWORD"
            )


@dataclass(frozen=True, slots=True)
class Connection:
    """The site through ARM: what ARM says of it, the session, and its SCM site's client (which
    sends nothing until it is used)."""

    site: Site
    session: ArmSession
    client: KuduClient


def connect(choice: SiteChoice, stack: ExitStack) -> Connection:
    """Find the site `choice` names through ARM, with a client for its SCM site; both are closed
    with `stack`."""
    from vendorer.deploy.azure_auth import ScmToken, default_credential
    from vendorer.deploy.azure_site import find_site, open_arm
    from vendorer.deploy.kudu import KuduClient
    from vendorer.deploy.kudu_credentials import bearer_credentials

    assert choice.site and choice.resource_group  # SiteChoice.check
    credential = default_credential()
    session = stack.enter_context(
        open_arm(choice.site, choice.resource_group, choice.subscription, credential=credential)
    )
    site = find_site(session)
    token = ScmToken(credential, session.cloud)
    client = stack.enter_context(KuduClient(bearer_credentials(site.scm_url, token)))
    return Connection(site, session, client)


def open_kudu(choice: SiteChoice, stack: ExitStack) -> KuduClient:
    """The SCM site's client (see `open_scm`)."""
    return open_scm(choice, stack)[0]


def open_scm(choice: SiteChoice, stack: ExitStack) -> tuple[KuduClient, ArmSession | None]:
    """The SCM site's client, with a token through ARM (`--site`: the ARM session too), else
    with the publish profile's credentials, else the environment's."""
    from vendorer.deploy.kudu import KuduClient, credentials_from_environment, read_publish_profile

    choice.check()
    if choice.through_azure:
        connection = connect(choice, stack)
        return connection.client, connection.session
    if choice.publish_profile is not None:
        credentials = read_publish_profile(choice.publish_profile)
    else:
        credentials = credentials_from_environment()
    return stack.enter_context(KuduClient(credentials)), None
