"""Decoders by name: one protocol (`Decoder.compile(dem) -> CompiledDecoder`) over PyMatching and ldpc.

| name | algorithm | DEM it needs | package |
|---|---|---|---|
| ``pymatching`` | minimum-weight perfect matching | graphlike (decomposed) | pymatching |
| ``pymatching-correlated`` | correlated matching (two passes) | graphlike (decomposed) | pymatching >= 2.3 |
| ``bposd`` | BP + ordered-statistics decoding | any (hyperedges fine) | ldpc (extra ``decoders``) |
| ``bplsd`` | BP + localised-statistics decoding | any | ldpc |
| ``uf`` | weighted union-find (peeling) | graphlike | ldpc |

Example:
    >>> from qec_gym.decoders import get_decoder, DECODERS
    >>> sorted(DECODERS)
    ['bplsd', 'bposd', 'pymatching', 'pymatching-correlated', 'uf']
    >>> get_decoder("pymatching-correlated").needs_graphlike
    True
"""

from __future__ import annotations

from collections.abc import Callable

from qec_gym.decoders.base import CompiledDecoder, Decoder
from qec_gym.decoders.ldpc_decoders import BpLsdDecoder, BpOsdDecoder, UnionFindDecoder
from qec_gym.decoders.matching import PyMatchingDecoder

DECODERS: dict[str, Callable[..., Decoder]] = {
    "pymatching": lambda **kw: PyMatchingDecoder(correlated=False, **kw),
    "pymatching-correlated": lambda **kw: PyMatchingDecoder(correlated=True, **kw),
    "bposd": BpOsdDecoder,
    "bplsd": BpLsdDecoder,
    "uf": UnionFindDecoder,
}
"""Decoder name -> factory taking the decoder's keyword options."""


def get_decoder(name: str | Decoder, **options) -> Decoder:
    """The decoder called ``name`` with ``options`` (a `Decoder` instance is returned as is).

    Raises:
        ValueError: unknown name, or options the decoder does not take.
    """
    if isinstance(name, Decoder):
        return name
    if name not in DECODERS:
        raise ValueError(f"unknown decoder {name!r}; choose one of {sorted(DECODERS)}.")
    try:
        return DECODERS[name](**options)
    except TypeError as e:
        raise ValueError(f"bad options {sorted(options)} for decoder {name!r}: {e}") from None


__all__ = [
    "DECODERS",
    "BpLsdDecoder",
    "BpOsdDecoder",
    "CompiledDecoder",
    "Decoder",
    "PyMatchingDecoder",
    "UnionFindDecoder",
    "get_decoder",
]
