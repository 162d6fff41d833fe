"""Several wheels unpacked at once: on worker processes when the work is big enough to pay for
them, else on threads of this process.

installer's work for each file holds the GIL, so threads unpack no faster than one (flask, pandas
and requests, 3,460 files, on tmpfs with 2 cores: one thread 1.18-1.44 s, 8 threads 1.13-1.50 s,
2 processes 0.62-0.79 s). A worker is `python -m vendorer.install.pool`, fed one job at a time
through its stdin and answering on its stdout, so that it imports only what unpacking needs and
never the caller's `__main__` (multiprocessing's workers import it: a caller's script without a
`__main__` guard would run again in each). Workers are in their own session: Ctrl-C is the run's
to handle, and the run ends them before its staging folder is removed; a worker whose run is gone
ends itself. A `Crew` takes jobs as they come: a build hands it each big wheel as soon as it is
downloaded (`vendorer.install.ahead`), and its vendor step the rest.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import queue
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from vendorer.install.errors import VendorError
from vendorer.install.growing import Growing
from vendorer.target.profile import Profile

__all__ = ["PROCESSES_ENV", "Crew", "Unpack", "cpus", "crew_size", "unpack_all"]

PROCESSES_ENV: Final = "VENDORER_UNPACK_PROCESSES"
# Below this many bytes of wheels, workers cost more than they save (starting one: about 0.15 s).
POOL_BYTES: Final = 8 << 20
_MOST_PROCESSES: Final = 4
_WATCH_SECONDS: Final = 0.2


@dataclass(frozen=True, slots=True)
class Unpack:
    """One wheel to unpack into `target` (read while it downloads: see `growing`)."""

    wheel: Path
    sha256: str
    target: Path
    profile: Profile
    slim: bool
    growing: Growing | None = None


Files = dict[str, str]  # what a wheel wrote: path below the target -> sha256


def unpack_all(jobs: Sequence[Unpack], crew: Crew | None = None) -> list[Files]:
    """Unpack every job's wheel (on `crew`, if given: its workers are running already); the
    files each wrote, in the jobs' order. The first error is raised once nothing is being
    written any more."""
    sizes = [job.wheel.stat().st_size for job in jobs]
    if crew is not None:
        return _gathered(crew, jobs, sizes)
    processes = crew_size(sum(sizes), len(jobs))
    if not processes:
        with ThreadPoolExecutor(max_workers=8) as pool:  # creating files releases the GIL
            return list(pool.map(_unpack, jobs))
    with Crew(processes) as started:
        return _gathered(started, jobs, sizes)


def _gathered(crew: Crew, jobs: Sequence[Unpack], sizes: Sequence[int]) -> list[Files]:
    futures: dict[int, Future[Files]] = {}
    for index in sorted(range(len(jobs)), key=lambda i: -sizes[i]):
        futures[index] = crew.submit(jobs[index])  # the biggest first: the last is a small one
    try:
        wait(futures.values(), return_when=FIRST_EXCEPTION)  # the first error, at once
        return [futures[index].result() for index in range(len(jobs))]
    except BaseException:  # an error or Ctrl-C: no worker may write on once this returns
        crew.stop()
        raise


def _unpack(job: Unpack) -> Files:
    from vendorer.install.unpack import unpack_wheel  # installer: only where wheels are unpacked

    entry = unpack_wheel(
        job.wheel, job.sha256, job.target, job.profile, slim=job.slim, growing=job.growing
    )
    return dict(entry.files)


class Crew:
    """Worker processes unpacking the jobs handed to `submit`, each fed by a thread of the run.
    A worker that dies stops them all; `stop` (or the end of a `with`) ends every worker at once,
    and the jobs not done yet fail."""

    def __init__(self, size: int) -> None:
        self._work: queue.SimpleQueue[tuple[Unpack, Future[Files]] | None] = queue.SimpleQueue()
        self._stopped = False
        self.workers: list[_Worker] = []
        try:
            self.workers += [_Worker() for _ in range(size)]
        except BaseException:  # one could not start (no memory, no process left)
            self.stop()
            raise
        for worker in self.workers:
            threading.Thread(target=self._feed, args=(worker,), daemon=True).start()

    def submit(self, job: Unpack) -> Future[Files]:
        future: Future[Files] = Future()
        self._work.put((job, future))
        if self._stopped:
            self._fail_waiting()
        return future

    def _feed(self, worker: _Worker) -> None:
        while (item := self._work.get()) is not None:
            job, future = item
            if self._stopped:
                future.set_exception(VendorError("the unpacking was stopped"))
                continue
            future.set_running_or_notify_cancel()
            try:
                future.set_result(worker.unpack(job))
            except BaseException as error:  # said where the job's result is asked for
                if self._stopped:  # ended by stop(): no more to say
                    future.set_exception(VendorError("the unpacking was stopped"))
                    continue
                future.set_exception(worker.said(error, job.wheel))
                if worker.process.poll() is not None:  # it died: so does the crew
                    self.stop()
        self._work.put(None)  # for the next feeder

    def stop(self) -> None:
        self._stopped = True
        for worker in self.workers:
            worker.stop()
        self._fail_waiting()

    def _fail_waiting(self) -> None:
        with contextlib.suppress(queue.Empty):
            while True:
                item = self._work.get_nowait()
                if item is not None:
                    item[1].set_exception(VendorError("the unpacking was stopped"))
        self._work.put(None)  # the feeders' end

    def __enter__(self) -> Crew:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _Worker:
    """`python -m vendorer.install.pool`: jobs in through its stdin, answers out of its stdout."""

    def __init__(self) -> None:
        import vendorer

        home = str(Path(vendorer.__file__).resolve().parent.parent)  # where vendorer comes from
        path = os.pathsep.join(filter(None, [home, os.environ.get("PYTHONPATH")]))
        # a file, not a pipe: what a worker says can never block it; closed by stop()
        self.stderr = tempfile.TemporaryFile()  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, "-m", __name__],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            env={**os.environ, "PYTHONPATH": path},
            start_new_session=True,  # Ctrl-C at the terminal reaches the run only
        )
        assert self.process.stdin is not None and self.process.stdout is not None
        self.jobs, self.answers = self.process.stdin, self.process.stdout
        self._stopping = threading.Lock()  # stop() from the run and from its feeder at once

    def unpack(self, job: Unpack) -> Files:
        pickle.dump(job, self.jobs)
        self.jobs.flush()
        kind, value = pickle.load(self.answers)
        if kind == "files":
            return value  # type: ignore[no-any-return]
        raise VendorError(value) if kind == "refused" else RuntimeError(value)

    def said(self, error: BaseException, wheel: Path) -> BaseException:
        """`error`, or for a worker that died (a broken pipe, no answer) what happened to it."""
        if not isinstance(error, (OSError, EOFError, pickle.UnpicklingError)):
            return error
        self.process.kill()
        code = self.process.wait()
        said: list[str] = []
        with contextlib.suppress(ValueError):  # closed meanwhile by another feeder's stop()
            self.stderr.seek(0)
            said = self.stderr.read().decode(errors="replace").strip().splitlines()[-3:]
        self.stop()
        return VendorError(
            f"the process unpacking {wheel.name} ended (exit code {code})"
            + (f": {' / '.join(said)}" if said else "")
            + ". Nothing was changed in the lib folder; run again, or set "
            f"{PROCESSES_ENV}=0 to unpack in one process"
        )

    def stop(self) -> None:
        """End the worker (at once: whatever it was writing is removed with the staging folder)
        and close its pipes."""
        with self._stopping:
            if self.process.poll() is None:
                self.process.kill()
            self.process.wait()
            for stream in (self.jobs, self.answers, self.stderr):
                with contextlib.suppress(OSError):  # stdin: a flush into a closed pipe
                    stream.close()


def crew_size(total: int | None, jobs: int | None = None) -> int:
    """How many worker processes unpack `jobs` wheels of `total` bytes (None: not known yet, as
    for wheels unpacked while a build downloads): 0 for threads of this process."""
    setting = os.environ.get(PROCESSES_ENV, "").strip()
    if not sys.executable:  # embedded: no interpreter to start
        return 0
    if setting:
        if not setting.isdigit():
            raise VendorError(
                f"{PROCESSES_ENV}={setting[:40]!r} is not a number: set it to how many processes "
                "unpack wheels (0 or 1: none), or unset it to let vendorer choose"
            )
        wanted = int(setting)
    elif total is None or total >= POOL_BYTES:
        wanted = min(cpus(), _MOST_PROCESSES)
    else:
        wanted = 0
    wanted = wanted if jobs is None else min(wanted, jobs)
    return wanted if wanted >= 2 else 0


def cpus() -> int:
    """The CPUs this process may run on."""
    affinity: Callable[[int], set[int]] | None = getattr(os, "sched_getaffinity", None)
    return len(affinity(0)) if affinity is not None else os.cpu_count() or 1


def _serve() -> None:
    """A worker: unpack each job read from stdin, answer each on stdout, until stdin ends."""
    run = os.getppid()
    threading.Thread(target=_end_with, args=(run,), daemon=True).start()
    jobs, answers = sys.stdin.buffer, sys.stdout.buffer
    while True:
        try:
            job = pickle.load(jobs)
        except EOFError:
            return
        try:
            answer: tuple[str, object] = ("files", _unpack(job))
        except VendorError as error:
            answer = ("refused", str(error))
        except Exception as error:  # a bug: the run says it as one
            answer = ("failed", f"{type(error).__name__}: {error}")
        pickle.dump(answer, answers)
        answers.flush()


def _end_with(run: int) -> None:
    while os.getppid() == run:
        time.sleep(_WATCH_SECONDS)
    os._exit(1)  # the run was killed: the next run sweeps what this worker was writing


if __name__ == "__main__":
    _serve()
