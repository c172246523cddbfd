"""Write the shipped ingest example (qec_gym/monitor/data): a rotated surface d=3 memory circuit
(3 rounds, stim-uniform p=3e-3) and 2,000 shots of its detection events with the observable
appended, sampled by stim's own detector sampler (seed 2026) in the b8 and 01 formats.

    python scripts/make_ingest_example.py
"""

from pathlib import Path

import stim

OUT = Path(__file__).resolve().parents[1] / "qec_gym" / "monitor" / "data"


def main() -> None:
    c = stim.Circuit.generated("surface_code:rotated_memory_z", distance=3, rounds=3,
                               after_clifford_depolarization=3e-3, after_reset_flip_probability=3e-3,
                               before_measure_flip_probability=3e-3, before_round_data_depolarization=3e-3)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "example_d3.stim").write_text(str(c) + "\n")
    for fmt in ("b8", "01"):
        c.compile_detector_sampler(seed=2026).sample_write(
            2000, filepath=str(OUT / f"example_d3.{fmt}"), format=fmt, append_observables=True)


if __name__ == "__main__":
    main()
