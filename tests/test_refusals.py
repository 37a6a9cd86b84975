"""Refuse rather than guess (issue 11, item 3): implausible curves exit non-zero with a message
naming the likely cause, before any slow step, in the CLI and in the library entry points."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import ligandml as lm
from ligandml.benchmark_task import benchmark_curve
from ligandml.cli import main
from ligandml.fitting import fit_least_squares
from ligandml.grid_posterior import grid_posterior
from ligandml.plausibility import ImplausibleCurveError
from ligandml.posterior import SampleSet

from test_instruments import moment_from_chi, write_mpms3


def _csv(path, T, y, name="chi"):
    pd.DataFrame({"T": T, name: y}).to_csv(path, index=False)
    return path


@pytest.fixture
def axial():
    return benchmark_curve("axial")


def _run(capsys, argv):
    capsys.readouterr()  # what the fixtures printed
    rc = main(argv)
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


@pytest.mark.parametrize("scale, ions, cause", [
    (4e-6 * np.pi, None, "SI units"),                        # was: D = -159 K with a warning
    (2.0, None, "--ions-per-formula 2"),                     # Er2 file: was chi_dia = 0.040
    (-1.0, None, "negative"),                                # was: D = -539 K
    (1000.0, None, "check the units"),                       # x1000
])
def test_predict_refuses_implausible_curves_with_the_cause(tmp_path, capsys, axial, scale, ions, cause):
    T, chi = axial
    path = _csv(tmp_path / "c.csv", T, scale * chi)
    rc, out, err = _run(capsys, ["predict", str(path), "--n-samples", "50"])
    assert rc == 2
    assert cause in err and err.count("\n") == 1 and "Traceback" not in err
    assert "posterior median" not in out  # refused before any sampling


def test_chiT_called_chi_names_the_option(tmp_path, capsys, axial):
    T, chi = axial
    rc, _, err = _run(capsys, ["compare", str(_csv(tmp_path / "c.csv", T, chi * T)), "--no-network"])
    assert rc == 2 and "--quantity chiT" in err and "quantity=" not in err


def test_force_goes_on_and_says_so(tmp_path, capsys, axial):
    T, chi = axial
    path = _csv(tmp_path / "c.csv", T, 2 * chi)
    rc, out, _ = _run(capsys, ["predict", str(path), "--n-samples", "50", "--force"])
    assert "--force: going on although" in out and "2 Er3+ ions" in out
    assert rc in (0, 3)  # it ran; the prior-box verdict decides the status


def test_library_fit_and_grid_refuse_before_the_slow_step(axial):
    T, chi = axial
    with pytest.raises(ImplausibleCurveError, match="check the units"):
        fit_least_squares(T, 1000 * chi, "Er3+", starts=4)       # was: chi_dia = 78 emu/mol
    with pytest.raises(ImplausibleCurveError, match="SI units"):
        grid_posterior(T, chi * 4e-6 * np.pi, "Er3+")              # was: samples in a corner
    fit = fit_least_squares(T, 1000 * chi, "Er3+", starts=2, force=True)  # the user's choice
    assert np.isfinite(fit.best["D"])


def test_model_predict_refuses_in_the_api_too(axial):
    model = lm.load_model()
    T, chi = axial
    with pytest.raises(ImplausibleCurveError, match="negative"):
        model.predict(T, -chi, n_samples=10)
    with pytest.raises(ValueError, match=r"measured at 1 T .* trained at zero field"):
        model.predict(T, chi, n_samples=10, field=1.0)


def test_field_of_a_dat_file_becomes_the_measuring_field(tmp_path, capsys, axial):
    T, chi = axial
    mw, mass = 1271.37, 12.3
    at1T = write_mpms3(tmp_path / "a.dat", T, 10000.0, moment_from_chi(2 * chi, 10000.0, mass, mw),
                       mass_mg=mass, molar_mass=mw)
    rc, out, err = _run(capsys, ["predict", str(at1T), "--ions-per-formula", "2", "--n-samples", "50"])
    assert rc == 2 and "measured at 1 T but the model was trained at zero field" in err
    assert "--force" in err and "force=True" not in err
    low = write_mpms3(tmp_path / "b.dat", T, 1000.0, moment_from_chi(2 * chi, 1000.0, mass, mw))
    rc, out, err = _run(capsys, ["predict", str(low), "--ions-per-formula", "2", "--mass", str(mass),
                                 "--molar-mass", str(mw), "--n-samples", "200"])
    assert rc == 0, err
    assert "field 0.1 T" in out
    med = {k.strip(): float(v) for k, v in
           (kv.split("=") for kv in out.split("posterior median (canonical): ")[1].splitlines()[0].split(","))}
    assert float(lm.nearest_equivalent_distance(med["D"], med["E"], -6.0, 0.5)) < 1.0


def test_dat_file_without_ions_per_formula_is_refused(tmp_path, capsys, axial):
    T, chi = axial
    path = write_mpms3(tmp_path / "er2.dat", T, 1000.0, moment_from_chi(2 * chi, 1000.0, 12.3, 1271.37),
                       mass_mg=12.3, molar_mass=1271.37)
    rc, _, err = _run(capsys, ["predict", str(path), "--n-samples", "50"])
    assert rc == 2 and "--ions-per-formula 2" in err


def test_formula_reports_the_pascal_sigma_dia(tmp_path, capsys, axial):
    T, chi = axial
    formula = "C18H24ErN6O9"
    rc, out, _ = _run(capsys, ["predict", str(_csv(tmp_path / "c.csv", T, chi)), "--formula", formula,
                               "--n-samples", "50"])
    sigma = lm.diamagnetic_correction(formula).sigma
    assert rc == 0 and f"sigma_dia (Pascal, {formula}): {sigma:.2g} emu/mol per ion" in out


def test_prior_box_failure_is_reported():
    class Fake(SampleSet):
        def __init__(self, D, E):
            self.samples = pd.DataFrame({"D": D, "E": E})

    inside = Fake(np.full(100, -6.0), np.full(100, 0.5)).prior_box_report()
    assert not inside.failed and inside.fraction_outside == 0.0
    outside = Fake(np.r_[np.full(70, 20.0), np.full(30, -6.0)], np.full(100, 1.0)).prior_box_report()
    assert outside.failed and outside.fraction_outside == pytest.approx(0.7)
    assert "the model fails for this curve" in outside.message and "D = 20" in outside.message


def test_kerse2_is_flagged_as_a_failure_of_the_model(real_data, capsys):
    """KErSe2 (D3d, not a D,E system): was canonical D = 20 K, outside the box, unflagged."""
    rc, out, err = _run(capsys, ["predict", str(real_data / "KErSe2_chi_T.dat"), "--drop-invalid",
                                 "--average-repeats", "0.01", "--n-samples", "200"])
    assert rc == 3
    assert "dropped 680 invalid row(s)" in out and "73 point(s) merged, 487 remain" in out
    assert "the model fails for this curve" in err and "outside the prior box" in err
    assert "the model does not describe this curve" in out and "worst at 2 K" in out


def test_compare_flags_a_poor_best_fit_with_the_worst_temperatures(tmp_path, capsys, axial):
    T, chi = axial
    bumped = chi * np.where(T < 2.5, 1.3, 1.0)
    rc, out, _ = _run(capsys, ["compare", str(_csv(tmp_path / "c.csv", T, bumped)), "--no-network",
                               "--no-grid", "--starts", "8"])
    assert rc == 0
    lsq = [ln for ln in out.splitlines() if ln.lstrip().startswith("least squares")]
    assert len(lsq) == 2 and all("the model does not describe this curve" in ln for ln in lsq)
    assert "worst at 2 K" in lsq[0]


def test_compare_checks_units_before_the_slow_step(tmp_path, capsys, axial, monkeypatch):
    import ligandml.comparison as cmp

    def never(*a, **k):
        raise AssertionError("the fit ran before the units check")

    monkeypatch.setattr(cmp, "fit_least_squares", never)
    T, chi = axial
    rc, _, err = _run(capsys, ["compare", str(_csv(tmp_path / "c.csv", T, chi * 4e-6 * np.pi)),
                               "--no-network"])
    assert rc == 2 and "SI units" in err
