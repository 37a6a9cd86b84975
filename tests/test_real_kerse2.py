"""The measured KErSe2 data as er-d3d observables (ligandml.real_data); skips without ../shared."""
import numpy as np
import pytest

import ligandml
from ligandml.dataset.config import er_d3d_observables
from ligandml.real_data import (KERSE2_DOUBLETS_MEV, KERSE2_K, KERSE2_MEV, d3d_twin, load_kerse2,
                                local_log_fit, real_data_dir)


@pytest.fixture
def folder(real_data):
    """../shared/data/real beside the repository (conftest; skips when absent): found from the
    tests' location, so it also runs against an installed, non-editable package as in CI."""
    return real_data


def test_published_set_in_kelvin_gives_the_published_doublets():
    e = ligandml.CrystalField("Er3+", KERSE2_K).energies("meV")[::2]
    np.testing.assert_allclose(e - e[0], KERSE2_DOUBLETS_MEV, atol=0.002)
    assert KERSE2_K["B20"] == pytest.approx(KERSE2_MEV["B20"] * 11.604518, rel=1e-6)
    # the D3d twin has the same levels
    e2 = ligandml.CrystalField("Er3+", d3d_twin(KERSE2_K)).energies("meV")[::2]
    np.testing.assert_allclose(e2, e, atol=1e-9)


def test_missing_folder_is_none(monkeypatch, tmp_path):
    monkeypatch.setenv("LIGANDML_REAL_DATA", str(tmp_path / "absent"))
    assert real_data_dir() is None
    with pytest.raises(FileNotFoundError, match="LIGANDML_REAL_DATA"):
        load_kerse2("crystal")


def test_local_log_fit_is_exact_on_a_line_in_log_T():
    T = np.geomspace(1.5, 400, 700)
    y = 2.0 - 0.3 * np.log(T)
    grid = np.geomspace(2, 300, 64)
    np.testing.assert_allclose(local_log_fit(T, y, grid), 2.0 - 0.3 * np.log(grid), atol=1e-12)


def test_crystal_set_has_the_er_d3d_names_grids_and_units(folder):
    specs, observed = load_kerse2("crystal", folder)
    assert [s["name"] for s in specs] == [s["name"] for s in er_d3d_observables("crystal")]
    for spec in specs:
        assert observed[spec["name"]].shape == (len(spec["grid"]),)
    # chi in emu/mol Er (Curie 11.48 emu K/mol at 300 K), M in muB/Er (below gJ J = 9)
    chiT = observed["chi_plane_1T"][-1] * specs[1]["grid"][-1]
    assert 10.5 < chiT < 12.5
    assert 6.5 < observed["M_plane_2K"][-1] < 9.0
    # KErSe2 is easy-plane: at 2 K the ab response exceeds the c one
    assert observed["chi_plane_1T"][0] > 2 * observed["chi_z_1T"][0]


def test_magnetization_matches_the_raw_file_at_measured_fields(folder):
    rows = np.loadtxt(folder / "KErSe2_M_H_2K.txt")
    _, observed = load_kerse2("crystal", folder)
    grid = er_d3d_observables("crystal")[2]["grid"]
    for name, (b, m) in (("M_plane_2K", (0, 1)), ("M_z_2K", (2, 3))):
        for B_meas, M_meas in zip(rows[b], rows[m]):
            hit = np.isclose(grid, B_meas)
            if hit.any():
                assert observed[name][hit][0] == pytest.approx(M_meas, rel=1e-12)


def test_powder_chi_agrees_with_the_published_set_within_the_known_miss(folder):
    specs, observed = load_kerse2("powder-chi", folder)
    T = np.asarray(specs[0]["grid"])
    model = ligandml.powder_susceptibility("Er3+", KERSE2_K, T, field=1.0)[0]
    assert np.abs(model / observed["chi_powder_1T"] - 1).max() < 0.07  # as the raw-data test


def test_powder_set_needs_an_explicit_stand_in(folder):
    with pytest.raises(ValueError, match="no powder M"):
        load_kerse2("powder", folder)
    specs, observed = load_kerse2("powder", folder, powder_magnetization="axes-average")
    _, crystal = load_kerse2("crystal", folder)
    np.testing.assert_allclose(observed["M_powder_2K"],
                               (2 * crystal["M_plane_2K"] + crystal["M_z_2K"]) / 3)
