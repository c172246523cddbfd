"""qec-gym: simulate, learn and evaluate adaptive quantum error correction under drifting noise.

Importing the package registers its Gymnasium environments (ids ``qec_gym/...``).
"""

__version__ = "0.1.0"
