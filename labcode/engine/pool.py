"""The default executor of :func:`labcode.engine.sweep.sweep`: a local process pool.

The pool is created once per process and reused by every later sweep, so a notebook
pays for starting its workers once. On Linux its workers are forked from the calling
process, which has already imported torch and labcode; elsewhere they start from a fork
server. Each worker trains with one torch thread until a run sets its own count.
:class:`SerialExecutor` runs everything in the calling process instead.
"""

from __future__ import annotations

import atexit
import multiprocessing
import os
import sys
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from typing import Any

import torch

from .. import _validate

__all__ = ["SerialExecutor", "default_workers", "process_pool", "default_pool",
           "close_default_pool"]


class SerialExecutor(Executor):
    """An :class:`~concurrent.futures.Executor` that runs each task at once, in this process.

    ``submit`` returns a future that is already done. Useful to time a study without
    parallelism, to debug a run, and where processes cannot be started.
    """

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        """Call ``fn`` with the given arguments now; return a future holding the outcome."""
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller through the future
            if not isinstance(exc, Exception):
                raise
            future.set_exception(exc)
        return future


_POOL: ProcessPoolExecutor | None = None

_POOL_OWNER: int | None = None  # the pid that created _POOL (a forked child must not use it)


def _limit_worker_threads() -> None:
    # every run sets its own thread count (TrainConfig.num_threads); until then, one
    torch.set_num_threads(1)


def default_workers() -> int:
    """How many workers the default pool has: the cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _pool_context() -> multiprocessing.context.BaseContext:
    if sys.platform.startswith("linux"):
        # forked workers start at once with everything this process imported; the
        # first optimizer imports torch._dynamo (seconds), so import it here, once
        import torch._dynamo  # noqa: F401

        return multiprocessing.get_context("fork")
    # elsewhere fork is unsafe: a fork server that has imported labcode once
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["labcode.engine.sweep", "torch._dynamo"])
    return ctx


def process_pool(workers: int | None = None) -> ProcessPoolExecutor:
    """A new local process pool set up as the default one of :func:`~labcode.engine.sweep.sweep`.

    Parameters
    ----------
    workers : int, optional
        Number of worker processes; by default one per core this process may use.

    Returns
    -------
    concurrent.futures.ProcessPoolExecutor
        Shut it down when done (or use it in a ``with`` block).
    """
    if workers is None:
        workers = default_workers()
    else:
        workers = _validate.integer(workers, "workers")
    return ProcessPoolExecutor(
        max_workers=int(workers), mp_context=_pool_context(), initializer=_worker_start
    )


def _worker_start() -> None:
    """Set up a worker: one torch thread, and exit when the parent process dies.

    On Linux the kernel sends the worker SIGKILL when its parent exits, however it
    exits (SIGKILL, SIGTERM, SIGHUP, a crash), so no worker outlives a killed sweep and
    holds its pipes open. Strictly, the signal comes when the thread that started the
    worker ends: start pools from a thread that lives as long as they do (the main
    thread, as :func:`~labcode.engine.sweep.sweep` does). Elsewhere the pool's own
    shutdown is all there is.
    """
    if sys.platform.startswith("linux"):
        import ctypes
        import signal

        parent = os.getppid()
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGKILL), 0, 0, 0)  # 1 = PR_SET_PDEATHSIG
        if os.getppid() != parent:  # the parent died before the line above
            os._exit(1)
    _limit_worker_threads()


def default_pool() -> ProcessPoolExecutor:
    """This process's shared pool, the default executor of :func:`~labcode.engine.sweep.sweep`.

    Made by :func:`process_pool` on first use, one worker per core this process may use,
    and returned again by every later call of the same process (a forked child makes its
    own). It is shut down when the process exits, or by :func:`close_default_pool`.
    """
    global _POOL, _POOL_OWNER
    if _POOL is None or _POOL_OWNER != os.getpid():
        _POOL = process_pool()
        _POOL_OWNER = os.getpid()
    return _POOL


def close_default_pool() -> None:
    """Shut the shared pool down, waiting for its workers; the next :func:`default_pool` makes a new one.

    :func:`~labcode.engine.sweep.sweep` calls it when the pool broke (a worker died); it
    runs at exit too. Does nothing when there is no pool, or when this process did not
    make it.
    """
    global _POOL
    pool, _POOL = _POOL, None
    if pool is not None and _POOL_OWNER == os.getpid():
        pool.shutdown(wait=True, cancel_futures=True)


atexit.register(close_default_pool)
