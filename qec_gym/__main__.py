"""``python -m qec_gym``: the ``qec-gym`` command."""

import sys

from qec_gym.cli import main

sys.exit(main())
