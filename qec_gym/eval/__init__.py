"""Evaluation: the paired harness, statistics with confidence intervals, reports and plots."""

from qec_gym.eval.harness import EvalConfig, evaluate, make_policy
from qec_gym.eval.stats import Interval, by_scenario, mean_ci, paired_difference, summarize

__all__ = ["EvalConfig", "Interval", "by_scenario", "evaluate", "make_policy", "mean_ci", "paired_difference", "summarize"]
