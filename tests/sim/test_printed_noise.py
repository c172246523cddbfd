"""The noise a command prints is the noise it simulates (issue 10 item 6)."""

from __future__ import annotations

import json

import numpy as np

from qec_gym.cli import main
from qec_gym.codes import CodeSpec, build_circuit
from qec_gym.noise import NoiseParams
from qec_gym.sim import SimulationCache, simulate_window


def test_simulate_window_default_simulates_the_given_noise_exactly():
    cache = SimulationCache()
    spec, noise = CodeSpec("rotated_surface", 3), NoiseParams.uniform(3e-3)
    simulate_window(spec, noise, shots=10, rng=np.random.default_rng(0), cache=cache)
    (key,) = [k for kind, k in cache.keys() if kind == "circuit"]  # the one circuit it sampled
    assert key == (spec, noise) and key[1].p2 == 0.003
    assert str(cache.circuit(spec, noise)) == str(build_circuit(spec, noise))
    assert noise.quantized(64).p2 == 0.00305053  # what it used to simulate (+1.7%, the 0.00305)


def test_cli_simulate_prints_what_it_simulates(capsys, monkeypatch):
    import qec_gym.sim

    seen = []
    real = qec_gym.sim.simulate_window

    def spy(spec, noise, **kwargs):  # every batch the command samples
        seen.append((noise, kwargs.get("bins_per_decade", "default")))
        return real(spec, noise, **kwargs)

    monkeypatch.setattr(qec_gym.sim, "simulate_window", spy)
    assert main(["simulate", "-p", "3e-3", "-d", "5", "--shots", "20000", "--seed", "3", "--json", "--no-progress"]) == 0
    row = json.loads(capsys.readouterr().out)
    assert row["p"] == 0.003 and row["shots"] == 20000
    # every batch ran at exactly the printed noise, unquantised (0.00305 before the fix)
    assert seen and all(n == NoiseParams.uniform(3e-3) and b == "default" for n, b in seen)
    assert all(n.p2 == 0.003 for n, _ in seen)
