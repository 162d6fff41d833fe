"""Copies on one thread where files are quick to copy, on more where each is slow."""

from __future__ import annotations

import threading
import time

import pytest

from vendorer.install.pacing import PROBE_FILES, SLOW_FILE_SECONDS, paced_map


class Jobs:
    """Jobs that each "copy" as many files as their number, taking `per_file` seconds a file
    (asleep: the GIL released, as the kernel's share of a copy is), noting where each ran."""

    def __init__(self, per_file: float) -> None:
        self.per_file = per_file
        self.ran: list[tuple[int, int]] = []  # (job, thread), in the order they started
        self.lock = threading.Lock()

    def copy(self, files: int) -> list[int]:
        with self.lock:
            self.ran.append((files, threading.get_ident()))
        time.sleep(files * self.per_file)
        return list(range(files))


def test_quick_files_are_copied_on_one_thread_smallest_first() -> None:
    jobs = Jobs(per_file=0)
    sizes = [300, 5, 200, 60, 100]

    results = paced_map(jobs.copy, sizes, size=lambda files: files, threads=4)

    assert [len(files) for files in results] == sizes  # in the jobs' order
    assert [files for files, _ in jobs.ran] == sorted(sizes)
    assert len({thread for _, thread in jobs.ran}) == 1


def test_slow_files_are_shared_among_threads_after_the_probe() -> None:
    jobs = Jobs(per_file=5 * SLOW_FILE_SECONDS)
    small = PROBE_FILES // 3
    probed = [small, small + 1, PROBE_FILES - 2 * small]  # PROBE_FILES + 1 files in all
    sizes = [PROBE_FILES, probed[1], probed[0], PROBE_FILES - 1, probed[2]]

    results = paced_map(jobs.copy, sizes, size=lambda files: files, threads=2)

    assert [len(files) for files in results] == sizes
    probe, rest = jobs.ran[:3], jobs.ran[3:]
    assert [files for files, _ in probe] == probed
    assert len({thread for _, thread in probe}) == 1
    assert [files for files, _ in rest] == [PROBE_FILES, PROBE_FILES - 1]  # the biggest first
    assert len({thread for _, thread in rest}) == 2  # at once, on two threads


def test_the_first_error_is_raised_and_no_job_starts_after_it() -> None:
    jobs = Jobs(per_file=0)

    def copy(files: int) -> list[int]:
        if files == 2:
            raise OSError("disk full")
        return jobs.copy(files)

    with pytest.raises(OSError, match="disk full"):
        paced_map(copy, [3, 1, 2], size=lambda files: files, threads=2)
    assert [files for files, _ in jobs.ran] == [1]
