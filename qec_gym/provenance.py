"""Where a result came from: the git revision of the qec_gym checkout that produced it.

Example:
    >>> rev = git_revision()
    >>> rev is None or len(rev) == 40
    True
"""

from __future__ import annotations

import subprocess
from pathlib import Path


def git_revision() -> str | None:
    """The commit of the checkout holding this package (not of the working directory), or None when it
    is not a git checkout or git is missing (e.g. an installed wheel)."""
    try:
        done = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True,
                              cwd=Path(__file__).parent, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() or None
