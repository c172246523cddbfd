"""Load one project module as it was at a git revision, beside the current one (side-by-side benchmarks).

    >>> old = module_at("0082d51", "qec_gym/monitor/anomaly.py")   # doctest: +SKIP
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]


def module_at(rev: str, path: str) -> ModuleType:
    """The module in file ``path`` (relative to the repository root) at git revision ``rev``.

    Raises:
        subprocess.CalledProcessError: ``rev`` or ``path`` does not exist in this repository.
    """
    src = subprocess.run(["git", "show", f"{rev}:{path}"], cwd=ROOT, check=True, capture_output=True, text=True).stdout
    spec = importlib.util.spec_from_loader(f"{Path(path).stem}_{rev}", loader=None)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up there
    exec(compile(src, f"{rev}:{path}", "exec"), mod.__dict__)
    return mod
