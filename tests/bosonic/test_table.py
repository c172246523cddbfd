"""Tabulated cat channel: cache integrity, resume, interpolation accuracy (qec_gym.bosonic.table)."""

import logging
import math
import shutil
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("qutip")

import qec_gym.bosonic.table as table_mod  # noqa: E402
from qec_gym.bosonic import (  # noqa: E402
    CatChannelTable,
    CatParams,
    CatTableGrid,
    TableCacheError,
    default_cache_dir,
    solve_rates,
    table_path,
)

GRID = CatTableGrid(
    (3.0, 3.5, 4.0, 4.5, 5.0, 5.5, 6.0),
    (1e-3, 3e-3, 1e-2),
    kappaphi_over_kappa2=(0.0, 1e-3),
)
TINY = CatTableGrid((2.0, 2.5), (1e-3, 1e-2))


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("bosonic_cache")


@pytest.fixture(scope="module")
def table(cache_dir):
    return CatChannelTable.build(GRID, cache_dir=cache_dir)


def _no_solving(monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("the table should have come from the cache")

    monkeypatch.setattr(table_mod, "solve_rates", fail)


# --------------------------------------------------------------------------------- accuracy
def test_interpolation_matches_direct_solve_off_grid(table):
    rng = np.random.default_rng(12345)
    for _ in range(10):
        nbar = rng.uniform(3.0, 6.0)
        k1 = 10 ** rng.uniform(-3.0, -2.0)
        kphi = float(rng.choice([0.0, rng.uniform(0.0, 1e-3)]))
        gx, gz = table.rates(nbar, k1, kappaphi_over_kappa2=kphi)
        direct = solve_rates(CatParams(nbar, k1, kappaphi_over_kappa2=kphi))
        assert gx == pytest.approx(direct.gamma_x, rel=0.05), (nbar, k1, kphi)
        assert gz == pytest.approx(direct.gamma_z, rel=0.05), (nbar, k1, kphi)
        p_x, p_z = table.probabilities(nbar, k1, kappaphi_over_kappa2=kphi, t_round=5.0)
        q_x, q_z = direct.probabilities(5.0)
        assert p_x == pytest.approx(q_x, rel=0.05) and p_z == pytest.approx(q_z, rel=0.05)


def test_grid_points_are_reproduced_exactly(table):
    for i, j, k in [(0, 0, 0), (3, 1, 1), (6, 2, 0)]:
        params = GRID.params_at((i, j, k))
        gx, gz = table.rates(
            params.nbar, params.kappa1_over_kappa2, kappaphi_over_kappa2=params.kappaphi_over_kappa2
        )
        assert gx == pytest.approx(table.gamma_x[i, j, k], rel=1e-12)
        assert gz == pytest.approx(table.gamma_z[i, j, k], rel=1e-12)


def test_batch_matches_scalar(table):
    rng = np.random.default_rng(7)
    nbar = rng.uniform(3.0, 6.0, 50)
    k1 = 10 ** rng.uniform(-3.0, -2.0, 50)
    kphi = rng.uniform(0.0, 1e-3, 50)
    gx, gz = table.rates_batch(nbar, k1, kappaphi_over_kappa2=kphi)
    px, pz = table.probabilities_batch(nbar, k1, kappaphi_over_kappa2=kphi, t_round=5.0)
    for n in range(50):
        sx, sz = table.rates(nbar[n], k1[n], kappaphi_over_kappa2=kphi[n])
        assert gx[n] == pytest.approx(sx, rel=1e-12) and gz[n] == pytest.approx(sz, rel=1e-12)
        qx, qz = table.probabilities(nbar[n], k1[n], kappaphi_over_kappa2=kphi[n], t_round=5.0)
        assert px[n] == pytest.approx(qx, rel=1e-12) and pz[n] == pytest.approx(qz, rel=1e-12)
    gx2, _ = table.rates_batch(np.full((2, 3), 4.2), 2e-3)
    assert gx2.shape == (2, 3)


def test_probabilities_follow_the_rate_formula(table):
    gx, gz = table.rates(4.2, 5e-3)
    for t in (0.0, 1.0, 5.0, 1e4):
        p_x, p_z = table.probabilities(4.2, 5e-3, t_round=t)
        assert p_x == pytest.approx(-0.5 * math.expm1(-2 * gx * t), rel=1e-12, abs=1e-300)
        assert p_z == pytest.approx(-0.5 * math.expm1(-2 * gz * t), rel=1e-12, abs=1e-300)
    with pytest.raises(ValueError, match="t_round"):
        table.probabilities(4.2, 5e-3, t_round=-1.0)


# -------------------------------------------------------------------------------- grid edges
@pytest.mark.parametrize(
    "nbar, k1, kphi, match",
    [
        (2.9, 2e-3, 0.0, "nbar"),
        (6.01, 2e-3, 0.0, "nbar"),
        (4.0, 9e-4, 0.0, "kappa1_over_kappa2"),
        (4.0, 2e-2, 0.0, "kappa1_over_kappa2"),
        (4.0, 2e-3, 2e-3, "kappaphi_over_kappa2"),
        (4.0, 2e-3, -1e-4, "kappaphi_over_kappa2"),
        (math.nan, 2e-3, 0.0, "nbar"),
        (4.0, 0.0, 0.0, "kappa1_over_kappa2"),
    ],
)
def test_out_of_grid_raises(table, nbar, k1, kphi, match):
    with pytest.raises(ValueError, match=match):
        table.rates(nbar, k1, kappaphi_over_kappa2=kphi)
    with pytest.raises(ValueError, match=match):
        table.rates_batch([4.0, nbar], [2e-3, k1], kappaphi_over_kappa2=[0.0, kphi])
    with pytest.raises(ValueError, match=match):
        table.probabilities(nbar, k1, kappaphi_over_kappa2=kphi, t_round=1.0)


def test_grid_edges_are_inside(table):
    table.rates(3.0, 1e-3)
    table.rates(6.0, 1e-2, kappaphi_over_kappa2=1e-3)


def test_single_dephasing_value_is_fixed(cache_dir):
    t = CatChannelTable.build(TINY, cache_dir=cache_dir)
    assert t.rates(2.2, 3e-3)[0] > 0
    assert t.rates_batch([2.2], [3e-3])[0].shape == (1,)
    with pytest.raises(ValueError, match="kappaphi_over_kappa2"):
        t.rates(2.2, 3e-3, kappaphi_over_kappa2=1e-4)


def test_grid_validation():
    with pytest.raises(ValueError, match="strictly increasing"):
        CatTableGrid((3.0, 3.0), (1e-3, 1e-2))
    with pytest.raises(ValueError, match="nbar"):
        CatTableGrid((3.0,), (1e-3, 1e-2))
    with pytest.raises(ValueError, match="nbar"):
        CatTableGrid((0.0, 1.0), (1e-3, 1e-2))
    with pytest.raises(ValueError, match="kappa1_over_kappa2"):
        CatTableGrid((1.0, 2.0), (0.0, 1e-2))
    with pytest.raises(ValueError, match="kappaphi_over_kappa2"):
        CatTableGrid((1.0, 2.0), (1e-3, 1e-2), kappaphi_over_kappa2=(-1e-3, 0.0))
    with pytest.raises(ValueError, match="n_th"):
        CatTableGrid((1.0, 2.0), (1e-3, 1e-2), n_th=-1.0)
    assert CatTableGrid([1, 2], np.array([1e-3, 1e-2])) == CatTableGrid((1.0, 2.0), (1e-3, 1e-2))


def test_key_covers_grid_and_model_version(monkeypatch):
    base = TINY.key()
    assert CatTableGrid((2.0, 2.5), (1e-3, 1e-2), n_th=0.01).key() != base
    assert CatTableGrid((2.0, 2.6), (1e-3, 1e-2)).key() != base
    monkeypatch.setattr(table_mod, "MODEL_VERSION", "something-else")
    assert TINY.key() != base


# --------------------------------------------------------------------------------- the cache
def test_cache_is_reused(cache_dir, table, monkeypatch):
    _no_solving(monkeypatch)
    again = CatChannelTable.build(GRID, cache_dir=cache_dir)
    loaded = CatChannelTable.load(GRID, cache_dir=cache_dir)
    np.testing.assert_array_equal(again.gamma_x, table.gamma_x)
    np.testing.assert_array_equal(loaded.gamma_z, table.gamma_z)


def test_cache_dir_from_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("QEC_GYM_CACHE", str(tmp_path))
    assert default_cache_dir() == tmp_path / "bosonic"
    assert table_path(TINY).parent == tmp_path / "bosonic"
    monkeypatch.delenv("QEC_GYM_CACHE")
    assert default_cache_dir().parts[-3:] == (".cache", "qec_gym", "bosonic")


def test_load_without_file_raises(tmp_path):
    with pytest.raises(FileNotFoundError, match="build"):
        CatChannelTable.load(TINY, cache_dir=tmp_path)


@pytest.fixture
def tiny_cache(tmp_path):
    t = CatChannelTable.build(TINY, cache_dir=tmp_path)
    return tmp_path, table_path(TINY, cache_dir=tmp_path), t


@pytest.mark.parametrize("damage", ["flip_bytes", "truncate", "garbage"])
def test_corrupt_file_is_detected(tiny_cache, damage, caplog):
    folder, path, original = tiny_cache
    raw = bytearray(path.read_bytes())
    if damage == "flip_bytes":
        # Flip bytes inside the stored gamma_x array data.
        pos = raw.find(np.asarray(original.gamma_x).tobytes())
        assert pos > 0
        raw[pos + 3] ^= 0xFF
    elif damage == "truncate":
        raw = raw[: len(raw) // 2]
    else:
        raw = bytearray(b"not an npz at all")
    path.write_bytes(bytes(raw))
    with pytest.raises(TableCacheError, match="corrupt|unreadable"):
        CatChannelTable.load(TINY, cache_dir=folder)
    with pytest.raises(TableCacheError, match="on_invalid='rebuild'"):
        CatChannelTable.build(TINY, cache_dir=folder, on_invalid="raise")
    with caplog.at_level(logging.WARNING, logger="qec_gym.bosonic.table"):
        rebuilt = CatChannelTable.build(TINY, cache_dir=folder)
    assert "rebuilding" in caplog.text
    np.testing.assert_allclose(rebuilt.gamma_x, original.gamma_x, rtol=1e-9)
    CatChannelTable.load(TINY, cache_dir=folder)  # the file is valid again


def test_tampered_values_fail_the_checksum(tiny_cache):
    folder, path, _ = tiny_cache
    with np.load(path) as data:
        contents = {name: np.array(data[name]) for name in data.files}
    contents["gamma_x"] = contents["gamma_x"] * 2.0
    with open(path, "wb") as fh:
        np.savez(fh, **contents)
    with pytest.raises(TableCacheError, match="checksum"):
        CatChannelTable.load(TINY, cache_dir=folder)


def test_mismatched_grid_file_is_not_used(tiny_cache, monkeypatch):
    folder, path, _ = tiny_cache
    other = CatTableGrid((2.0, 2.5), (1e-3, 2e-2))
    shutil.copy(path, table_path(other, cache_dir=folder))  # valid file, wrong grid
    with pytest.raises(TableCacheError, match="another grid"):
        CatChannelTable.load(other, cache_dir=folder)
    with pytest.raises(TableCacheError, match="another grid"):
        CatChannelTable.build(other, cache_dir=folder, on_invalid="raise")
    rebuilt = CatChannelTable.build(other, cache_dir=folder)
    assert rebuilt.grid == other
    direct = solve_rates(CatParams(2.5, 2e-2))
    assert rebuilt.gamma_x[1, 1, 0] == pytest.approx(direct.gamma_x, rel=1e-9)


def test_other_model_version_file_is_not_used(tiny_cache, monkeypatch):
    folder, path, _ = tiny_cache
    monkeypatch.setattr(table_mod, "MODEL_VERSION", "cat-lindblad-next")
    # Same file name forced: a stale file from an older model version must be refused.
    monkeypatch.setattr(table_mod, "table_path", lambda grid, cache_dir=None: path)
    with pytest.raises(TableCacheError, match="another grid or model version"):
        CatChannelTable.load(TINY, cache_dir=folder)


class _Stop(Exception):
    pass


def test_build_resumes_after_interruption(tmp_path):
    grid = CatTableGrid((2.0, 2.5, 3.0), (1e-3, 1e-2))
    seen = []

    def stop_after_two(done, total):
        seen.append((done, total))
        if done == 2:
            raise _Stop

    with pytest.raises(_Stop):
        CatChannelTable.build(grid, cache_dir=tmp_path, progress=stop_after_two)
    with pytest.raises(TableCacheError, match="incomplete"):
        CatChannelTable.load(grid, cache_dir=tmp_path)
    resumed = []
    table = CatChannelTable.build(grid, cache_dir=tmp_path, progress=lambda d, t: resumed.append(d))
    assert resumed == [3, 4, 5, 6]  # only the 4 missing points were solved
    fresh = CatChannelTable.build(grid, cache_dir=tmp_path / "fresh")
    np.testing.assert_array_equal(table.gamma_x, fresh.gamma_x)


def test_parallel_build_matches_serial(tmp_path):
    serial = CatChannelTable.build(TINY, cache_dir=tmp_path / "a")
    parallel = CatChannelTable.build(TINY, cache_dir=tmp_path / "b", workers=2)
    np.testing.assert_allclose(parallel.gamma_x, serial.gamma_x, rtol=1e-12)
    np.testing.assert_allclose(parallel.gamma_z, serial.gamma_z, rtol=1e-12)


def test_build_argument_validation(tmp_path):
    with pytest.raises(ValueError, match="on_invalid"):
        CatChannelTable.build(TINY, cache_dir=tmp_path, on_invalid="ignore")
    with pytest.raises(ValueError, match="workers"):
        CatChannelTable.build(TINY, cache_dir=tmp_path, workers=0)


def test_floor_is_respected(tmp_path):
    grid = CatTableGrid((9.5, 10.0), (1e-4, 2e-4))
    t = CatChannelTable.build(grid, cache_dir=tmp_path)
    assert t.below_floor[1, 0, 0]
    assert t.rates(9.9, 1.1e-4)[0] >= t.precision_floor
    assert np.all(t.rates_batch([9.6, 9.9], 1.5e-4)[0] >= t.precision_floor)


def test_table_loads_and_interpolates_without_qutip(tiny_cache):
    folder, _, original = tiny_cache
    code = (
        "import sys; sys.modules['qutip'] = None\n"
        "from qec_gym.bosonic import CatChannelTable, CatTableGrid\n"
        f"t = CatChannelTable.load(CatTableGrid((2.0, 2.5), (1e-3, 1e-2)), cache_dir={str(folder)!r})\n"
        "print(repr(t.rates(2.0, 1e-3)[0]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert float(out) == pytest.approx(original.gamma_x[0, 0, 0], rel=1e-12)


def test_grid_refuses_loss_beyond_the_cat_regime():
    with pytest.raises(ValueError, match="<= 0.1"):
        CatTableGrid((1.0, 2.0), (1e-3, 0.3))
