"""Use qec-gym decoders inside sinter: ``sinter.collect(custom_decoders=sinter_decoders([...]))``.

`SinterDecoder` wraps any `qec_gym.decoders.Decoder` as a ``sinter.Decoder``: sinter's
``compile_decoder_for_dem`` calls our ``Decoder.compile`` once per task and its bit-packed
``decode_shots_bit_packed`` calls our ``CompiledDecoder.decode_batch``, so a sweep measures
exactly the decoder that the environments run.

Which detector error model reaches the decoder: when a ``sinter.Task`` carries no DEM, sinter
builds one with ``decompose_errors=True`` and, if decomposition fails (e.g. colour codes), falls
back to the undecomposed DEM. Decoders that need a graphlike DEM (matching, union-find) then
fail with a message that names a hypergraph decoder; decoders that take hyperedges receive a
DEM whose decomposed errors are merged back into single hyperedges first (the ``^`` split is a
hint for matching only). `qec_gym.sim.sweep.make_tasks` sidesteps the question by giving every
task the DEM its decoder wants.

Example:
    >>> import numpy as np, stim
    >>> dec = sinter_decoders(["pymatching"])["pymatching"]
    >>> c = stim.Circuit.generated("repetition_code:memory", distance=3, rounds=2,
    ...                            before_round_data_depolarization=0.05)
    >>> compiled = dec.compile_decoder_for_dem(dem=c.detector_error_model(decompose_errors=True))
    >>> packed = np.zeros((5, (c.num_detectors + 7) // 8), dtype=np.uint8)
    >>> compiled.decode_shots_bit_packed(bit_packed_detection_event_data=packed).shape
    (5, 1)
"""

from __future__ import annotations

import multiprocessing
import signal
import threading
from collections.abc import Iterable

import numpy as np
import sinter
import stim

from qec_gym.decoders import Decoder, get_decoder
from qec_gym.decoders.base import CompiledDecoder


class _SinterCompiled(sinter.CompiledDecoder):
    """Bit-packed (little-endian, sinter's convention) front of one of our compiled decoders."""

    def __init__(self, compiled: CompiledDecoder, num_detectors: int, num_observables: int) -> None:
        self.compiled = compiled
        self.num_detectors = num_detectors
        self.num_observables = num_observables

    def decode_shots_bit_packed(self, *, bit_packed_detection_event_data: np.ndarray) -> np.ndarray:
        dets = np.unpackbits(
            bit_packed_detection_event_data, axis=1, count=self.num_detectors, bitorder="little"
        ).astype(bool, copy=False)
        predictions = self.compiled.decode_batch(dets)
        return np.packbits(predictions.astype(np.uint8, copy=False), axis=1, bitorder="little")


class SinterDecoder(sinter.Decoder):
    """A qec-gym `Decoder` seen as a ``sinter.Decoder`` (picklable, so sinter workers can use it).

    Args:
        decoder: The decoder (an instance, or a name for `qec_gym.decoders.get_decoder`).

    Example:
        >>> SinterDecoder("bposd").decoder.name
        'bposd'
    """

    def __init__(self, decoder: Decoder | str) -> None:
        self.decoder = get_decoder(decoder)

    def compile_decoder_for_dem(self, *, dem: stim.DetectorErrorModel) -> sinter.CompiledDecoder:
        """Compile our decoder for ``dem`` (sinter calls this once per task and worker).

        Raises:
            ValueError: the decoder cannot decode ``dem`` (its message names an alternative).
        """
        if not self.decoder.needs_graphlike:
            dem = merge_decomposed_errors(dem)
        compiled = self.decoder.compile(dem)
        return _SinterCompiled(compiled, dem.num_detectors, dem.num_observables)

    def __repr__(self) -> str:
        return f"SinterDecoder({self.decoder!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SinterDecoder) and other.decoder == self.decoder

    def __hash__(self) -> int:
        return hash(("SinterDecoder", self.decoder))


def sinter_decoders(names: Iterable[str | Decoder]) -> dict[str, sinter.Decoder]:
    """``{name: SinterDecoder}`` for ``sinter.collect(custom_decoders=...)``.

    The keys are our decoder names (``"pymatching"``, ``"bposd"``, ...). sinter looks custom
    decoders up before its built-in ones, so tasks whose ``decoder`` is ``"pymatching"`` are
    decoded by qec-gym's PyMatching wrapper, not sinter's.

    Args:
        names: Decoder names or instances.

    Raises:
        ValueError: an unknown decoder name.

    Example:
        >>> sorted(sinter_decoders(["pymatching", "bposd"]))
        ['bposd', 'pymatching']
    """
    out: dict[str, sinter.Decoder] = {}
    for name in names:
        dec = get_decoder(name)
        out[dec.name] = SinterDecoder(dec)
    return out


