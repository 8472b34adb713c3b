"""Training on a Dask cluster (``dask.distributed``): one machine's worker processes or many.

    python -m richneuron sweep SPEC.yaml --dask 4          # a LocalCluster of 4 workers here
    python -m richneuron sweep SPEC.yaml --scheduler tcp://10.0.0.1:8786   # an existing cluster

:class:`DaskBackend` runs the trainer's chunks as Dask tasks, one task per chunk, the most
expensive first; each chunk's results come back to this process as it finishes and are stored
at once (the run cache), so a stopped sweep resumes where it stopped, and a worker that dies
mid-chunk only costs that chunk (Dask trains it again elsewhere; a result is kept once).

**The same bits as here.** A result must not depend on where it was computed, so before any
work each worker reports its arithmetic (:func:`worker_arithmetic`: the pinned environment,
ATen's CPU capability, MKL's mode, torch, the C++ compiler Inductor uses, and a hash of this
package's source) and a worker whose arithmetic differs from this process's is **refused**: it
gets no task, and one line names the setting. Every task checks again on its worker before it
trains, so a result computed with other arithmetic cannot come back. Workers get the pinned
arithmetic before torch is imported: a local cluster's worker processes start with
:data:`richneuron.arithmetic.determinism.ARITHMETIC_ENV` in their environment and this module as
their preload; on other machines, start workers with ``--preload richneuron.train.cluster``
(README).

**Stopping.** :meth:`DaskBackend.close` (also on leaving ``with``) cancels what is left, closes
the client and, for a local cluster, the cluster, then ends any of its processes still alive:
after Ctrl-C or SIGTERM no worker outlives the command. Workers of a cluster this process only
joined (``--scheduler``) belong to that cluster: their queued chunks are cancelled, and a chunk
already running there finishes unused. A scheduler that goes away mid-training (stopped, or the
connection to it lost) ends the training with :class:`SchedulerLost`, which names its address
and how many runs had finished (and were kept) by then.
"""

from __future__ import annotations

import functools
import logging
import os
import platform
import sys
import time
from asyncio import CancelledError
from collections.abc import Callable, Sequence

from ..arithmetic import determinism
from ..arithmetic.determinism import ARITHMETIC_ENV, applies
from . import pool

__all__ = [
    "ArithmeticMismatch",
    "ClusterError",
    "DaskBackend",
    "SchedulerLost",
    "arithmetic_difference",
    "dask_setup",
    "worker_arithmetic",
]

#: How long to wait for a scheduler given by address before giving up.
CONNECT_TIMEOUT = 3.0

#: How often the wait for results looks at the cluster (new workers, none left).
POLL = 2.0


class ClusterError(RuntimeError):
    """The cluster cannot be used: unreachable, no worker with this process's arithmetic."""


class SchedulerLost(ClusterError):
    """The scheduler went away (or the connection to it) while chunks were training.

    ``address`` is the scheduler's; ``finished`` counts the runs whose results had come back and
    been handed on (so stored in the run cache, where there is one) by this backend before.
    """

    def __init__(self, address: str, finished: int):
        self.address = address
        self.finished = finished
        super().__init__(
            f"lost the Dask scheduler {address} after {finished} "
            f"run{'' if finished == 1 else 's'} had finished"
        )


#: The loggers that speak while a client loses its scheduler (``distributed.*`` and the
#: ``asyncio`` and ``tornado`` loggers of its event loop), silenced while chunks train.
_NOISY_LOGGERS = ("distributed", "asyncio", "tornado")

#: How long an error that may come from a lost connection waits for the client to say so.
_LOSS_GRACE = 1.0


class ArithmeticMismatch(RuntimeError):
    """A worker's arithmetic differs from this process's; the message names the setting."""


