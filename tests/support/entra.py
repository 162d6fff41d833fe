"""Microsoft Entra ID for tests: tokens the stand-ins accept, a credential object, a fake `az`.

Never a real login. `token_for(audience)` makes a JWT-shaped (unsigned) token naming its audience,
one per audience, so a test can tell which one a client sent: ARM
(`https://management.azure.com/`, or `https://management.core.windows.net/`, which ARM takes too
and Core Tools asks for), the SCM site as az cli asks for it (`https://appservice.azure.com`,
research §10), Storage. The stand-ins accept whatever tokens they
are given (`ArmServer(tokens=...)`, `KuduServer(tokens=...)`).

`StandInCredential` is a duck-typed `TokenCredential` (`get_token(*scopes)` ->
`AccessToken`), what azure-core's policies call; it records the scopes asked.

`FakeAz` writes an `az` program that azure-identity's `AzureCliCredential` runs (azure-identity
1.27 `_credentials/azure_cli.py`: `az account get-access-token --output json --resource
<scope without /.default> [--tenant T] [--subscription S]`, cwd `/bin`, stdin closed, 10 s) and
prints what the real az prints: `accessToken`, `expiresOn` (local time, `%Y-%m-%d
%H:%M:%S.%f`), `expires_on` (epoch seconds), `subscription`, `tenant`, `tokenType`. It logs
every call (argv and the asked `--resource`/`--scope`) to `calls`. `account show` prints the
current subscription (`id` = `subscription`, `tenantId`, `name`, `user`), as vendorer asks when
no subscription is given. `logged_in = False` makes both answer as az does before `az login`
(exit 1, "Please run 'az login' to setup account.").
"""

from __future__ import annotations

import base64
import json
import os
import stat
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from azure.core.credentials import AccessToken

ARM_AUDIENCE = "https://management.azure.com/"
ARM_CLASSIC_AUDIENCE = "https://management.core.windows.net/"  # also ARM's (Core Tools asks it)
SCM_AUDIENCE = "https://appservice.azure.com"
STORAGE_AUDIENCE = "https://storage.azure.com/"
TENANT = "00000000-0000-0000-0000-0000000e4a11"
SUBSCRIPTION = "00000000-0000-0000-0000-00000000a2b1"


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def token_for(audience: str, tenant: str = TENANT) -> str:
    """A JWT-shaped token for `audience` (unsigned: no stand-in verifies signatures)."""
    claims = {"aud": audience, "tid": tenant, "oid": "standin-user", "exp": 4102444800}
    return f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}.standin-signature"


def resource_of(scope: str) -> str:
    """azure-identity `_scopes_to_resource`: the scope without its `/.default`."""
    return scope.removesuffix("/.default")


def _audience_key(resource: str) -> str:
    return resource.rstrip("/").lower()


@dataclass
class StandInCredential:
    """A TokenCredential that hands out `tokens[resource]` and records the scopes asked."""

    tokens: dict[str, str] = field(default_factory=dict)  # resource (no /.default) -> token
    asked: list[tuple[str, ...]] = field(default_factory=list)

    @classmethod
    def for_audiences(cls, *audiences: str) -> StandInCredential:
        return cls({_audience_key(audience): token_for(audience) for audience in audiences})

    def token(self, audience: str) -> str:
        return self.tokens[_audience_key(audience)]

    def get_token(self, *scopes: str, **options: Any) -> AccessToken:
        self.asked.append(scopes)
        key = _audience_key(resource_of(scopes[0]))
        if key not in self.tokens:
            from azure.core.exceptions import ClientAuthenticationError

            raise ClientAuthenticationError(f"the stand-in credential has no token for {key}")
        return AccessToken(self.tokens[key], int(time.time()) + 3600)


_SCRIPT = """#!{python}
# A fake `az` for the tests (tests/support/entra.py): account get-access-token only.
import datetime, json, sys, time
CONFIG = {config!r}
argv = sys.argv[1:]
config = json.load(open(CONFIG))
def option(name):
    return argv[argv.index(name) + 1] if name in argv and argv.index(name) + 1 < len(argv) else None
with open(config["log"], "a") as log:
    log.write(json.dumps({{"argv": argv, "resource": option("--resource"),
                          "scope": option("--scope"), "tenant": option("--tenant"),
                          "subscription": option("--subscription")}}) + "\\n")
if argv[:2] not in (["account", "get-access-token"], ["account", "show"]):
    sys.stderr.write("ERROR: '%s' is not in the fake az\\n" % " ".join(argv[:2]))
    sys.exit(2)
if not config["logged_in"]:
    sys.stderr.write("ERROR: Please run 'az login' to setup account.\\n")
    sys.exit(1)
if argv[:2] == ["account", "show"]:
    print(json.dumps({{"id": config["subscription"], "tenantId": config["tenant"],
                      "name": "Stand-in subscription", "isDefault": True, "state": "Enabled",
                      "user": {{"name": "standin@example.invalid", "type": "user"}}}}, indent=2))
    sys.exit(0)
resource = option("--resource") or (option("--scope") or "").rsplit("/.default", 1)[0]
token = config["tokens"].get(resource.rstrip("/").lower())
if token is None:
    sys.stderr.write("ERROR: AADSTS500011: The resource principal named %s was not found.\\n"
                     % resource)
    sys.exit(1)
expires = int(time.time()) + config["lifetime"]
local = datetime.datetime.fromtimestamp(expires).strftime("%Y-%m-%d %H:%M:%S.%f")
print(json.dumps({{"accessToken": token, "expiresOn": local, "expires_on": expires,
                  "subscription": config["subscription"], "tenant": config["tenant"],
                  "tokenType": "Bearer"}}, indent=2))
"""


class FakeAz:
    """An `az` program in `folder` (put it first on PATH); see the module docstring."""

    def __init__(self, folder: Path, tokens: dict[str, str]) -> None:
        self.folder = folder
        self.tokens = {_audience_key(resource): token for resource, token in tokens.items()}
        self.logged_in = True
        self.lifetime = 3600
        self.subscription = SUBSCRIPTION
        self.tenant = TENANT
        self._log = folder / "az-calls.jsonl"
        self._config = folder / "az-config.json"
        folder.mkdir(parents=True, exist_ok=True)
        program = folder / "az"
        program.write_text(_SCRIPT.format(python=sys.executable, config=str(self._config)))
        program.chmod(program.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        self.save()

    def save(self) -> None:
        """Write the settings the program reads (call after changing an attribute)."""
        config = {
            "tokens": self.tokens,
            "logged_in": self.logged_in,
            "lifetime": self.lifetime,
            "subscription": self.subscription,
            "tenant": self.tenant,
            "log": str(self._log),
        }
        self._config.write_text(json.dumps(config))

    @property
    def calls(self) -> list[dict[str, Any]]:
        if not self._log.exists():
            return []
        return [json.loads(line) for line in self._log.read_text().splitlines()]

    def path_with_az(self) -> str:
        return f"{self.folder}{os.pathsep}{os.environ.get('PATH', '')}"