def merge_decomposed_errors(dem: stim.DetectorErrorModel) -> stim.DetectorErrorModel:
    """``dem`` with each decomposed error (``error(p) D0 D1 ^ D2``) merged into one hyperedge.

    The merged error flips the XOR of its components' detectors and observables. A DEM without
    separators is returned unchanged (the same object); one with separators is flattened.

    Example:
        >>> dem = stim.DetectorErrorModel("error(0.1) D0 D1 ^ D1 D2 L0")
        >>> merged = merge_decomposed_errors(dem)[0]
        >>> [str(t) for t in merged.targets_copy()], merged.args_copy() == [0.1]
        (['D0', 'D2', 'L0'], True)
    """
    if not any(
        inst.type == "error" and any(t.is_separator() for t in inst.targets_copy())
        for inst in dem.flattened()
    ):
        return dem
    out = stim.DetectorErrorModel()
    for inst in dem.flattened():
        if inst.type != "error":
            out.append(inst)
            continue
        flipped: dict[stim.DemTarget, None] = {}  # insertion-ordered set, toggled by XOR
        for t in inst.targets_copy():
            if t.is_separator():
                continue
            if t in flipped:
                del flipped[t]
            else:
                flipped[t] = None
        if flipped:  # an error whose parts cancel flips nothing: it cannot matter to a decoder
            targets = sorted(flipped, key=lambda t: (t.is_logical_observable_id(), t.val))
            out.append(stim.DemInstruction("error", inst.args_copy(), targets))
    return out


class WorkerDiedError(RuntimeError):
    """A sinter worker process died (e.g. a decoder crashed the interpreter) during a collection."""


def collect(*, poll_seconds: float = 0.5, grace_seconds: float = 3.0, **kwargs) -> list[sinter.TaskStats]:
    """``sinter.collect(**kwargs)``, but a worker process that dies raises instead of hanging.

    sinter 1.16 waits on its result queue without a timeout, so a worker killed by a signal
    (a segfault in a decoder's C++ code, the OOM killer) leaves ``sinter.collect`` blocked
    forever. Here sinter runs in a helper thread while the calling thread watches the worker
    processes it starts; when one exits with a non-zero code and sinter has not returned within
    ``grace_seconds`` (sinter itself kills its workers when it finishes), the remaining workers
    are killed and `WorkerDiedError` is raised. A KeyboardInterrupt also kills the workers. The
    helper thread, left blocked on sinter's queue, is a daemon and ends with the interpreter.

    Args:
        poll_seconds: How often the worker processes are checked.
        grace_seconds: How long a finished collection may take to return after a worker exit.
        **kwargs: Passed to ``sinter.collect``.

    Raises:
        WorkerDiedError: a worker died; the message gives its exit code or signal.
        Exception: whatever ``sinter.collect`` raised (re-raised in the calling thread).

    Example:
        >>> c = stim.Circuit.generated("repetition_code:memory", distance=3, rounds=2,
        ...                            before_round_data_depolarization=0.05)
        >>> task = sinter.Task(circuit=c, decoder="pymatching")
        >>> collect(num_workers=1, tasks=[task], max_shots=100, decoders=["pymatching"])[0].shots
        100
    """
    before = {p.pid for p in _children()}
    outcome: dict[str, object] = {}

    def run() -> None:
        try:
            outcome["stats"] = sinter.collect(**kwargs)
        except BaseException as e:  # re-raised in the calling thread
            outcome["error"] = e

    thread = threading.Thread(target=run, name="sinter-collect", daemon=True)
    workers: dict[int, multiprocessing.Process] = {}
    thread.start()
    try:
        while thread.is_alive():
            thread.join(poll_seconds)
            for p in _children():
                if p.pid not in before:
                    workers.setdefault(p.pid, p)
            dead = [p for p in workers.values() if p.exitcode not in (None, 0)]
            if dead and thread.is_alive():
                thread.join(grace_seconds)
                if thread.is_alive():
                    raise WorkerDiedError(
                        f"sinter worker process {dead[0].pid} died ({_exit_reason(dead[0].exitcode)}) "
                        "and the collection cannot finish; a decoder probably crashed the "
                        "interpreter. Re-run the failing task with num_workers=1 in one process "
                        "to see its error, or choose another decoder."
                    )
    except BaseException:
        for p in workers.values():
            if p.exitcode is None:
                p.kill()
        raise
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["stats"]  # type: ignore[return-value]


def _children() -> set:
    """This process's child processes, finished ones included.

    ``multiprocessing.active_children()`` reaps finished children and forgets them, so a worker
    that died between two polls would never be seen (a hang on an idle machine, where a worker
    crashing at start-up dies within one poll); the registry it reads keeps them until then.
    """
    registry = getattr(multiprocessing.process, "_children", None)
    return set(registry) if registry is not None else set(multiprocessing.active_children())


def _exit_reason(code: int | None) -> str:
    if code is not None and code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            pass
    return f"exit code {code}"
