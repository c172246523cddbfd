"""Where independent work units run: this process, local worker processes, or a Ray cluster.

Sweeps (`qec_gym.sim.sweep.run_sweep` with ``backend="local"`` / ``"ray"``), evaluation grids
(`qec_gym.eval.evaluate` with ``executor="ray"``) and any other list of independent work units
(table builds, rollouts: `map_tasks`) go through one `Executor`. Every work unit carries its own
seed, so *what* a unit computes never depends on where or in which order it runs: the Ray
backend returns exactly what the local backend returns (tested), and results come back in
input order.

Ray (an optional extra: ``pip install "qec-gym[ray]"``) is imported only here and only when
asked for. ``address=None`` starts a local Ray instance for the duration of the `Executor`
(``num_cpus`` workers, no dashboard) and shuts it down afterwards; an ``address``
(``"host:port"`` of a running cluster's head, ``"ray://host:port"`` for Ray Client, or
``"auto"``) joins an existing cluster, whose nodes must have qec-gym installed. An address that
does not answer fails within ``connect_timeout_s`` with a message naming it: a TCP probe runs
first, and ``ray.init``, which would otherwise keep retrying for tens of seconds, is given up
after that time. A Ray session that is
already running in this process is used as it is and left running.

Example:
    >>> map_tasks(abs, [-3, 1, -2])                      # in this process
    [3, 1, 2]
    >>> with Executor("local", workers=1) as ex:         # one executor for several maps
    ...     list(ex.imap(str, [1, 2]))
    ['1', '2']
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from itertools import islice
from pathlib import Path
from typing import Any

__all__ = ["BACKENDS", "Executor", "RAY_INSTALL_HINT", "import_ray", "map_tasks", "probe_address"]

log = logging.getLogger(__name__)

BACKENDS = ("local", "ray")
RAY_INSTALL_HINT = 'the Ray backend needs Ray: pip install "qec-gym[ray]" (or: pip install "ray[default]")'


def import_ray():
    """The ``ray`` module.

    Raises:
        ImportError: Ray is not installed (the message gives the install command).
    """
    try:
        import ray
    except ImportError as e:
        raise ImportError(RAY_INSTALL_HINT) from e
    return ray


def _host_port(address: str) -> tuple[str, int] | None:
    """(host, port) of a Ray address, or None for ``"auto"`` / ``"local"`` (Ray finds those itself)."""
    if address in ("auto", "local"):
        return None
    rest = address.split("://", 1)[1] if "://" in address else address
    host, sep, port = rest.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ValueError(f"Ray address {address!r} is not host:port (e.g. 10.0.0.5:6379, or ray://10.0.0.5:10001 for "
                         "Ray Client, or 'auto' for the cluster this machine belongs to).")
    return host.strip("[]"), int(port)


def probe_address(address: str, *, timeout_s: float = 10.0) -> None:
    """Check that something answers at a Ray ``address`` within ``timeout_s`` seconds.

    Raises:
        ValueError: a malformed address.
        ConnectionError: nothing answers there in time (the message names the address and the fix).

    Example:
        >>> probe_address("127.0.0.1:1", timeout_s=1.0)
        Traceback (most recent call last):
        ...
        ConnectionError: no Ray cluster answers at 127.0.0.1:1 (connection refused within 1 s): start one with `ray start --head` and pass the address it prints, or omit --address to start a local Ray.
    """
    hp = _host_port(address)
    if hp is None:
        return
    try:
        with socket.create_connection(hp, timeout=timeout_s):
            pass
    except OSError as e:
        why = "connection refused" if isinstance(e, ConnectionRefusedError) else (
            "no answer" if isinstance(e, (TimeoutError, socket.timeout)) else type(e).__name__)
        raise ConnectionError(f"no Ray cluster answers at {address} ({why} within {timeout_s:g} s): start one with "
                              "`ray start --head` and pass the address it prints, or omit --address to start a "
                              "local Ray.") from None


def _init_within(ray, kwargs: dict, address: str, timeout_s: float) -> None:
    """``ray.init(**kwargs)`` that gives up after ``timeout_s`` seconds.

    A port that accepts TCP but is no Ray head (another service, a proxy) passes `probe_address`;
    ray.init then retries for about 20 s. It runs in a daemon thread here: on time-out the caller
    gets a ConnectionError at once and the thread, when ray.init finally returns, shuts down what
    it connected (a process that exits meanwhile just ends it).
    """
    outcome: dict[str, Any] = {}
    gave_up = threading.Event()

    def connect() -> None:
        try:
            ray.init(**kwargs)
        except BaseException as e:  # noqa: BLE001 - handed to the caller below
            outcome["error"] = e
            return
        if gave_up.is_set():
            ray.shutdown()
        outcome["ok"] = True

    thread = threading.Thread(target=connect, name="qec_gym-ray-init", daemon=True)
    thread.start()
    thread.join(timeout_s)
    if thread.is_alive():
        gave_up.set()
        raise ConnectionError(f"{address} answers but no Ray cluster connected within {timeout_s:g} s (another service "
                              "on that port, or a head still starting): check the address that `ray start --head` "
                              "printed, or omit --address to start a local Ray.")
    if "error" in outcome:
        e = outcome["error"]
        raise ConnectionError(f"could not join the Ray cluster at {address}: {e}") from e


def _check_workers(workers: Any, name: str) -> int | None:
    if workers is None:
        return None
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"{name} must be an int >= 1 (or None), got {workers!r}.")
    return workers


class Executor:
    """Runs ``fn(item)`` for many items, returning results in input order (a context manager).

    Args:
        backend: ``"local"`` (this process when ``workers`` is 1, else a process pool) or ``"ray"``.
        workers: Local worker processes (``"local"`` only).
        address: Ray cluster address; None starts a local Ray (``"ray"`` only).
        num_cpus: CPUs of the local Ray instance (None: all of this machine's); with ``address``
            the cluster's own resources count and this must be None.
        connect_timeout_s: Seconds to wait for a cluster at ``address`` to answer.

    Raises:
        ValueError: unknown backend; Ray options with the local backend; ``num_cpus`` with an address.
        ImportError: ``"ray"`` without Ray installed (install hint).
        ConnectionError: ``address`` does not answer within ``connect_timeout_s``.
    """

    def __init__(self, backend: str = "local", *, workers: int = 1, address: str | None = None,
                 num_cpus: int | None = None, connect_timeout_s: float = 10.0) -> None:
        if backend not in BACKENDS:
            raise ValueError(f"unknown backend {backend!r}; choose one of {list(BACKENDS)}.")
        self.workers = _check_workers(workers, "workers") or 1
        self.num_cpus = _check_workers(num_cpus, "num_cpus")
        if backend == "local" and (address is not None or num_cpus is not None):
            raise ValueError("address and num_cpus configure the Ray backend; pass backend='ray' (CLI: --backend ray).")
        if address is not None and num_cpus is not None:
            raise ValueError("num_cpus sizes a local Ray; a cluster at an address brings its own CPUs: drop num_cpus.")
        if not connect_timeout_s > 0:
            raise ValueError(f"connect_timeout_s must be > 0 seconds, got {connect_timeout_s!r}.")
        if backend == "ray":
            import_ray()  # the install hint before any work starts
        self.backend, self.address, self.connect_timeout_s = backend, address, float(connect_timeout_s)
        self._pool: ProcessPoolExecutor | None = None
        self._ray = None
        self._started_ray = False

    def __enter__(self) -> Executor:
        if self.backend == "ray":
            self._ray = import_ray()
            if self._ray.is_initialized():
                log.info("using the Ray session already running in this process")
            else:
                self._start_ray()
        elif self.workers > 1:
            self._pool = ProcessPoolExecutor(max_workers=self.workers)
        return self

    def _start_ray(self) -> None:
        ray = self._ray
        kwargs: dict[str, Any] = {"log_to_driver": False, "configure_logging": False}
        if self.address is None:
            # Workers of a local instance import the same qec_gym as this process (a source
            # checkout may not be the installed one).
            root = str(Path(__file__).resolve().parents[2])
            path = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH", "")) if p)
            kwargs.update(num_cpus=self.num_cpus, include_dashboard=False,
                          runtime_env={"env_vars": {"PYTHONPATH": path}})
            ray.init(**kwargs)
        else:
            probe_address(self.address, timeout_s=self.connect_timeout_s)
            kwargs["address"] = self.address
            _init_within(ray, kwargs, self.address, self.connect_timeout_s)
        self._started_ray = True

    def __exit__(self, *exc) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None
        if self._started_ray:
            self._ray.shutdown()
            self._started_ray = False

    @property
    def parallelism(self) -> int:
        """How many units run at once: local workers, or the Ray cluster's CPUs (inside ``with``)."""
        if self.backend == "ray" and self._ray is not None:
            return max(1, int(self._ray.cluster_resources().get("CPU", 1)))
        return self.workers

    def imap(self, fn: Callable[[Any], Any], items: Iterable[Any]) -> Iterator[Any]:
        """``fn(item)`` for each item, yielded in input order as each becomes available.

        ``fn`` must be picklable (a module-level function or a `functools.partial` of one) for
        worker processes and Ray. An exception raised by ``fn`` is raised here (Ray's wrapper
        is removed: the original exception type and message).
        """
        items = list(items)
        if self.backend == "ray":
            if self._ray is None:
                raise RuntimeError("use the Executor as a context manager: `with Executor('ray') as ex: ...`.")
            ray = self._ray
            # one generic remote function: any picklable callable (builtins, partials) works, sent once
            remote = ray.remote(num_cpus=1, max_retries=0)(_apply)
            fn_ref = ray.put(fn)
            # A bounded window of tasks in flight instead of ray.cancel on early stop: cancelling a
            # task whose reply is arriving aborts the driver process in Ray 2.60 (RAY_CHECK
            # "Tried to complete task that was not pending", ray-project/ray#54798). A consumer
            # that stops early (or an error) leaves at most `window` tasks to run out.
            window = 2 * self.parallelism
            pending: deque = deque()
            todo = iter(items)
            for item in islice(todo, window):
                pending.append(remote.remote(fn_ref, item))
            while pending:
                try:
                    result = ray.get(pending.popleft())
                except ray.exceptions.RayTaskError as e:
                    raise e.as_instanceof_cause() from None
                for item in islice(todo, 1):
                    pending.append(remote.remote(fn_ref, item))
                yield result
        elif self._pool is not None:
            futures = [self._pool.submit(fn, item) for item in items]
            try:
                for fut in futures:
                    yield fut.result()
            finally:
                for fut in futures:
                    fut.cancel()
        else:
            for item in items:
                yield fn(item)


def _apply(fn: Callable[[Any], Any], item: Any) -> Any:
    return fn(item)


def map_tasks(fn: Callable[[Any], Any], items: Iterable[Any], *, backend: str = "local", workers: int = 1,
              address: str | None = None, num_cpus: int | None = None, connect_timeout_s: float = 10.0) -> list:
    """``[fn(item) for item in items]`` on the chosen backend (see `Executor`), in input order.

    The generic entry for independent work units (table builds, rollouts): each item must carry
    everything its result depends on, its seed included, so every backend returns the same list.

    Raises:
        As `Executor`, plus whatever ``fn`` raises.

    Example:
        >>> map_tasks(len, ["ab", "c"], backend="local")
        [2, 1]
    """
    with Executor(backend, workers=workers, address=address, num_cpus=num_cpus,
                  connect_timeout_s=connect_timeout_s) as ex:
        return list(ex.imap(fn, items))
