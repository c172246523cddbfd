"""qec-gym: simulate, learn and evaluate adaptive quantum error correction under drifting noise.

Importing the package registers its Gymnasium environments (ids ``qec_gym/...``, listed in
`qec_gym.envs`), so ``gymnasium.make("qec_gym/SurfaceSwitch-v1")`` works after ``import qec_gym``.
"""

from qec_gym import envs as envs  # noqa: F401  (registers the environments)

__version__ = "0.1.0"
