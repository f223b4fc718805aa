"""The worker pool of the extraction: results in order, errors carried back, and a dead or
stopped worker never leaves a job waiting."""

from __future__ import annotations

import os
import signal
import time

import pytest

from prepsuite.procpool import WorkerDied, WorkerPool
from prepsuite.textio import InputError


def square(x: int) -> int:
    return x * x


def slow_pid(delay: float) -> int:
    time.sleep(delay)
    return os.getpid()


def refuse(x: int) -> int:
    raise InputError(f"dump.xml: bad page {x}", line=3, column=7, problem="mismatched tag")


def big(n: int) -> bytes:
    return b"x" * n  # many times what a pipe holds: the worker blocks in the middle of writing


def test_results_come_back_in_the_order_given():
    with WorkerPool(3, "test") as pool:
        assert pool.map(square, list(range(50)), chunksize=4).get() == [x * x for x in range(50)]
        pending = [pool.apply(square, x) for x in range(10)]
        assert [p.get() for p in reversed(pending)] == [x * x for x in reversed(range(10))]


def test_tasks_go_to_every_worker():
    with WorkerPool(2, "test") as pool:
        pids = {p.get() for p in [pool.apply(slow_pid, 0.2) for _ in range(4)]}
    assert len(pids) == 2 and os.getpid() not in pids


def test_an_error_in_a_worker_comes_back_whole():
    with WorkerPool(2, "test") as pool:
        pending = pool.apply(refuse, 5)
        with pytest.raises(InputError, match="dump.xml: bad page 5") as info:
            pending.get()
        assert (info.value.line, info.value.column) == (3, 7)
        assert pool.apply(square, 4).get() == 16  # the pool goes on


@pytest.mark.timeout(60)
def test_a_worker_killed_in_the_middle_of_writing_its_result_is_an_error_at_once():
    """Half a message stays in the pipe; the stdlib pools then wait for the rest for ever."""
    with WorkerPool(2, "dump.xml") as pool:
        pending = pool.apply(big, 64 << 20)
        time.sleep(1)  # the worker is now blocked, its result partly written
        os.kill(pool._workers[0].process.pid, signal.SIGKILL)
        with pytest.raises(WorkerDied, match=r"dump.xml: a worker process died .*killed by SIGKILL"):
            pending.get()
        with pytest.raises(WorkerDied):  # no further work is taken
            pool.apply(square, 2).get()


@pytest.mark.timeout(60)
def test_closing_stops_workers_that_are_busy_or_writing():
    pool = WorkerPool(2, "test")
    processes = [w.process for w in pool._workers]
    pool.apply(big, 64 << 20)  # blocked while writing
    pool.apply(slow_pid, 30)  # busy
    time.sleep(1)
    started = time.monotonic()
    pool.close()
    assert time.monotonic() - started < 10
    assert not any(p.is_alive() for p in processes)
