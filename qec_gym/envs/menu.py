"""The menu of configurations an agent can switch between.

Example:
    >>> from qec_gym.envs.menu import MenuEntry
    >>> e = MenuEntry("rotated_surface", 5, "pymatching-correlated")
    >>> e.label, [s.basis for s in e.specs()]
    ('rotated_surface d5 pymatching-correlated', ['x'])
    >>> [s.basis for s in MenuEntry("xzzx", 3, bases=("x", "z")).specs()]
    ['x', 'z']
"""

from __future__ import annotations

from dataclasses import dataclass

from qec_gym.codes import CodeSpec, resources
from qec_gym.decoders import DECODERS


@dataclass(frozen=True)
class MenuEntry:
    """One runnable configuration: a code family and distance, a decoder, the memory bases.

    Args:
        family: Code family (see `qec_gym.codes.FAMILIES`).
        distance: Code distance.
        decoder: Decoder name (see `qec_gym.decoders.DECODERS`).
        bases: Memory bases whose logical failures count; ``None`` uses the family's default
            basis. Under biased noise count both (``("x", "z")``): one basis only sees one
            error type.

    Raises:
        ValueError: invalid code, distance, basis or unknown decoder.
    """

    family: str
    distance: int
    decoder: str = "pymatching"
    bases: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if self.decoder not in DECODERS:
            raise ValueError(f"menu entry {self}: unknown decoder {self.decoder!r}; choose from {sorted(DECODERS)}.")
        if self.bases is not None:
            object.__setattr__(self, "bases", tuple(self.bases))
            if not self.bases:
                raise ValueError(f"menu entry {self.family} d{self.distance}: bases must not be empty.")
        self.specs()  # validates family, distance and bases

    def specs(self) -> tuple[CodeSpec, ...]:
        """One `CodeSpec` per counted basis (rounds = distance)."""
        if self.bases is None:
            return (CodeSpec(self.family, self.distance),)
        return tuple(CodeSpec(self.family, self.distance, basis=b) for b in self.bases)

    @property
    def label(self) -> str:
        """Human-readable name, used in tables and plots."""
        extra = "" if self.bases is None else " " + "+".join(self.bases)
        return f"{self.family} d{self.distance} {self.decoder}{extra}"

    @property
    def qubits(self) -> int:
        """Physical qubits (or modes) in use."""
        return resources(self.specs()[0]).qubits

    @property
    def round_duration_ns(self) -> float:
        """Duration of one QEC round."""
        return resources(self.specs()[0]).round_duration_ns