@functools.cache
def worker_arithmetic() -> dict[str, object]:
    """The settings that decide this process's arithmetic (pins it first, as training does)."""
    import torch

    try:
        determinism.pin_arithmetic()
    except RuntimeError:
        pass  # torch started with other settings: the values below show which
    return {
        "pinned (RICHNEURON_UNPINNED unset)": determinism.is_pinned(),
        "machine": platform.machine(),
        **{k: os.environ.get(k) for k in determinism.ARITHMETIC_ENV},
        "ATen CPU capability": torch.backends.cpu.get_cpu_capability(),
        "MKL mode": determinism.mkl_cbwr(),
        "torch threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "Inductor's compiler": determinism.compiler_version(),
        "richneuron source": determinism.source_digest()[:16],
    }


def arithmetic_difference(here: dict, there: dict) -> str | None:
    """The first setting that differs, as ``"NAME is X there, Y here"``; ``None`` if none."""
    for key in [*here, *(k for k in there if k not in here)]:
        if here.get(key) != there.get(key):
            return f"{key} is {there.get(key)!r} there, {here.get(key)!r} here"
    return None


def dask_setup(worker: object = None) -> None:
    """Dask's preload hook (``dask worker --preload richneuron.train.cluster``): pin the arithmetic.

    Importing :mod:`richneuron` sets the pinned environment before torch is imported;
    :func:`worker_arithmetic` then pins threads (Inductor is pinned where a step compiles:
:func:`richneuron.arithmetic.determinism.pin_compiler`).
    """
    worker_arithmetic()


def _train_checked(parts: list, compile: bool, expected: dict) -> list:
    """A task: train chunks on a worker whose arithmetic is ``expected`` (else refuse)."""
    difference = arithmetic_difference(expected, worker_arithmetic())
    if difference:
        raise ArithmeticMismatch(difference)
    return pool.train_parts(parts, compile)


def _refusal(address: str, difference: str) -> str:
    return (
        f"refused Dask worker {address}: {difference} (start workers with the same environment "
        "and --preload richneuron.train.cluster; see the README)"
    )


