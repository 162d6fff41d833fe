"""Copies of many files on one thread, or on more where the kernel's share pays for them.

Each file copied costs Python's work, which holds the GIL, and the kernel's (creating the file,
copying its bytes), which does not. Where the kernel is slow at it, as on the project's 2-core
machine's ext4 in a slow minute (0.2-0.4 ms a file), two threads overlap its work: flask, pandas
and requests (3,460 files) copied out of the cache of unpacked wheels by `vendorer vendor` in
1.00-1.02 s on two threads against 1.37-1.56 s on one. Where it is quick, as on tmpfs, threads
only take turns at the GIL: 0.30 s against 0.39-0.43 s on two. So the smallest jobs go first, on
one thread, timed; the rest are shared among more threads, biggest first, only where those
showed each file slow to copy.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence, Sized
from concurrent.futures import ThreadPoolExecutor
from typing import Final, TypeVar

__all__ = ["PROBE_FILES", "SLOW_FILE_SECONDS", "paced_map"]

PROBE_FILES: Final = 128  # files copied on one thread before more threads may join
SLOW_FILE_SECONDS: Final = 80e-6  # a file, with its job's share: tmpfs 37-65 us, ext4 110-340 us

T = TypeVar("T")
R = TypeVar("R", bound=Sized)  # what a job copied: its files


def paced_map(
    function: Callable[[T], R], jobs: Sequence[T], size: Callable[[T], int], threads: int
) -> list[R]:
    """`function` of each job (its result: the files it copied), in the jobs' order: on one
    thread, the smallest jobs (by `size`) first, until `PROBE_FILES` files are copied; the rest
    on up to `threads` threads where those took over `SLOW_FILE_SECONDS` a file. The first error
    is raised once no job runs any more, and no job starts after it."""
    order = sorted(range(len(jobs)), key=lambda index: size(jobs[index]))
    results: dict[int, R] = {}
    copied, started = 0, time.perf_counter()
    while order and copied < PROBE_FILES:
        index = order.pop(0)
        results[index] = function(jobs[index])
        copied += len(results[index])
    slow = copied > 0 and (time.perf_counter() - started) / copied > SLOW_FILE_SECONDS
    if slow and threads > 1 and len(order) > 1:
        order.reverse()  # the biggest first: the last to end is a small one
        with ThreadPoolExecutor(max_workers=threads) as pool:
            results.update(zip(order, pool.map(function, [jobs[i] for i in order]), strict=True))
    else:
        for index in order:
            results[index] = function(jobs[index])
    return [results[index] for index in range(len(jobs))]
