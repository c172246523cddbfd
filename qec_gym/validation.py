"""Type and range checks of user-given numbers, shared by the CLI and the config loaders.

A `Range` parses one value (a number, or a string as typed on a command line or read by YAML)
and says what it expected when the value does not fit. Integers accept integral floats and
scientific notation (``"1e4"`` -> 10000): PyYAML reads ``1e4`` as a *string* (YAML 1.1 wants
``1.0e4``) and users type it on command lines. NaN and infinities are never accepted.

Example:
    >>> Range("int", 1).parse("1e4")
    10000
    >>> Range("float", 0.0, 1.0).parse(1.5)
    Traceback (most recent call last):
    ...
    ValueError: must be a number in [0, 1], got 1.5
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Range:
    """A finite int or float in ``[low, high]`` (either bound optional, ``low`` optionally open).

    Args:
        kind: ``"int"`` or ``"float"``.
        low: Smallest accepted value (None: unbounded).
        high: Largest accepted value (None: unbounded).
        low_open: Exclude ``low`` itself (``> low``).
    """

    kind: str
    low: float | None = None
    high: float | None = None
    low_open: bool = False

    def __post_init__(self) -> None:
        if self.kind not in ("int", "float"):
            raise ValueError(f"Range kind must be 'int' or 'float', got {self.kind!r}.")

    def describe(self) -> str:
        """What the range accepts, e.g. ``"an integer >= 1"`` or ``"a number in (0, 1]"``."""
        noun = "an integer" if self.kind == "int" else "a number"
        fmt = (lambda v: str(int(v))) if self.kind == "int" else (lambda v: f"{v:g}")
        if self.low is not None and self.high is not None:
            return f"{noun} in {'(' if self.low_open else '['}{fmt(self.low)}, {fmt(self.high)}]"
        if self.low is not None:
            return f"{noun} {'>' if self.low_open else '>='} {fmt(self.low)}"
        if self.high is not None:
            return f"{noun} <= {fmt(self.high)}"
        return noun

    def parse(self, value: Any) -> int | float:
        """``value`` as an int/float inside the range.

        Raises:
            ValueError: ``"must be <describe()>, got <value>"`` for anything else (bools,
                non-numeric strings, NaN, infinities, non-integral values of an int range,
                values out of range).
        """
        if isinstance(value, bool):
            raise ValueError(f"must be {self.describe()}, got {value!r}")
        try:
            x = float(value.strip()) if isinstance(value, str) else float(value)
        except (TypeError, ValueError, OverflowError):
            raise ValueError(f"must be {self.describe()}, got {value!r}") from None
        if not math.isfinite(x) or (self.kind == "int" and x != int(x)):
            raise ValueError(f"must be {self.describe()}, got {value!r}")
        if self.kind == "int":
            # exact for plain integer strings beyond float precision
            x = int(value) if isinstance(value, int) else int(x)
        too_low = self.low is not None and (x <= self.low if self.low_open else x < self.low)
        if too_low or (self.high is not None and x > self.high):
            raise ValueError(f"must be {self.describe()}, got {value!r}")
        return x


def check_env_id(env_id: Any) -> str:
    """``env_id`` if gymnasium knows it, else a ValueError listing the registered qec_gym ids.

    gymnasium's own ``NameNotFound`` / ``VersionNotFound`` come as tracebacks that suggest
    ids from other packages; this names ours.

    Example:
        >>> check_env_id("qec_gym/NoSuchEnv-v0")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: unknown env id 'qec_gym/NoSuchEnv-v0'; registered qec_gym ids: [...]. ...
        >>> check_env_id("CatSwitch-v4")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: unknown env id 'CatSwitch-v4'; ... Did you mean 'qec_gym/CatSwitch-v4'? ...
    """
    import gymnasium as gym

    import qec_gym  # noqa: F401  (registers the ids)

    if not isinstance(env_id, str) or env_id not in gym.registry:
        import difflib

        ids = sorted(i for i in gym.registry if i.startswith("qec_gym/"))
        guess = difflib.get_close_matches(f"qec_gym/{env_id}" if isinstance(env_id, str) and "/" not in env_id
                                          else str(env_id), ids, n=1)
        hint = f"Did you mean {guess[0]!r}? " if guess else ""
        raise ValueError(f"unknown env id {env_id!r}; registered qec_gym ids: {ids}. {hint}"
                         "Pass one of them (or register your env with gymnasium first).")
    return env_id
