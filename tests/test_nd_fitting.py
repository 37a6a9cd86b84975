"""N-parameter likelihood over several observables, multi-start least squares and refine."""
import numpy as np
import pandas as pd
import pytest

from ligandml.dataset.config import er_d3d_observables
from ligandml.dataset.observables import augment_observable, chi_observable, clean_curves
from ligandml.fitting import fit_observables, refine_posterior
from ligandml.likelihood import observables_model
from ligandml.optimize import ScaledModel

NAMES = ("B20", "B43")
TRUTH = {"B20": -0.4, "B43": 0.05}
OBS = [chi_observable(np.geomspace(2, 300, 24), 1.0, "z"),
       chi_observable(np.geomspace(2, 300, 24), 1.0, "plane")]


def _observed(params, chi_dia=0.0, s_m=1.0, obs=OBS):
    p = {k: np.array([v]) for k, v in params.items()}
    return {o["name"]: augment_observable(o, clean_curves(o, "Er3+", p, "K", "numpy", None, None),
                                          np.array([[chi_dia]]), np.array([[s_m]]))[0, 0]
            for o in obs}


def test_shared_nuisances_are_recovered_in_closed_form():
    obs = er_d3d_observables("crystal")
    obs = [dict(o, grid=o["grid"][::4]) for o in obs]
    truth = {"B20": 0.8, "B40": 6e-3, "B43": -0.12, "B60": -6e-5, "B63": 1.2e-3, "B66": -9e-4}
    y = _observed(truth, chi_dia=0.0013, s_m=1.04, obs=obs)
    model = observables_model("Er3+", obs, y, tuple(truth), 0.01, backend="numpy")
    r, coef = model.residuals_from_curves(model.curves(np.array([list(truth.values())])))
    assert np.abs(r).max() < 1e-9
    assert model.nuisance_dict(coef[0]) == pytest.approx({"s_m": 1.04, "chi_dia": 0.0013}, rel=1e-9)
    # chi_dia enters M(H) as chi_dia H / 5585 muB: 1 emu/mol at 1 T is 10^4 / 5585 muB
    assert model.offset[-1] == pytest.approx(obs[-1]["grid"][-1] * 1e4 / 5585.0, rel=2e-4)


def test_log_marginal_equals_the_gaussian_integral():
    # one free offset with prior N(0, s0^2): the marginal over chi_dia is Gaussian and known
    y = _observed(TRUTH, chi_dia=0.001)
    model = observables_model("Er3+", OBS, y, NAMES, 0.01, ("chi_dia",), {"chi_dia": 0.002},
                              backend="numpy")
    x = np.array([[-0.35, 0.04]])
    F = model.curves(x)[0]
    sd = model.sigma
    cov = np.diag(sd**2) + 0.002**2 * np.outer(model.offset, model.offset)
    d = model.y - F
    exact = -0.5 * d @ np.linalg.solve(cov, d) - 0.5 * np.linalg.slogdet(cov)[1]
    const = -0.5 * np.sum(np.log(sd**2)) - 0.5 * np.log(0.002**2)  # dropped by the model
    assert model.log_marginal_from_curves(F[None])[0] + const == pytest.approx(exact, rel=1e-9)


def test_multistart_finds_the_truth_and_its_d3d_twin():
    y = _observed(TRUTH, chi_dia=0.001)
    fit = fit_observables("Er3+", OBS, y, NAMES, noise_rel=0.01, starts=16,
                          box={"B20": (-1.9, 1.9), "B43": (-0.25, 0.25)}, backend="numpy")
    top = fit.solutions.iloc[:2]
    assert top["cost"].max() < 1e-12
    assert sorted(top["B43"].round(8)) == [-0.05, 0.05]
    assert top["B20"].to_numpy() == pytest.approx([-0.4, -0.4], abs=1e-7)
    assert fit.best["chi_dia"] == pytest.approx(0.001, abs=1e-9)


def test_refine_posterior_in_n_dimensions_reaches_each_exact_minimum():
    y = _observed(TRUTH, chi_dia=0.001)
    rng = np.random.default_rng(0)
    near = [TRUTH["B20"], TRUTH["B43"]]
    samples = np.concatenate([near + rng.normal(scale=[0.02, 0.003], size=(300, 2)),
                              [near[0], -near[1]] + rng.normal(scale=[0.02, 0.003], size=(100, 2))])

    class Post:  # the SampleSet surface refine_posterior reads
        pass
    post = Post()
    post.samples = pd.DataFrame(samples, columns=list(NAMES))
    post.ion, post.observables, post.observed = "Er3+", OBS, y
    post.box = {"B20": (-1.9, 1.9), "B43": (-0.25, 0.25)}
    fit = refine_posterior(post, backend="numpy", nuisance=("chi_dia", "s_m"))
    sols = fit.solutions.sort_values("mass", ascending=False)
    assert len(sols) == 2
    np.testing.assert_allclose(sols["mass"], [0.75, 0.25], atol=0.02)
    np.testing.assert_allclose(sols["B43"], [0.05, -0.05], atol=1e-8)
    np.testing.assert_allclose(sols["cost"], 0, atol=1e-12)


def test_scaled_model_steps_each_parameter_on_its_own_scale():
    y = _observed(TRUTH)
    model = observables_model("Er3+", OBS, y, NAMES, 0.01, (), backend="numpy")
    sm = ScaledModel(model, [1.0, 1e-3])
    U = sm.to_u(np.array([[-0.4, 0.05]]))
    assert U[0, 1] == pytest.approx(50.0)
    with pytest.raises(ValueError, match="scale"):
        ScaledModel(model, [1.0, 0.0])


def test_bad_observed_input_is_one_clear_error():
    with pytest.raises(ValueError, match="no measured values"):
        observables_model("Er3+", OBS, {"chi_z_1T": np.ones(24)}, NAMES)
    with pytest.raises(ValueError, match="24 grid points"):
        observables_model("Er3+", OBS, {"chi_z_1T": np.ones(3), "chi_plane_1T": np.ones(24)}, NAMES)
    with pytest.raises(ValueError, match="must be > 0"):
        observables_model("Er3+", OBS, _observed(TRUTH), NAMES, noise_rel={"chi_z_1T": 0.01})
