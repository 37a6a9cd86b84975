"""Any parameter list through posteriors, folding, reports, predict and compare.

- Folding equivalent sets (ligandml.folding, SampleSet.canonical): idempotent, the curves of every
  observable unchanged (1e-10), the same canonical member as symmetry.canonical_parameters for
  D3d and as the closed-form D, E rule (canonical_DE) for B20 = D/3, B22 = E powder data, and only
  the rotations that keep a crystal direction for single-crystal observables.
- A B20/B22 single-curve model (formerly: predict worked, `predict --report` failed with
  KeyError 'D'): predict, report, CLI predict --report and compare work end to end.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ligandml.dataset import DatasetConfig
from ligandml.dataset.observables import chi_observable, magnetization_observable
from ligandml.folding import equivalent_sets, fold, fold_matrices
from ligandml.dataset.observables import observable_index
from ligandml.model_observables import simulate_observables
from ligandml.parameters import canonical_DE
from ligandml.symmetry import canonical_parameters

D3D = DatasetConfig.preset("er-d3d", n_sets=10)
D3D_NAMES = D3D.param_names


def _d3d_draws(n, seed=0):
    rng = np.random.default_rng(seed)
    return np.column_stack([rng.uniform(lo, hi, n) for lo, hi in D3D.params.values()])


def _crystal_index():
    T = np.geomspace(2, 300, 12)
    B = np.array([0.5, 1.0, 2.0, 4.0])
    specs = [chi_observable(T, 1.0, "z", name="chi_z"), chi_observable(T, 1.0, "plane", name="chi_ab"),
             magnetization_observable(B, 2.0, "z", name="M_z"),
             magnetization_observable(B, 2.0, "plane", name="M_ab")]
    return observable_index(specs)


# ----------------------------------------------------------------------------- folding
def test_fold_d3d_matches_canonical_parameters_and_is_idempotent():
    X = _d3d_draws(400)
    F = fold(X, D3D_NAMES)
    ref = canonical_parameters(dict(zip(D3D_NAMES, X.T)), "D3d")
    np.testing.assert_allclose(F, np.column_stack([ref[n] for n in D3D_NAMES]), rtol=0, atol=1e-15)
    assert np.all(F[:, D3D_NAMES.index("B43")] >= 0)
    changed = np.any(F != X, axis=1)
    assert 0.3 < changed.mean() < 0.7          # about half had B43 < 0: folding is not the identity
    np.testing.assert_array_equal(fold(F, D3D_NAMES), F)   # idempotent


def test_fold_keeps_every_crystal_observable():
    index = _crystal_index()
    X = _d3d_draws(25, seed=1)
    F = fold(X, D3D_NAMES, list(index.values()))
    assert np.any(F[:, 2] != X[:, 2])
    before = simulate_observables("Er3+", dict(zip(D3D_NAMES, X.T)), index, point_group="D3d")
    after = simulate_observables("Er3+", dict(zip(D3D_NAMES, F.T)), index, point_group="D3d")
    np.testing.assert_allclose(after, before, rtol=1e-10, atol=0)


def test_fold_B20_B22_powder_is_the_DE_rule():
    rng = np.random.default_rng(2)
    D, E = rng.uniform(-10, 10, 300), rng.uniform(-20 / 3, 20 / 3, 300)
    F = fold(np.column_stack([D / 3, E]), ["B20", "B22"])
    Dc, Ec = canonical_DE(D, E)
    np.testing.assert_allclose(3 * F[:, 0], Dc, atol=1e-12)
    np.testing.assert_allclose(F[:, 1], Ec, atol=1e-12)
    assert len(fold_matrices(["B20", "B22"])) == 6
    assert len(equivalent_sets([-2.0, 0.5], ["B20", "B22"])) == 6


def test_fold_single_crystal_keeps_only_rotations_about_z():
    """Along z, (B20, B22) has only the B22 -> -B22 twin (x <-> y); the axis relabellings that
    move z would change chi_z."""
    index = _crystal_index()
    obs = list(index.values())
    assert len(fold_matrices(["B20", "B22"], obs)) == 2
    X = np.array([[-1.0, 0.7], [0.4, -1.1], [1.2, 0.3]])
    F = fold(X, ["B20", "B22"], obs)
    np.testing.assert_allclose(F, np.abs(X) * [[-1, 1], [1, 1], [1, 1]])
    before = simulate_observables("Er3+", {"B20": X[:, 0], "B22": X[:, 1]}, index)
    after = simulate_observables("Er3+", {"B20": F[:, 0], "B22": F[:, 1]}, index)
    np.testing.assert_allclose(after, before, rtol=1e-10)
    # the powder rule moves (B20, B22) = (0.4, -1.1), i.e. D = 1.2, E = -1.1 K, to D = -2.25 K:
    # another z axis, which changes chi_z
    P = fold(X[1:2], ["B20", "B22"])
    assert abs(3 * P[0, 0] + 2.25) < 1e-12
    moved = simulate_observables("Er3+", {"B20": P[:, 0], "B22": P[:, 1]}, index)
    assert np.max(np.abs(moved / before[1:2] - 1)) > 1e-2


# ----------------------------------------------------------------------------- B20, B22 model
@pytest.fixture(scope="module")
def b2_model(tmp_path_factory):
    """A tiny single-curve model over B20, B22 [K] (powder chi at zero field, 32 temperatures)."""
    import torch

    from ligandml.dataset import generate_dataset
    from ligandml.model import ModelConfig, load_model
    from ligandml.training import TrainConfig, train_from_dataset

    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("b2")
    cfg = DatasetConfig(params={"B20": (-10 / 3, 10 / 3), "B22": (-20 / 3, 20 / 3)}, n_sets=300,
                        copies=2, n_T=32, chunk_sets=150)
    generate_dataset(cfg, root / "b2.zarr", backend="numpy", progress=False)
    mc = ModelConfig(kind="cinn", n_cond=8, embed_hidden=(32, 32), flow_blocks=2, flow_hidden=32,
                     n_reference=100)
    train_from_dataset(root / "b2.zarr", root / "model", model_config=mc,
                       train_config=TrainConfig(flow_epochs=2, batch_size=64), progress=False)
    return root, load_model(root / "model")


def _b2_curve(model, B20=-1.5, B22=0.4, chi_dia=0.001):
    from ligandml.sweeps import powder_susceptibility
    chi = powder_susceptibility("Er3+", {"B20": [B20], "B22": [B22]}, model.T)[0] + chi_dia
    return model.T, chi


def test_b20_b22_predict_and_report(b2_model, tmp_path):
    from ligandml.report import write_posterior_report
    _, model = b2_model
    T, chi = _b2_curve(model)
    post = model.predict(T, chi, n_samples=300, seed=0, force=True)
    assert post.parameter_names == ["B20", "B22"] and not post.is_DE
    can = post.canonical()
    Dc, Ec = canonical_DE(3 * post.samples["B20"].to_numpy(), post.samples["B22"].to_numpy())
    np.testing.assert_allclose(3 * can["B20"], Dc, atol=1e-12)
    np.testing.assert_allclose(can["B22"], Ec, atol=1e-12)
    est = post.point_estimate()
    assert set(est) == {"B20", "B22", "chi_dia"}
    truth = {"B20": -1.5, "B22": 0.4}
    fr = post.equivalent_fractions(truth)
    assert fr.shape == (6,) and abs(fr.sum() - 1) < 1e-12
    # distances in box widths: the truth itself is at distance 0 from its own class
    d = post.nearest_distance(truth)
    assert d.shape == (300,) and np.all(d >= 0)
    report = write_posterior_report(post, tmp_path / "rep", "b2", truth)
    summary = (report / "summary.md").read_text()
    assert "B20" in summary and "B22" in summary and "prior-box widths" in summary
    assert (report / "posterior.png").stat().st_size > 10_000
    assert list(pd.read_csv(report / "samples.csv").columns) == list(post.samples.columns)


def test_b20_b22_cli_predict_report(b2_model, tmp_path, capsys):
    """The former KeyError 'D' of `ligandml predict --report` with a B20/B22 model."""
    from ligandml.cli import main
    root, model = b2_model
    T, chi = _b2_curve(model)
    pd.DataFrame({"T": T, "chi": chi}).to_csv(tmp_path / "curve.csv", index=False)
    code = main(["predict", str(tmp_path / "curve.csv"), "--model", str(root / "model"),
                 "--report", str(tmp_path / "out"), "--n-samples", "200", "--force"])
    assert code == 0
    out = capsys.readouterr().out
    assert "B20 =" in out and "B22 =" in out
    for name in ("posterior.png", "samples.csv", "summary.md"):
        assert (tmp_path / "out" / name).is_file()


def test_b20_b22_compare(b2_model, tmp_path):
    from ligandml.comparison import compare_curve, results_table
    from ligandml.report import write_comparison_report
    _, model = b2_model
    T, chi = _b2_curve(model)
    results = compare_curve(T, chi, models={"b2": model}, starts=8, n_samples=200, force=True)
    table = results_table(results, truth={"B20": -1.5, "B22": 0.4, "chi_dia": 0.001})
    assert {"B20", "B22", "err_point_box_widths"} <= set(table.columns)
    ls = table[table["method"] == "least squares"].iloc[0]
    # least squares over B20, B22 with chi_dia free finds the noise-free truth (or an equivalent)
    assert ls["err_point_box_widths"] < 1e-4, table.to_string()
    grid = table[table["method"].str.startswith("exact posterior")].iloc[0]
    assert "D, E only" in grid["note"]
    net = table[table["method"] == "VAE-INN b2"].iloc[0]
    assert not str(net["note"]).startswith("failed"), net["note"]
    write_comparison_report(results, tmp_path / "cmp", truth={"B20": -1.5, "B22": 0.4, "chi_dia": 0.001})
    assert (tmp_path / "cmp" / "posteriors.png").is_file()
