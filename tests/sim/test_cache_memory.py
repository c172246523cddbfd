"""`SimulationCache` bounded in memory: LRU eviction by estimated bytes, and the estimates
checked against the heap each entry really keeps (glibc ``mallinfo2``)."""

import gc

import numpy as np
import pytest

from qec_gym.codes import CodeSpec
from qec_gym.decoders import get_decoder
from qec_gym.noise import NoiseParams
from qec_gym.sim import SimulationCache, simulate_window
from qec_gym.sim.cache import DEFAULT_MAX_BYTES, c_heap_bytes, circuit_nbytes, layout_nbytes

SPEC = CodeSpec("rotated_surface", 3)


def _noise(i):
    return NoiseParams.uniform(1e-3 * (1 + i))


def _circuit_bytes():
    return circuit_nbytes(SimulationCache().circuit(SPEC, _noise(0)))


def test_default_budget_is_2_gib_and_no_count_bound():
    cache = SimulationCache()
    assert cache.max_bytes == DEFAULT_MAX_BYTES == 2 * 1024**3
    assert cache.max_entries is None


def test_eviction_by_bytes_is_least_recently_used_first():
    one = _circuit_bytes()  # same structure at every uniform noise, so the same estimate
    cache = SimulationCache(max_bytes=2 * one + one // 2)  # room for two circuits, not three
    a = cache.circuit(SPEC, _noise(0))
    cache.circuit(SPEC, _noise(1))
    assert cache.circuit(SPEC, _noise(0)) is a  # a is now the most recently used
    cache.circuit(SPEC, _noise(2))  # evicts noise(1), the least recently used
    info = cache.info()
    assert (info.entries, info.evictions, info.nbytes) == (2, 1, 2 * one)
    assert cache.keys() == [("circuit", (SPEC, _noise(0))), ("circuit", (SPEC, _noise(2)))]
    misses = info.misses
    assert cache.circuit(SPEC, _noise(0)) is a and cache.info().misses == misses  # kept
    cache.circuit(SPEC, _noise(1))  # was evicted: compiled again
    assert cache.info().misses == misses + 1


def test_lru_order_spans_kinds():
    one = _circuit_bytes()
    lay = layout_nbytes(SimulationCache().layout(SPEC))
    cache = SimulationCache(max_bytes=one + lay + one // 2)
    cache.layout(SPEC)
    cache.circuit(SPEC, _noise(0))
    cache.circuit(SPEC, _noise(1))  # the layout is the oldest entry: it goes first
    misses = cache.info().misses
    cache.circuit(SPEC, _noise(1))
    assert cache.info().misses == misses
    cache.layout(SPEC)
    assert cache.info().misses == misses + 1


def test_an_entry_over_the_budget_is_returned_but_not_kept():
    cache = SimulationCache(max_bytes=100)
    c1 = cache.circuit(SPEC, _noise(0))
    assert c1.num_detectors == 24
    info = cache.info()
    assert (info.entries, info.nbytes, info.not_kept, info.evictions) == (0, 0, 1, 0)
    c2 = cache.circuit(SPEC, _noise(0))
    assert c2 == c1 and c2 is not c1 and cache.info().misses == 2
    # a window still runs, compiling what it needs each time
    w = simulate_window(SPEC, _noise(0), shots=50, rng=np.random.default_rng(0), cache=cache)
    assert w.shots == 50 and cache.info().entries == 0


def test_max_entries_still_bounds_each_kind():
    cache = SimulationCache(max_entries=1)
    cache.layout(SPEC)
    cache.circuit(SPEC, _noise(0))
    cache.circuit(SPEC, _noise(1))  # evicts the other circuit, not the layout
    info = cache.info()
    assert (info.entries, info.evictions) == (2, 1)
    misses = info.misses
    cache.layout(SPEC)
    assert cache.info().misses == misses


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2GB", None])
def test_bad_max_bytes_is_refused_with_the_fix(bad):
    with pytest.raises(ValueError, match="max_bytes must be a positive int"):
        SimulationCache(max_bytes=bad)


@pytest.mark.parametrize("bad", [0, -3, 2.0, False])
def test_bad_max_entries_is_refused(bad):
    with pytest.raises(ValueError, match="max_entries must be an int >= 1 or None"):
        SimulationCache(max_entries=bad)


def test_a_decoder_larger_than_the_machine_is_refused_before_compiling(monkeypatch):
    import qec_gym.sim.cache as cache_module

    monkeypatch.setattr(cache_module, "physical_memory_bytes", lambda: 100_000)
    cache = SimulationCache()
    # pymatching at d=3: ~12 kB, fits; BP+OSD at d=5: 1024 + 280 x 1679 + 15 x 120 x 1679 B, does not
    cache.compiled_decoder(SPEC, _noise(0), get_decoder("pymatching"))
    pytest.importorskip("ldpc")
    with pytest.raises(ValueError, match=r"'bposd' for rotated_surface d=5 .* would need about 0.0 GiB.*sparse decoder"):
        cache.compiled_decoder(CodeSpec("rotated_surface", 5), _noise(0), get_decoder("bposd"))


# ---------------------------------------------------------------- estimates against the heap

_HAS_MALLINFO2 = c_heap_bytes() is not None
FACTOR = 1.5
"""Stated accuracy of the estimates: measured / estimated lies in [1/1.5, 1.5]."""


def _heap_bytes() -> int:
    gc.collect()
    return c_heap_bytes()


def _kept_and_estimated(cache, fetch):
    h0, n0 = _heap_bytes(), cache.info().nbytes
    value = fetch()
    kept, estimated = _heap_bytes() - h0, cache.info().nbytes - n0
    del value
    return kept, estimated


def _check(decoder_name, distances, families=("rotated_surface", "xzzx")):
    gc.freeze()  # older objects stay out of each gc.collect (seconds each in a full test session)
    try:
        _check_frozen(decoder_name, distances, families)
    finally:
        gc.unfreeze()


def _check_frozen(decoder_name, distances, families):
    dec = get_decoder(decoder_name)
    for family in families:
        for d in distances:
            spec = CodeSpec(family, d)
            # A first compile allocates lasting state (memoised template, library tables) that is
            # no entry's: compile once in a throwaway cache, then measure a fresh one.
            SimulationCache().compiled_decoder(spec, _noise(0), dec)
            cache = SimulationCache()
            kept, est = _kept_and_estimated(cache, lambda: cache.circuit(spec, _noise(0)))
            assert 1 / FACTOR <= kept / est <= FACTOR, (family, d, "circuit", kept, est)
            kept, est = _kept_and_estimated(cache, lambda: cache.compiled_decoder(spec, _noise(0), dec))
            assert 1 / FACTOR <= kept / est <= FACTOR, (family, d, decoder_name, kept, est)


@pytest.mark.skipif(not _HAS_MALLINFO2, reason="needs glibc >= 2.33 (mallinfo2) to measure the heap")
def test_circuit_and_matching_estimates_within_factor_of_the_heap_d3_to_9():
    _check("pymatching", (3, 5, 7, 9))


@pytest.mark.slow
@pytest.mark.skipif(not _HAS_MALLINFO2, reason="needs glibc >= 2.33 (mallinfo2) to measure the heap")
@pytest.mark.parametrize("decoder_name", ["pymatching-correlated", "uf", "bplsd", "bposd"])
def test_other_decoder_estimates_within_factor_of_the_heap(decoder_name):
    pytest.importorskip("ldpc")
    _check(decoder_name, (3, 5, 7, 9), families=("rotated_surface",))
