"""The grid search for coupled qubit pairs (crosstalk) against the all-pairs definition."""

import math

import pytest

from qec_gym.codes import CodeSpec, template_circuit
from qec_gym.codes.noise_model import _collect_gate_pairs, _coupled_pairs


def _all_pairs(template):
    """The definition, scanned over every pair: qubits no farther apart than the longest gate."""
    coords = template.get_final_qubit_coordinates()
    gates: set[tuple[int, int]] = set()
    _collect_gate_pairs(template, gates)
    reach = max(math.dist(coords[a], coords[b]) for a, b in gates) * (1 + 1e-9)
    qs = sorted(coords)
    return [(a, b) for i, a in enumerate(qs) for b in qs[i + 1:]
            if len(coords[a]) == len(coords[b]) and math.dist(coords[a], coords[b]) <= reach]


@pytest.mark.parametrize("family,d", [("rotated_surface", 3), ("rotated_surface", 9), ("xzzx", 7),
                                      ("unrotated_surface", 5), ("repetition", 5), ("color", 7)])
def test_grid_search_finds_exactly_the_all_pairs_set_in_the_same_order(family, d):
    t = template_circuit(CodeSpec(family, d))
    expected = _all_pairs(t)
    got = _coupled_pairs(t, t.get_final_qubit_coordinates())
    assert len(expected) > 0
    # same iteration order too, so crosstalk channels (and seeded samples) are unchanged
    assert list(got) == list(frozenset(expected))


def test_rotated_surface_pair_count_closed_form():
    # Rotated layout: 2d^2 - 1 qubits on a diagonal lattice; nearest neighbours are one diagonal
    # step apart, 4 per ancilla (interior): 2(d-1)^2 bulk ancillas x 4 + 2(d-1) boundary ones x 2.
    for d in (3, 5, 11):
        t = template_circuit(CodeSpec("rotated_surface", d))
        assert len(_coupled_pairs(t, t.get_final_qubit_coordinates())) == 4 * (d - 1) ** 2 + 4 * (d - 1)

