"""Drawn scenario sets: fresh off-support drift on demand, for validation and for held-out tests.

A fixed held-out set is spent once a design has been changed after seeing results on it (issue 17:
both the first held-out set and the session-9 confirmation set were spent that way). This module
draws new sets from one distribution over drift that no training scenario produces, so that

* a **validation draw** (``split="validation"``) gives off-support drift on which generalisation
  choices may be tuned: training and fitting refuse it, tuning and evaluation may use it, and its
  seeds may be reused freely;
* a **held-out draw** (``split="heldout"``) gives a fresh test each time a design changes: each
  (family, seed) is meant to be evaluated once, by the release evaluation, which records it in the
  ledger (`qec_gym.eval.ledger`, ``docs/heldout_draws.jsonl``) and refuses it a second time.

Validation and held-out draws of the same seed are independent (the split enters the seed), and
both come from the same distribution, so a choice that does well on validation draws is expected to
do as well on a held-out draw: the usual validation / test discipline, applied to drift families.

Each set has one scenario of each of six kinds, the kinds of the confirmation sets
(`qec_gym.noise.scenarios.CONFIRMATION_SCENARIOS`), whose parameters are drawn per set from ranges
around the confirmation values; every range lies outside what the family's training scenarios use:

=================  ==============================================================================
kind               drift of the multiplier (parameter ranges: ``docs/protocol.md``)
=================  ==============================================================================
``step_up``        a lasting jump at a random step (training telegraphs always come back)
``recovery``       a ramp down from a high level to x1 (no training scenario falls steadily)
``wide_slow_ou``   an OU walk wider than any training OU
``fast_cycle``     a deeper and 3-6x faster cycle than training's sinusoid
``dense_bursts``   bursts 4-8x more frequent, smaller and shorter than training's
``ramp_*``         a whole-episode ramp (surface and cat: under a telegraph; readout: alone)
=================  ==============================================================================

Families (`family_for_env`): ``"surface"`` (SurfaceSwitch, SurfaceSwitchRaw: every noise field of
stim-uniform(p)), ``"readout"`` (DecoderCalibration: the measurement error alone) and ``"cat"``
(CatSwitch: the cats' single-photon loss). Every draw stays within the family's physical caps (the
surface code's p <= 9e-3, the cats' x6, readout x1..x30), as the registered scenarios do.

Example:
    >>> sets = draw_scenarios("surface", 0, split="validation")
    >>> [s.name for s in sets][:2], sets[0].split
    (['val0_step_up', 'val0_recovery'], 'validation')
    >>> draw_scenarios("surface", 0, split="heldout")[0].name
    'test0_step_up'
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import numpy as np

from qec_gym.noise.drift import Bursts, DriftProcess, OrnsteinUhlenbeck, RandomTelegraph, Ramp, Sinusoid
from qec_gym.noise.params import NoiseParams
from qec_gym.noise.scenarios import Scenario, clipped_ou, confirmation_for_env

__all__ = ["DRAW_FAMILIES", "DRAW_SPLITS", "draw_scenarios", "family_for_env"]

DRAW_FAMILIES = ("surface", "readout", "cat")
"""The families of envs a set can be drawn for."""

DRAW_SPLITS = ("validation", "heldout")
"""What a drawn set is for: tuning (``validation``) or a one-time test (``heldout``)."""

_PREFIX = {"validation": "val", "heldout": "test"}
_NAME_PREFIX = {"surface": "", "readout": "readout_", "cat": "cat_"}
_SURFACE_CAP = 9e-3  # every surface-code scenario keeps p <= 9e-3 (`qec_gym.noise.scenarios`)
_SURFACE_FLOOR = 5e-4  # the lowest p of the surface envs' table axis (`qec_gym.envs.SURFACE_AXIS`: x0.5 of 1e-3)
_CAT_FLOOR, _CAT_CAP = 0.3, 6.0  # the cat scenarios' clip
_READOUT_RANGE = (1.0, 30.0)  # DecoderCalibration's p_meas axis


def _jitter(rng: np.random.Generator) -> DriftProcess:
    """A small OU jitter (log-std 0.05-0.1, correlation 50 steps), as the confirmation scenarios use."""
    return clipped_ou(float(rng.uniform(0.05, 0.1)), 50, 0.7, 1.4)


def _kinds(rng: np.random.Generator, *, high: tuple[float, float], recover: tuple[float, float],
           ou: tuple[float, float], floor: float, cap: float) -> list[tuple[str, str, DriftProcess]]:
    """The six multiplier processes of one surface or cat set: (kind, description, drift).

    ``high``: the lasting jump's level; ``recover``: the recovery ramp's start; ``ou``: the wide
    OU's log-std; ``floor``, ``cap``: the smallest and largest multiplier allowed (every process is
    clipped to them, so the noise stays on the env's table).
    """
    u = rng.uniform
    jump, wait = u(*high), u(150, 250)
    start, begin, span = u(*recover), u(25, 100), u(150, 250)
    ou_std, ou_corr = u(*ou), u(200, 300)
    amp, period = u(0.5, 0.65), u(45, 80)
    rate, height, decay = u(0.04, 0.08), u(1.0, 2.0), u(2.0, 4.0)
    end, tls, dwell_low, dwell_high = u(2.0, 3.0), u(1.5, 2.0), u(80, 120), u(40, 60)
    return [
        ("step_up", f"a lasting jump x1 -> x{jump:.2f} at a random step (geometric wait, mean {wait:.0f} steps) "
         "times an OU jitter",
         (RandomTelegraph(1.0, jump, p_up=1 / wait, p_down=0.0, start="low") * _jitter(rng)).clip(floor, cap)),
        ("recovery", f"a recovery from x{start:.2f} to x1 over steps {begin:.0f}..{begin + span:.0f} times an OU "
         "jitter",
         (Ramp(start, 1.0, duration=int(span), begin=int(begin)) * _jitter(rng)).clip(floor, cap)),
        ("wide_slow_ou", f"an OU walk (log-std {ou_std:.2f}, correlation {ou_corr:.0f} steps)",
         clipped_ou(ou_std, ou_corr, max(0.3, floor), cap)),
        ("fast_cycle", f"a cycle of +-{amp:.0%} with period {period:.0f} steps (random phase) times an OU jitter",
         (Sinusoid(amp, period, random_phase=True) * clipped_ou(0.05, 50, 0.8, 1.25)).clip(floor, cap)),
        ("dense_bursts", f"bursts at {rate:.3f} per step (exponential heights of mean +x{height:.2f}, decay "
         f"{decay:.1f} steps) over an OU jitter",
         (clipped_ou(0.05, 100, 0.8, 1.25) + Bursts(rate, height, decay=decay, baseline=0.0, random_height=True)
          ).clip(floor, cap)),
        ("ramp_telegraph", f"a ramp x1 -> x{end:.2f} over the whole episode times a telegraph x1/x{tls:.2f} "
         f"(dwell {dwell_low:.0f} / {dwell_high:.0f} steps)",
         (Ramp(1.0, end, duration=500) * RandomTelegraph.from_dwell(1.0, tls, dwell_low=dwell_low,
                                                                      dwell_high=dwell_high)).clip(floor, cap)),
    ]


def _readout_kinds(rng: np.random.Generator) -> list[tuple[str, str, DriftProcess]]:
    """The six p_meas multiplier processes of one readout set (ranges around the readout confirmation set)."""
    u = rng.uniform
    low, high = _READOUT_RANGE
    jump, wait = u(8.0, 15.0), u(150, 250)
    start, begin, span = u(15.0, 25.0), u(25, 100), u(150, 250)
    end = u(10.0, 20.0)
    centre, amp, period = u(4.0, 6.0), u(0.5, 0.65), u(45, 80)
    level, rate, height = u(1.5, 2.5), u(0.04, 0.08), u(2.0, 4.0)
    median, ou_std, ou_corr = u(3.0, 5.0), u(1.1, 1.4), u(200, 300)
    return [
        ("step_up", f"a lasting jump x2 -> x{jump:.1f} at a random step (mean wait {wait:.0f}) times an OU jitter",
         (RandomTelegraph(2.0, jump, p_up=1 / wait, p_down=0.0, start="low") * _jitter(rng)).clip(low, high)),
        ("recovery", f"a recovery from x{start:.1f} to x2 over steps {begin:.0f}..{begin + span:.0f} times an OU "
         "jitter",
         (Ramp(start, 2.0, duration=int(span), begin=int(begin)) * _jitter(rng)).clip(low, high)),
        ("ramp_up", f"a ramp x1 -> x{end:.1f} over the whole episode times an OU jitter",
         (Ramp(1.0, end, duration=500) * _jitter(rng)).clip(low, high)),
        ("fast_cycle", f"a cycle around x{centre:.1f} (+-{amp:.0%}, period {period:.0f} steps, random phase) "
         "times an OU jitter",
         (centre * Sinusoid(amp, period, random_phase=True) * clipped_ou(0.05, 50, 0.8, 1.25)).clip(low, high)),
        ("dense_bursts", f"a level of x{level:.1f} under bursts at {rate:.3f} per step (mean +x{height:.1f}, decay "
         "3 steps)",
         (level + Bursts(rate, height, decay=3.0, baseline=0.0, random_height=True)).clip(low, high)),
        ("wide_slow_ou", f"an OU walk around x{median:.1f} (log-std {ou_std:.2f}, correlation {ou_corr:.0f} steps)",
         OrnsteinUhlenbeck.from_stationary(ou_std, ou_corr, median=median).clip(low, high)),
    ]


def _surface_set(rng: np.random.Generator, name: Callable[[str], str], split: str) -> tuple[Scenario, ...]:
    base = float(rng.uniform(1.5e-3, 2.5e-3))
    kinds = _kinds(rng, high=(2.5, 3.5), recover=(3.0, 4.5), ou=(0.5, 0.7), floor=_SURFACE_FLOOR / base,
                   cap=_SURFACE_CAP / base)
    return tuple(Scenario(name(kind), f"stim-uniform({base:.2e}) with {text}; p in {_SURFACE_FLOOR:g}..{_SURFACE_CAP:g}.",
                          baseline=NoiseParams.uniform(base), drifts={"all": drift}, split=split,
                          tags=("surface", "drawn")) for kind, text, drift in kinds)


def _readout_set(rng: np.random.Generator, name: Callable[[str], str], split: str) -> tuple[Scenario, ...]:
    return tuple(Scenario(name(kind), f"stim-uniform(1e-3) whose measurement error has {text}; clipped x1..x30.",
                          baseline=NoiseParams.uniform(1e-3), drifts={"p_meas": drift}, split=split,
                          tags=("surface", "readout", "drawn")) for kind, text, drift in _readout_kinds(rng))


def _cat_set(rng: np.random.Generator, name: Callable[[str], str], split: str) -> tuple[Any, ...]:
    from qec_gym.envs.cat_env import CatScenario  # cat_env imports qec_gym.noise.scenarios

    kinds = _kinds(rng, high=(3.0, 4.0), recover=(4.0, 6.0), ou=(0.6, 0.8), floor=_CAT_FLOOR, cap=_CAT_CAP)
    return tuple(CatScenario(name(kind), f"kappa_1/kappa_2 = 1e-3 with {text}; clipped x{_CAT_FLOOR:g}..x{_CAT_CAP:g}.",
                             drift=drift, split=split, tags=("cat", "drawn")) for kind, text, drift in kinds)


_BUILDERS = {"surface": _surface_set, "readout": _readout_set, "cat": _cat_set}


def draw_scenarios(family: str, seed: int, *, split: Literal["validation", "heldout"]) -> tuple[Any, ...]:
    """Six drift scenarios of ``family`` drawn from ``seed``: one of each kind (module docstring).

    The parameters come from ``numpy.random.default_rng([family, split, seed])``, so a (family,
    split, seed) gives the same set in every process, and the validation and held-out sets of one
    seed are independent. Each scenario is named ``<prefix><val|test><seed>_<kind>`` (prefix
    ``""``, ``"readout_"`` or ``"cat_"``) and carries the tag ``"drawn"``. Pass the objects as
    ``scenarios=`` to ``gymnasium.make`` or `qec_gym.eval.EvalConfig`.

    Args:
        family: ``"surface"``, ``"readout"`` or ``"cat"`` (`family_for_env` gives an env's).
        seed: Non-negative integer naming the set.
        split: ``"validation"`` (tuning: reuse freely) or ``"heldout"`` (one test, recorded by
            ``benchmarks/release_eval.py --draw`` in the ledger).

    Returns:
        A tuple of six `Scenario` objects (`CatScenario` for ``"cat"``), episode length 500.

    Raises:
        ValueError: an unknown family or split, or a seed that is not a non-negative integer.

    Example:
        >>> [s.name for s in draw_scenarios("cat", 3, split="heldout")][-1]
        'cat_test3_ramp_telegraph'
    """
    if family not in DRAW_FAMILIES:
        raise ValueError(f"unknown draw family {family!r}; use one of {list(DRAW_FAMILIES)} "
                         "(qec_gym.noise.draws.family_for_env(env_id) gives an env's).")
    if split not in DRAW_SPLITS:
        raise ValueError(f"split={split!r}; a drawn set is 'validation' (tuning) or 'heldout' (one release test).")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"a draw seed is a non-negative integer, got {seed!r}.")
    rng = np.random.default_rng([DRAW_FAMILIES.index(family), DRAW_SPLITS.index(split), int(seed)])
    prefix = f"{_NAME_PREFIX[family]}{_PREFIX[split]}{int(seed)}_"
    return _BUILDERS[family](rng, lambda kind: prefix + kind, split)


def family_for_env(env_id: str) -> str:
    """The draw family of a registered env id: that of its confirmation set (``"readout"`` for the
    DecoderCalibration envs, ``"cat"`` for CatSwitch, ``"surface"`` for the surface-code switching envs).

    Raises:
        ValueError: ``env_id`` is not a qec_gym env or has no family (e.g. PhotonicSwitch, whose
            drift is of photon loss; the message lists the envs that have one).

    Example:
        >>> import qec_gym
        >>> family_for_env("qec_gym/CatSwitch-v5"), family_for_env("qec_gym/DecoderCalibration-v3")
        ('cat', 'readout')
    """
    try:
        tags = confirmation_for_env(env_id)[0].tags
    except ValueError as err:
        raise ValueError(f"no drawn scenario sets for {env_id!r}: {err}") from None
    return "readout" if "readout" in tags else "cat" if "cat" in tags else "surface"
