"""The experimental error model, the D, E helpers, and refusals of bad input."""
import numpy as np
import pytest

import ligandml

T = np.geomspace(2, 300, 16)


def test_error_model_in_chi_and_chiT_form():
    chi = ligandml.powder_susceptibility("Er3+", {"D": [-6.0, 3.0], "E": [0.5, 1.0]}, T)
    chi_dia, s_m = np.array([0.002, -0.001]), np.array([1.0, 1.05])
    obs = ligandml.apply_experimental_errors(chi, T, chi_dia=chi_dia, s_m=s_m)
    np.testing.assert_allclose(obs, s_m[:, None] * chi + chi_dia[:, None], rtol=1e-15)
    obs_chiT = ligandml.apply_experimental_errors(chi * T, T, chi_dia=chi_dia, s_m=s_m, quantity="chiT")
    np.testing.assert_allclose(obs_chiT, obs * T, rtol=1e-13)
    # at 300 K a chi_dia of 0.002 emu/mol shifts chiT by 0.6 emu K/mol, 5% of Er's 11.48
    assert obs_chiT[0, -1] - chi[0, -1] * 300 == pytest.approx(0.6, rel=1e-12)
    # scalar errors broadcast over a batch; the defaults leave curves untouched
    np.testing.assert_array_equal(ligandml.apply_experimental_errors(chi, T), chi)
    assert ligandml.apply_experimental_errors(chi, T, chi_dia=0.001).shape == chi.shape


def test_error_model_refusals():
    chi = np.ones((2, T.size))
    with pytest.raises(ValueError, match="temperatures"):
        ligandml.apply_experimental_errors(chi[:, :3], T)
    with pytest.raises(ValueError, match="s_m"):
        ligandml.apply_experimental_errors(chi, T, s_m=0.0)
    with pytest.raises(ValueError, match="chi_dia"):
        ligandml.apply_experimental_errors(chi, T, chi_dia=np.nan)
    with pytest.raises(ValueError, match="quantity"):
        ligandml.apply_experimental_errors(chi, T, quantity="M")


def test_equivalents_and_canonical_form():
    eq = ligandml.equivalent_DE(-6.0, 0.5)
    assert eq.shape == (6, 2)
    np.testing.assert_allclose(eq[2:], [[3.75, -2.75], [3.75, 2.75], [2.25, -3.25], [2.25, 3.25]])
    for D, E in eq:
        assert ligandml.canonical_DE(D, E) == pytest.approx((-6.0, 0.5))
    D_c, E_c = ligandml.canonical_DE(eq[:, 0], eq[:, 1])
    assert np.all(E_c >= 0) and np.all(E_c <= np.abs(D_c) / 3 + 1e-12)
    dist = ligandml.nearest_equivalent_distance([3.75, 0.0], [2.75, 0.0], -6.0, 0.5)
    np.testing.assert_allclose(dist, [0.0, np.hypot(2.25, 3.25)])


@pytest.mark.parametrize("params, match", [
    ({"B25": 1.0}, "B25"), ({"B7-1": 1.0}, "B7-1"), ({"Bxx": 1.0}, "unknown parameter"),
    ({"D": [1.0, 2.0], "E": [1.0, 2.0, 3.0]}, "mismatched"), ({"D": np.nan}, "NaN"),
    ({"D": 1.0, "B20": 1.0}, "either"), ({}, "empty"), ({"D": "x"}, "numeric"),
])
def test_bad_parameters_are_refused(params, match):
    with pytest.raises(ValueError, match=match):
        ligandml.powder_susceptibility("Er3+", params, T)


@pytest.mark.parametrize("temps, match", [([2.0, 0.0], "> 0"), ([2.0, -5.0], "> 0"), ([np.nan], "NaN"),
                                          ([np.inf], "NaN or inf"), ([], "empty")])
def test_bad_temperatures_are_refused(temps, match):
    with pytest.raises(ValueError, match=match):
        ligandml.powder_susceptibility("Er3+", {"D": 1.0}, temps)


@pytest.mark.parametrize("field", [0.0, -1.0, np.nan, "one"])
def test_bad_fields_are_refused(field):
    with pytest.raises(ValueError, match="field"):
        ligandml.powder_susceptibility("Er3+", {"D": 1.0}, T, field=field)
    with pytest.raises(ValueError, match="B"):
        ligandml.powder_magnetization("Er3+", {"D": 1.0}, [1.0, field if field != "one" else -1], T)


def test_bad_units_ions_and_backends_are_refused():
    with pytest.raises(ValueError, match="unit"):
        ligandml.powder_susceptibility("Er3+", {"D": 1.0}, T, unit="eV")
    with pytest.raises(ValueError, match="unit"):
        ligandml.CrystalField.from_DE("Er3+", 1.0, 0.0).energies(unit="THz")
    with pytest.raises(ValueError, match="unknown ion"):
        ligandml.powder_susceptibility("Zz", {"D": 1.0}, T)
    with pytest.raises(ValueError, match="backend"):
        ligandml.powder_susceptibility("Er3+", {"D": 1.0}, T, backend="fortran")
    with pytest.raises(ValueError, match="one parameter set"):
        ligandml.CrystalField("Er3+", {"D": [1.0, 2.0]})
