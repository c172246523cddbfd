"""What recalibrating is worth in a DecoderCalibration env, on TRAINING scenarios with validation seeds.

Runs, on the same episodes (reset seeds 10,000 + k, the protocol's validation seeds of training seed 0):
never recalibrating on each decoder (``fixed<e>``), recalibrating every K windows, recalibrating when
the priors' multiplier and the K-window estimate differ by more than a threshold (read from the env's
state, so it works on v2 too), the myopic oracle and the clairvoyant plan. Prints each one's mean
return, its paired difference to never recalibrating on pymatching with a 95% t interval, and its
recalibrations per episode.

    nice -n 10 python scripts/calibration_gain.py qec_gym/DecoderCalibration-v3 8
"""

from __future__ import annotations

import math
import sys

import gymnasium as gym
import numpy as np
from scipy import stats

import qec_gym  # noqa: F401


def main(env_id: str = "qec_gym/DecoderCalibration-v3", episodes: int = 8) -> None:
    env = gym.make(env_id, scenarios="train")
    u = env.unwrapped

    def keep_on(entry, recal):
        return lambda info, t: (2 + entry) if u.entry != entry else (1 if recal(t) else 0)

    def mismatch(thr):
        return lambda t: abs(math.log10(u._recalibration_estimate()) - math.log10(u.m_assumed)) > thr

    policies = {"oracle": lambda info, t: info.get("oracle_action", 0), "clairvoyant": None}
    for e in (0, 1):
        policies[f"fixed{e}"] = keep_on(e, lambda t: False)
        for k in (20, 40):
            policies[f"periodic{k}@{e}"] = keep_on(e, lambda t, k=k: t % k == k - 1)
        for thr in (0.2, 0.3, 0.5):
            policies[f"mismatch{thr}@{e}"] = keep_on(e, mismatch(thr))
    results = {}
    for name, policy in policies.items():
        rows = []
        for k in range(episodes):
            _, info = env.reset(seed=10_000 + k)
            plan = u.clairvoyant_plan()[0] if policy is None else None
            total, recals, t = 0.0, 0, 0
            while True:
                a = plan[t] if plan is not None else policy(info, t)
                _, r, terminated, truncated, info = env.step(a)
                total, recals, t = total + r, recals + (a == 1), t + 1
                if terminated or truncated:
                    break
            rows.append((total, recals))
        results[name] = np.array(rows)
    base = results["fixed0"][:, 0]
    for name, r in results.items():
        d = r[:, 0] - base
        h = stats.t.ppf(0.975, len(d) - 1) * d.std(ddof=1) / math.sqrt(len(d))
        print(f"{name:15s} return {r[:, 0].mean():8.2f}  vs fixed0 {d.mean():+6.2f} [{d.mean() - h:+.2f}, "
              f"{d.mean() + h:+.2f}]  recalibrations {r[:, 1].mean():.1f}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "qec_gym/DecoderCalibration-v3", int(sys.argv[2]) if len(sys.argv) > 2 else 8)
