"""Training: rl-zoo-style hyperparameters, SB3 / sb3-contrib models, ``qec/`` tensorboard
scalars, periodic validation with regret to the clairvoyant oracle, resumable run folders."""

from qec_gym.training.config import ALGOS, TrainConfig, load_hyperparams, read_user_config, resolve_config
from qec_gym.training.policy import TrainedPolicy, load_run, run_episode
from qec_gym.training.train import TrainingInterrupted, latest_checkpoint, train

__all__ = [
    "ALGOS",
    "TrainConfig",
    "TrainedPolicy",
    "TrainingInterrupted",
    "latest_checkpoint",
    "load_hyperparams",
    "load_run",
    "read_user_config",
    "resolve_config",
    "run_episode",
    "train",
]
