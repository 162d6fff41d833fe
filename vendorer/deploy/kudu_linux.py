"""What Kudu can and cannot do for an app on Linux (App Service on Linux, Azure Functions).

On Linux the Kudu (SCM) site and its console run in a container of their own, not the app's;
only `/home` is shared (AZURE.md, "App Service on Linux"). So a `pip install` sent to
`/api/command` installs into Kudu's Python, which the app never sees, and the capture script run
there measures Kudu's interpreter: both are refused, with the route that works. Files written
through `/api/vfs` and `/api/zip` do land in the app's `/home/site/wwwroot`, but Oryx and the
Functions worker read the lib folder when the container starts, and the next deployment or build
replaces it: said after every upload.
"""

from __future__ import annotations

from typing import Final

from vendorer.errors import UsageError
from vendorer.target.layout import platform_of
from vendorer.target.profile import Profile

__all__ = [
    "KUDU_CONTAINER",
    "refuse_capture_through_kudu",
    "refuse_pip_through_kudu",
    "upload_notes",
]

KUDU_CONTAINER: Final = (
    "on Linux, Kudu's console runs in a container of its own, not the app's (only /home is shared)"
)


def refuse_pip_through_kudu(profile: Profile) -> None:
    """`upload --mode wheelhouse` (a remote pip install) for a Linux profile: a UsageError."""
    if profile.is_windows:
        return
    raise UsageError(
        f"--mode wheelhouse does not work for {profile.name}: {KUDU_CONTAINER}, so pip would "
        "install into a Python the app never sees. Send the vendored libraries "
        "(`vendorer upload`, the default --mode vendored), or the whole app: "
        "`vendorer deploy --site NAME --resource-group RG`"
    )


def refuse_capture_through_kudu(what: str) -> UsageError:
    """The error for a capture through Kudu on a Linux site (`what`: how vendorer knows)."""
    return UsageError(
        f"profiles capture --publish-profile does not work here ({what}): {KUDU_CONTAINER}, so "
        "the script would measure Kudu's Python, not the app's. Run it in the app's own SSH "
        "console instead: `vendorer profiles capture > capture.py`, copy it to /home, open "
        "`az webapp ssh --name NAME --resource-group RG`, run `python /home/capture.py > "
        "/home/capture.json` there, download that file, and `vendorer profiles capture --from "
        "capture.json NAME`"
    )


def upload_notes(profile: Profile, lib_dir: str, *, restarted: bool) -> list[str]:
    """What to know after the lib folder went to a Linux site through Kudu."""
    if profile.is_windows:
        return []
    loader = "Oryx" if platform_of(profile) == "linux" else "the Functions worker"
    starts = loader[0].upper() + loader[1:]  # at the start of a sentence
    notes = [
        "The next deployment undoes this upload: OneDeploy (az webapp deploy, GitHub's "
        "webapps-deploy) cleans wwwroot of what its zip lacks, and any build installs the "
        "requirements again. Deploy the whole app with `vendorer deploy` instead of mixing the two."
    ]
    if restarted:
        notes.append(f"The site was restarted: {loader} has read {lib_dir} again.")
    else:
        notes.append(
            f"{starts} reads {lib_dir} when the container starts: restart the site "
            "(`vendorer upload --restart`, `az webapp restart`, or the portal) for the app to "
            "use what was sent."
        )
    return notes
