"""Plausibility of a curve for the claimed ion (ligandml.plausibility), curves from the physics."""
from __future__ import annotations

import numpy as np
import pytest

import ligandml as lm
from ligandml.plausibility import ImplausibleCurveError, SI_PER_CGS

T = np.geomspace(2.0, 300.0, 64)


@pytest.fixture(scope="module")
def er_chi():
    """Er3+ powder chi [emu/mol per ion], D = -4, E = 0.3 K, plus chi_dia = 0.00125 emu/mol."""
    return lm.powder_susceptibility("Er3+", {"D": -4.0, "E": 0.3}, T, backend="numpy")[0] + 0.00125


def expect(cause, match, *args, **kwargs):
    with pytest.raises(ImplausibleCurveError, match=match) as err:
        lm.check_plausible(*args, **kwargs)
    assert isinstance(err.value, ValueError) and "\n" not in str(err.value)
    assert err.value.verdict.cause == cause
    return err.value.verdict


def test_a_clean_er_curve_is_plausible(er_chi):
    v = lm.check_plausible(T, er_chi, "Er3+")
    assert v.ok and 0.95 < v.ratio < 1.1 and v.message.startswith("plausible for Er3+")
    assert lm.check_plausible(T, er_chi * T, "Er3+", quantity="chiT").ok


def test_si_units(er_chi):
    v = expect("si_units", "look like SI units .* divide chi by 4 pi 1e-6", T, er_chi * SI_PER_CGS)
    assert v.suggestion["scale"] == pytest.approx(1 / SI_PER_CGS)


def test_er2_file_without_ions_per_formula(er_chi):
    chi_formula = 2 * er_chi  # an Er2 compound, per formula unit
    v = expect("ions_per_formula", r"about 2x.*pass ions_per_formula=2 \(CLI --ions-per-formula 2\)",
               T, chi_formula, "Er3+")
    assert v.suggestion == {"ions_per_formula": 2.0}
    assert lm.check_plausible(T, chi_formula, "Er3+", ions_per_formula=2).ok
    expect("ions_per_formula", "about 1/2", T, er_chi, "Er3+", ions_per_formula=2)


def test_negative_chi(er_chi):
    expect("negative", r"chi is negative at \d+ of 64 temperatures.*over-subtracted", T, -er_chi)
    # an over-subtracted diamagnetic correction: chi - 0.2 emu/mol is negative above ~60 K
    expect("negative", "negative", T, er_chi - 0.2)


def test_chiT_given_as_chi_and_back(er_chi):
    v = expect("chiT_as_chi", r"called chi behaves like chiT .*quantity='chiT'", T, er_chi * T)
    assert v.suggestion == {"quantity": "chiT"}
    expect("chi_as_chiT", r"called chiT behaves like chi", T, er_chi, quantity="chiT")


def test_dy_data_claimed_as_er():
    dy = lm.powder_susceptibility("Dy3+", {"D": -3.0, "E": 0.4}, T, backend="numpy")[0]
    v = expect("other_ion", r"looks like Dy3\+ \(C = 14.17\) or Ho3\+ \(C = 14.07\), not Er3\+", T, dy, "Er3+")
    assert v.ratio == pytest.approx(lm.curie_constant(4 / 3, 7.5) / lm.curie_constant(1.2, 7.5), rel=0.02)
    assert lm.check_plausible(T, dy, "Dy3+").ok
    er = lm.powder_susceptibility("Er3+", {"D": -3.0, "E": 0.4}, T, backend="numpy")[0]
    expect("other_ion", r"looks like .*Er3\+.* not Dy3\+", T, er, "Dy3+")


def test_force_returns_the_verdict_instead_of_raising(er_chi):
    v = lm.check_plausible(T, er_chi * SI_PER_CGS, force=True)
    assert not v.ok and v.cause == "si_units"


def test_measured_kerse2_powder_data_are_plausible(real_data):
    from conftest import read_kerse2_powder_chi

    Tm, chi = read_kerse2_powder_chi(real_data)
    v = lm.check_plausible(Tm, chi, "Er3+")  # no diamagnetic correction, a 1 T field: still fine
    assert v.ok and 0.9 < v.ratio < 1.05


def test_low_temperature_only_curves_use_the_wide_band(er_chi):
    low = T < 40
    assert lm.check_plausible(T[low], er_chi[low]).ok
    expect("ions_per_formula", "about 2x", T[low], 2 * er_chi[low])


def test_misfit_names_the_worst_temperatures(er_chi):
    rng = np.random.default_rng(0)
    sigma = 0.01 * er_chi
    observed = er_chi + sigma * rng.standard_normal(T.size)
    good = lm.misfit(T, observed, er_chi, sigma=sigma)
    assert good.describes and 0.6 < good.chi2_red < 1.5  # chi^2/dof of 64 unit normals
    wrong = er_chi.copy()
    wrong[:3] *= 1.2  # a model that misses the three lowest temperatures by 20 %
    bad = lm.misfit(T, observed, wrong, noise_rel=0.01, n_params=3)
    assert not bad.describes and bad.dof == 61
    assert set(np.round(bad.worst_T, 6)) == set(np.round(T[:3], 6))
    assert bad.message.startswith("the model does not describe this curve: reduced chi^2 = ")
    assert "2 K (" in bad.message
    with pytest.raises(ValueError, match="exactly one noise level"):
        lm.misfit(T, observed, er_chi)
