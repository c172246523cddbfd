"""Bosonic qubits (physics only): Lindblad models of cat qubits -> biased Pauli channels per QEC round.

`cat` (one cat: bit- and phase-flip rates), `cx` (the bias-preserving CX between two cats: its bit
flips from a two-mode simulation), `table` (solved tables), `channel` (operating point ->
`NoiseParams` of the repetition code). The circuit is the code family `qec_gym.codes.cat_repetition`;
memory experiments and the nbar sweep are in `qec_gym.sim.cat_memory`.

qutip (an optional extra: ``pip install qec-gym[bosonic]``) is imported lazily, only by the
functions that solve a model (`solve_rates`, `CatChannelTable.build`); importing this package,
the analytic laws and a cached table work without it.

Example:
    >>> from qec_gym.bosonic import CatParams, analytic_rates
    >>> gamma_x, gamma_z = analytic_rates(CatParams(6.0, 1e-3))
    >>> gamma_x < 1e-9 < gamma_z
    True
"""

from qec_gym.bosonic.cat import (
    GAMMA_X_FLOOR_DOUBLE,
    GAMMA_X_FLOOR_EXTENDED,
    MODEL_VERSION,
    CatParams,
    CatRates,
    CXErrorModel,
    FockTruncationError,
    analytic_rates,
    cat_collapse_operators,
    cat_liouvillian,
    cx_error_model,
    default_n_fock,
    flip_probability,
    precision_floor,
    solve_rates,
)
from qec_gym.bosonic.cx import CXBitFlip, CXBitFlipTable, CXParams, CXTableGrid, solve_cx_bitflip
from qec_gym.bosonic.table import (
    TABLE_FORMAT,
    CatChannelTable,
    CatTableGrid,
    TableCacheError,
    default_cache_dir,
    table_path,
)

__all__ = [
    "GAMMA_X_FLOOR_DOUBLE",
    "GAMMA_X_FLOOR_EXTENDED",
    "MODEL_VERSION",
    "TABLE_FORMAT",
    "CXBitFlip",
    "CXBitFlipTable",
    "CXErrorModel",
    "CXParams",
    "CXTableGrid",
    "CatChannelTable",
    "CatParams",
    "CatRates",
    "CatTableGrid",
    "FockTruncationError",
    "TableCacheError",
    "analytic_rates",
    "cat_collapse_operators",
    "cat_liouvillian",
    "cx_error_model",
    "default_cache_dir",
    "default_n_fock",
    "flip_probability",
    "precision_floor",
    "solve_cx_bitflip",
    "solve_rates",
    "table_path",
]
