"""Waiting for a deployment the SCM site accepted: poll, say what it does, end in its outcome.

KuduLite answers `GET /api/deployments/latest` (the `Location` of an async deployment) with 202
while the deployment runs and 200 once it ended; Flex Consumption answers `/api/deployments/{id}`
with 200 throughout (the status says whether it ended) after a few 404s while the id is new
(research §2, §5). So: an answer counts when it is 200 with a final status; a 404 or the
deployment that ended before ours (`previous`) means "not there yet", for `appear` seconds at
most; everything else means "running". The deployment's status text and new log lines are
reported as they come. Every request is a GET: a lost answer is simply asked again.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import Final

from vendorer.deploy.deployments import (
    DeploymentFailed,
    DeploymentOutcomeUnknown,
    DeploymentRecord,
    DeploymentTimedOut,
    error_lines,
    read_log,
    status_name,
)
from vendorer.deploy.kudu import KuduAnswer, KuduClient, KuduError
from vendorer.report import DEPLOY, NULL_REPORTER, Reporter

__all__ = ["DEFAULT_TIMEOUT", "WaitOptions", "wait_for_deployment"]

DEFAULT_TIMEOUT: Final = 900.0  # az cli waits as long (450 polls, 2 s apart)
WARNING, ERROR = 1, 2


@dataclass(frozen=True, slots=True, kw_only=True)
class WaitOptions:
    timeout: float = DEFAULT_TIMEOUT  # seconds, from the upload's end to the deployment's end
    interval: float = 2.0  # seconds between two polls
    appear: float = 60.0  # how long the site may take to show a deployment it accepted


def wait_for_deployment(
    client: KuduClient,
    where: str,
    *,
    previous: str | None = None,
    options: WaitOptions | None = None,
    reporter: Reporter = NULL_REPORTER,
) -> DeploymentRecord:
    """Poll `where` (a path below /api/ or the site's `Location`) until the deployment ends: its
    record when it succeeded; DeploymentFailed (with its log's errors) when it did not;
    DeploymentTimedOut after `options.timeout`; DeploymentOutcomeUnknown when it never shows.
    `previous` is the id of the site's latest deployment before ours was sent."""
    options = options or WaitOptions()
    began = time.monotonic()
    progress = _Progress(client, reporter)
    last: DeploymentRecord | None = None
    while True:
        answer = _poll(client, where)
        record = _record(client, answer)
        if answer.status != 404 and record is not None and not _earlier(record, previous):
            last = record
            progress.show(record)
            if answer.status == 200 and record.finished:
                if record.succeeded:
                    return record
                raise DeploymentFailed(record, _errors(client, record))
        elif last is not None and answer.status == 404:
            raise DeploymentOutcomeUnknown(f"the deployment {last.id} is gone from the site")
        elapsed = time.monotonic() - began
        if last is None and elapsed >= min(options.appear, options.timeout):
            raise DeploymentOutcomeUnknown(_not_shown(client, elapsed))
        if elapsed >= options.timeout:
            raise DeploymentTimedOut(_timed_out(client, options.timeout, last))
        time.sleep(max(0.0, min(options.interval, options.timeout - elapsed)))


def _record(client: KuduClient, answer: KuduAnswer) -> DeploymentRecord | None:
    """The record in an answer, its status text scrubbed (it is shown)."""
    record = DeploymentRecord.from_json(answer.data)
    if record is None or not record.status_text:
        return record
    return dataclasses.replace(record, status_text=client.scrub(record.status_text))


def _earlier(record: DeploymentRecord, previous: str | None) -> bool:
    """The deployment that was the site's latest before ours was sent (it ended)."""
    return previous is not None and record.id == previous and record.finished


def _poll(client: KuduClient, where: str) -> KuduAnswer:
    try:
        return client.get_json(where)
    except KuduError as error:
        raise DeploymentOutcomeUnknown(
            f"{error}; the deployment was sent and may still run: see "
            f"{client.base}deployments/latest before you deploy again"
        ) from None


def _errors(client: KuduClient, record: DeploymentRecord) -> list[str]:
    try:
        return error_lines(client, record)
    except KuduError as error:
        return [f"(its log could not be read: {error})"]


def _not_shown(client: KuduClient, elapsed: float) -> str:
    return (
        f"the site shows no new deployment {elapsed:.0f} s after the package was sent, so it "
        f"was probably never received; see {client.base}deployments/latest, then deploy again"
    )


def _timed_out(client: KuduClient, timeout: float, last: DeploymentRecord | None) -> str:
    state = f"{status_name(last.status)}" if last else "not shown yet"
    if last and last.status_text:
        state += f": {last.status_text}"
    return (
        f"the deployment did not finish within {timeout:g} s (last seen: {state}); it goes on "
        f"on the site: see {client.base}deployments/latest before you deploy again (the site "
        "refuses a deployment while another runs), or wait longer with a larger timeout"
    )


class _Progress:
    """Says what the deployment says: its status text as it changes, its new log lines."""

    def __init__(self, client: KuduClient, reporter: Reporter) -> None:
        self.client = client
        self.reporter = reporter
        self.text = ""
        self.seen: set[str] = set()

    def show(self, record: DeploymentRecord) -> None:
        if record.status_text and record.status_text != self.text:
            self.text = record.status_text
            self.reporter.advanced(DEPLOY, item=record.status_text)
        if not record.is_temp:
            self.show_log(record)

    def show_log(self, record: DeploymentRecord) -> None:
        """The log lines not reported yet (errors wait for the failure's message)."""
        try:
            entries = read_log(self.client, record)
        except KuduError:  # progress only: the outcome comes from the record
            return
        for entry in entries:
            key = entry.id or entry.message
            if key in self.seen:
                continue
            self.seen.add(key)
            if entry.type == WARNING:
                self.reporter.warning(self.client.scrub(entry.message))
            elif entry.type != ERROR:
                self.reporter.advanced(DEPLOY, item=self.client.scrub(entry.message))
