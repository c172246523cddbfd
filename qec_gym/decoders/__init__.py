"""Decoders by name: one protocol (`Decoder.compile(dem) -> CompiledDecoder`) over PyMatching and ldpc.

| name | algorithm | DEM it needs | package |
|---|---|---|---|
| ``pymatching`` | minimum-weight perfect matching | graphlike (decomposed) | pymatching |
| ``pymatching-correlated`` | correlated matching (two passes) | graphlike (decomposed) | pymatching >= 2.3 |
| ``bposd`` | BP + ordered-statistics decoding | any (hyperedges fine) | ldpc (extra ``decoders``) |
| ``bplsd`` | BP + localised-statistics decoding | any | ldpc |
| ``uf`` | weighted union-find (peeling) | graphlike | ldpc |
| ``beliefmatching`` | belief-matching (BP-reweighted MWPM) | graphlike | beliefmatching (extra ``beliefmatching``) |
| ``chromobius`` | colour-code mobius decoder | colour/basis-annotated | chromobius (extra ``decoders``) |
| ``tesseract`` | A* most-likely-error search | any | tesseract-decoder (extra ``decoders``) |
| ``fusion-blossom`` | MWPM (fusion blossom, serial) | graphlike | fusion-blossom (extra ``decoders``) |

Errors with probability above 1/2 are handled exactly by every decoder (`flip_likely_errors`).

Example:
    >>> from qec_gym.decoders import get_decoder, DECODERS
    >>> sorted(DECODERS)
    ['beliefmatching', 'bplsd', 'bposd', 'chromobius', 'fusion-blossom', 'pymatching', 'pymatching-correlated', 'tesseract', 'uf']
    >>> get_decoder("pymatching-correlated").needs_graphlike
    True
"""

from __future__ import annotations

from collections.abc import Callable

from qec_gym.decoders.base import CompiledDecoder, Decoder, flip_likely_errors
from qec_gym.decoders.external import BeliefMatchingDecoder, ChromobiusDecoder, FusionBlossomDecoder, TesseractDecoder
from qec_gym.decoders.ldpc_decoders import BpLsdDecoder, BpOsdDecoder, UnionFindDecoder
from qec_gym.decoders.matching import PyMatchingDecoder

DECODERS: dict[str, Callable[..., Decoder]] = {
    "pymatching": lambda **kw: PyMatchingDecoder(correlated=False, **kw),
    "pymatching-correlated": lambda **kw: PyMatchingDecoder(correlated=True, **kw),
    "bposd": BpOsdDecoder,
    "bplsd": BpLsdDecoder,
    "uf": UnionFindDecoder,
    "beliefmatching": BeliefMatchingDecoder,
    "chromobius": ChromobiusDecoder,
    "tesseract": TesseractDecoder,
    "fusion-blossom": FusionBlossomDecoder,
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
    "BeliefMatchingDecoder",
    "ChromobiusDecoder",
    "FusionBlossomDecoder",
    "TesseractDecoder",
    "flip_likely_errors",
    "BpLsdDecoder",
    "BpOsdDecoder",
    "CompiledDecoder",
    "Decoder",
    "PyMatchingDecoder",
    "UnionFindDecoder",
    "get_decoder",
]
