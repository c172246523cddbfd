"""`CodeSpec`: which code, distance, number of rounds and memory basis to run.

Example:
    >>> from qec_gym.codes import CodeSpec
    >>> spec = CodeSpec("rotated_surface", 5)
    >>> spec.rounds, spec.basis
    (5, 'x')
    >>> CodeSpec("xzzx", 3, rounds=1).key
    'xzzx:d3:r1:x'
"""

from __future__ import annotations

from dataclasses import dataclass

# family -> (allowed memory bases, default basis, needs odd distance)
_FAMILIES: dict[str, tuple[tuple[str, ...], str, bool]] = {
    "rotated_surface": (("x", "z"), "x", True),
    "unrotated_surface": (("x", "z"), "x", True),
    "xzzx": (("x", "z"), "x", True),
    "repetition": (("z",), "z", False),
    "repetition_phase": (("x",), "x", False),
    "color": (("xyz",), "xyz", True),
    "cat_repetition": (("x",), "x", False),
}

FAMILIES: tuple[str, ...] = tuple(_FAMILIES)
"""Code families that `build_circuit` knows."""

MAX_DISTANCE = 51


@dataclass(frozen=True)
class CodeSpec:
    """A memory experiment: ``rounds`` rounds of syndrome extraction of a distance-``distance`` code.

    Args:
        family: One of `FAMILIES`: ``rotated_surface``, ``unrotated_surface``, ``xzzx`` (the
            XZZX surface code, strong under Z-biased noise), ``repetition`` (bit-flip code, Z
            basis), ``repetition_phase`` (phase-flip code, X basis), ``color`` (6.6.6 colour
            code, stim's ``memory_xyz``; its circuit has hook errors, so its circuit-level
            distance is about (d + 1) / 2, and it needs ``rounds >= 2``), ``cat_repetition`` (phase-flip repetition code over
            cat qubits; its noise is strongly Z-biased, see ``qec_gym.bosonic.channel``; its
            data readout flips with ``p_reset``, see `qec_gym.codes.cat_repetition`).
        distance: Code distance; odd and >= 3 for the 2D codes, >= 2 for repetition codes.
        rounds: Rounds of stabiliser measurement; defaults to ``distance``.
        basis: Memory basis (``"x"`` or ``"z"``); defaults to the family's protected basis.

    Raises:
        ValueError: unknown family, invalid distance, rounds < 1 or a basis the family lacks.
    """

    family: str
    distance: int
    rounds: int | None = None
    basis: str | None = None

    def __post_init__(self) -> None:
        if self.family not in _FAMILIES:
            raise ValueError(
                f"unknown code family {self.family!r}; choose one of {list(FAMILIES)}."
            )
        bases, default_basis, needs_odd = _FAMILIES[self.family]
        d = self.distance
        if not isinstance(d, int) or isinstance(d, bool):
            raise TypeError(f"distance must be an int, got {d!r}.")
        if needs_odd and (d < 3 or d % 2 == 0):
            raise ValueError(
                f"{self.family} needs an odd distance >= 3, got {d}; try {max(3, d + 1 - d % 2)}."
            )
        if d < 2:
            raise ValueError(f"{self.family} needs distance >= 2, got {d}.")
        if d > MAX_DISTANCE:
            raise ValueError(f"distance {d} exceeds the supported maximum {MAX_DISTANCE}.")
        rounds = d if self.rounds is None else self.rounds
        min_rounds = 2 if self.family == "color" else 1  # memory_xyz cycles bases over rounds
        if not isinstance(rounds, int) or isinstance(rounds, bool) or rounds < min_rounds:
            raise ValueError(f"{self.family} needs rounds >= {min_rounds} (an int), got {self.rounds!r}.")
        object.__setattr__(self, "rounds", rounds)
        basis = default_basis if self.basis is None else str(self.basis).lower()
        if basis not in bases:
            raise ValueError(
                f"{self.family} supports memory basis {list(bases)}, got {self.basis!r}."
            )
        object.__setattr__(self, "basis", basis)

    @property
    def key(self) -> str:
        """A short, unique, human-readable id (used in cache keys and CSV rows)."""
        return f"{self.family}:d{self.distance}:r{self.rounds}:{self.basis}"

    def with_rounds(self, rounds: int) -> CodeSpec:
        """The same code with another number of rounds."""
        return CodeSpec(self.family, self.distance, rounds=rounds, basis=self.basis)