class DaskBackend:
    """Trains the trainer's chunks on a Dask cluster (see the module docstring): a
    :class:`richneuron.train.pool.Backend`.

    Make one with :meth:`local` or :meth:`connect`, pass it as ``backend=`` to
    :func:`richneuron.train.pool.train_jobs` (or ``run_study``, ``run_sweep``), and close it.
    """

    def __init__(self, client, cluster=None, log: Callable[[str], None] | None = None):
        self.client = client
        self.cluster = cluster
        self.log = log or (lambda line: print(line, file=sys.stderr))
        self.expected = worker_arithmetic()
        self.accepted: set[str] = set()
        self.refused: dict[str, str] = {}
        self._pids: set[int] = set()  # a local cluster's worker processes, as they are seen
        self.address: str = client.scheduler.address
        self.finished = 0  # runs trained and handed on (``finish``) by this backend
        self._levels: dict[logging.Logger, int] | None = None  # while silenced: levels before

    @classmethod
    def local(cls, n_workers: int, log: Callable[[str], None] | None = None) -> DaskBackend:
        """Start a ``LocalCluster`` of ``n_workers`` single-thread worker processes here."""
        if not isinstance(n_workers, int) or n_workers < 1:
            raise ValueError(f"--dask: must be at least 1 worker, got {n_workers!r}")
        from distributed import Client, LocalCluster

        cluster = LocalCluster(
            n_workers=n_workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,  # no dashboard; its HTTP routes on a free port:
            scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
            silence_logs=logging.ERROR,
            env=dict(ARITHMETIC_ENV) if applies() else {},
            preload=["richneuron.train.cluster"],
        )
        backend = cls(Client(cluster), cluster, log)
        backend._note_processes()
        return backend

    def _note_processes(self) -> None:
        """Remember the local cluster's worker processes, to end any that outlive its close."""
        if self.cluster is not None:
            found = self.client.run(os.getpid, on_error="return")
            self._pids |= {pid for pid in found.values() if isinstance(pid, int)}

    @classmethod
    def connect(
        cls,
        address: str,
        timeout: float = CONNECT_TIMEOUT,
        log: Callable[[str], None] | None = None,
    ) -> DaskBackend:
        """Join the cluster whose scheduler is at ``address`` (``tcp://host:port``).

        Raises:
            ClusterError: within ``timeout`` seconds (and a little), naming the address.
        """
        from distributed import Client

        logging.getLogger("distributed").setLevel(logging.ERROR)
        try:
            client = Client(address, timeout=timeout)
        except (OSError, TimeoutError, ValueError) as err:
            reason = str(err).splitlines()[0] if str(err) else type(err).__name__
            raise ClusterError(
                f"--scheduler {address}: no Dask scheduler answered within {timeout:g} s "
                f"({reason})"
            ) from None
        return cls(client, None, log)

    def __enter__(self) -> DaskBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def workers(self) -> list[str]:
        """The addresses of the cluster's workers now."""
        return sorted(self.client.scheduler_info(n_workers=-1)["workers"])

    def check_workers(self) -> set[str]:
        """Accept or refuse every worker not seen yet (one line per refusal); the accepted.

        Raises:
            ClusterError: no worker with this process's arithmetic.
        """
        new = [w for w in self.workers if w not in self.accepted and w not in self.refused]
        if new:
            self._note_processes()
            found = self.client.run(worker_arithmetic, workers=new, on_error="return")
            for address, there in found.items():
                if isinstance(there, BaseException):
                    difference = f"it could not report its arithmetic ({there!r})"
                else:
                    difference = arithmetic_difference(self.expected, there)
                if difference:
                    self.refused[address] = difference
                    self.log(_refusal(address, difference))
                else:
                    self.accepted.add(address)
        alive = self.accepted & set(self.workers)
        if not alive:
            raise ClusterError(
                "no Dask worker with this process's arithmetic"
                + (f": {next(iter(self.refused.values()))}" if self.refused else " (no workers)")
            )
        return alive

    def schedule(
        self,
        groups: list[list[list[int]]],
        jobs: Sequence,
        compile: bool,
        finish: Callable[[list[list[int]], list], None],
    ) -> None:
        """Train every chunk of ``groups`` (job indices) on accepted workers; ``finish(parts,
        results)`` as each chunk's results arrive. Called by
        :func:`~richneuron.train.pool.train_jobs`.

        Raises:
            SchedulerLost: the scheduler (or the connection to it) went away; the client is
                closed, and Dask's loggers stay silent until :meth:`close`.
            ClusterError: no worker with this process's arithmetic.
        """
        chunks = [[part] for parts in groups for part in parts]
        submit = functools.partial(self._submit, jobs, compile)
        running: dict = {}
        self._silence()
        try:
            accepted = self.check_workers()
            running = {submit(parts, accepted): parts for parts in chunks}
            self._collect(running, accepted, submit, finish)
        except BaseException as err:
            if isinstance(err, SchedulerLost) or self._lost(err):
                # Its futures are cancelled already and there is no scheduler to tell; the
                # client is closed here, still silenced (its reconnection logs as it ends), and
                # the loggers stay silenced until close().
                self._close_client()
                raise SchedulerLost(self.address, self.finished) from None
            if running:
                self.client.cancel(list(running), force=True)
            self._unsilence()
            raise
        self._unsilence()

    def _submit(self, jobs: Sequence, compile: bool, parts: list[list[int]], workers: set[str]):
        """One chunk (``parts``: job indices) onto the accepted ``workers``, the most expensive
        first (its :func:`~richneuron.train.pool.group_cost` as the priority)."""
        chunk = [[jobs[i] for i in part] for part in parts]
        return self.client.submit(
            _train_checked,
            chunk,
            compile,
            self.expected,
            pure=False,
            workers=sorted(workers),
            allow_other_workers=False,
            priority=pool.group_cost(chunk),
        )

    def _collect(
        self,
        running: dict,
        accepted: set[str],
        submit: Callable,
        finish: Callable[[list[list[int]], list], None],
    ) -> None:
        """Hand each chunk's results to ``finish`` as they arrive, until ``running`` (futures
        to their chunks, emptied here) is empty; between arrivals, notice a lost scheduler and
        resubmit chunks stranded on workers that left."""
        from distributed import wait  # dask's client loads only where a cluster is used

        while running:
            try:
                done, _ = wait(list(running), timeout=POLL, return_when="FIRST_COMPLETED")
            except TimeoutError:
                done = set()
            for future in done:
                parts = running.pop(future)
                try:
                    trained = future.result()
                except ArithmeticMismatch as err:  # a worker changed under us
                    raise ClusterError(str(err)) from None
                finish(parts, trained)
                self.finished += len(trained)
            if not done:
                if self.client.status != "running":  # lost between two waits
                    raise SchedulerLost(self.address, self.finished)
                accepted = self._resubmit_if_stranded(running, accepted, submit)

    def _lost(self, err: BaseException) -> bool:
        """Whether ``err`` comes from losing the scheduler (or the connection to it)."""
        if not isinstance(err, Exception | CancelledError) or isinstance(err, ClusterError):
            return False  # Ctrl-C, SIGTERM (KeyboardInterrupt), this module's own errors
        groups = getattr(err, "error_groups", None) or [err]  # FuturesCancelledError: groups
        if any(getattr(g, "reason", None) == "scheduler-connection-lost" for g in groups):
            return True
        # An RPC can fail before the client's own connection has noticed: give it a moment.
        comm_error = isinstance(err, OSError | TimeoutError | CancelledError)
        deadline = time.monotonic() + (_LOSS_GRACE if comm_error else 0.0)
        while self.client.status == "running" and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.client.status != "running"

    def _silence(self) -> None:
        """Raise the levels of Dask's (and its event loop's) loggers while chunks train.

        When the scheduler goes away, the client's event-loop thread logs on its own, whatever
        the training is doing: each failed try to reconnect, then ``Failed to reconnect``, and
        the tracebacks of its cancelled reconnection as it is closed (``distributed.client``
        has its own level, WARNING in Dask's config, so raising ``distributed`` alone is not
        enough). The loss is reported as one :class:`SchedulerLost` instead; the levels come
        back when training ends, or after :meth:`close` when the scheduler was lost.
        """
        if self._levels is not None:
            return
        names = [
            name
            for name in list(logging.root.manager.loggerDict)
            if any(name == n or name.startswith(n + ".") for n in _NOISY_LOGGERS)
        ]
        self._levels = {}
        for name in {*names, *_NOISY_LOGGERS}:
            logger = logging.getLogger(name)
            self._levels[logger] = logger.level
            logger.setLevel(logging.CRITICAL + 1)

    def _unsilence(self) -> None:
        for logger, level in (self._levels or {}).items():
            logger.setLevel(level)
        self._levels = None

    def _close_client(self) -> None:
        try:
            self.client.close(timeout=5)
        except Exception:
            pass

    def _resubmit_if_stranded(self, running: dict, accepted: set[str], submit) -> set[str]:
        """Workers come and go (a local cluster restarts a killed one under a new address):
        accept new ones, and move the chunks whose accepted workers are all gone."""
        alive = set(self.workers)
        if accepted <= alive and not (alive - self.accepted - set(self.refused)):
            return accepted
        now = self.check_workers()
        if not (accepted & alive):
            for future in list(running):
                parts = running.pop(future)
                future.cancel()
                running[submit(parts, now)] = parts
        return now

    def close(self) -> None:
        """Cancel, disconnect, and stop a local cluster with every process it started."""
        try:
            self._close_all()
        finally:
            self._unsilence()

    def _close_all(self) -> None:
        import psutil

        self._close_client()
        if self.cluster is not None:
            try:
                self.cluster.close(timeout=10)
            except Exception:
                pass
        leftover = []
        for pid in self._pids:  # what the cluster's close did not end
            try:
                process = psutil.Process(pid)
                if process.ppid() == os.getpid() or process.parent() is None:
                    process.kill()
                    leftover.append(process)
            except psutil.Error:
                pass
        psutil.wait_procs(leftover, timeout=10)
