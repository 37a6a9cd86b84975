"""VAE-INN: FrEIA training steps, tiny end-to-end train/save/load/predict, input refusals,
posterior views, CLI, and the shipped default model."""
from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
import torch

import ligandml as lm
from ligandml.benchmark_task import benchmark_curve
from ligandml.nets.inn import ConditionalFlow, LatentINN, ardizzone_losses
from ligandml.model import ModelConfig, VAEINNModel, load_model, prepare_curve
from ligandml.normalization import OutOfDistributionWarning
from ligandml.training import TrainConfig, train_model

T_GRID = np.geomspace(2.0, 300.0, 128)


def tiny_data(n_sets=1200, copies=3, sigma=0.002, seed=0):
    """Curves from the physics: n_sets (D, E) x (1 clean + copies augmented), split by set."""
    rng = np.random.default_rng(seed)
    D, E = rng.uniform(-10, 10, n_sets), rng.uniform(-20 / 3, 20 / 3, n_sets)
    chi = lm.powder_susceptibility("Er3+", {"D": D, "E": E}, T_GRID)
    rep = np.repeat(np.arange(n_sets), copies + 1)
    chi_dia = rng.normal(0, sigma, rep.size)
    chi_dia[:: copies + 1] = 0.0
    curves = lm.apply_experimental_errors(chi[rep], T_GRID, chi_dia=chi_dia)
    params = pd.DataFrame({"D": D[rep], "E": E[rep], "chi_dia": chi_dia, "s_m": 1.0, "set_index": rep})
    split = np.where(rep < int(0.8 * n_sets), "train", "test")
    return curves, params, split


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    """Small networks: one thread is faster on a shared machine; restored afterwards."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def tiny_models(one_torch_thread):
    curves, params, split = tiny_data()
    tc = TrainConfig(vae_epochs=3, inn_epochs=2, flow_epochs=3, batch_size=256, n_validation=1000)
    models = {kind: train_model(curves, params, T_GRID, split, model_config=ModelConfig(kind=kind,
                                n_reference=2000), train_config=tc, progress=False)
              for kind in ("faithful", "vae_cinn", "cinn")}
    return models


# ----------------------------------------------------------------------------- FrEIA INNs
def test_latent_inn_is_invertible_and_trains_forward_and_backward():
    torch.manual_seed(0)
    inn = LatentINN(n_x=3, n_y=3, n_z=3, width=8, n_blocks=4, hidden=32)
    x, y = torch.randn(256, 3), torch.randn(256, 3)
    # make the blocks non-trivial first (they start as the identity)
    trainable = [p for p in inn.parameters() if p.requires_grad]
    for p in trainable:
        p.data += 0.05 * torch.randn_like(p)
    xp = inn.pad_x(x, noise=0.1)
    assert torch.allclose(inn.inverse_y(inn.forward_x(xp)), xp, atol=1e-5)
    opt = torch.optim.Adam(trainable, lr=1e-3)
    torch.manual_seed(1)
    before = float(ardizzone_losses(inn, x, y)["total"].detach())
    for _ in range(5):
        torch.manual_seed(1)
        loss = ardizzone_losses(inn, x, y)["total"]
        opt.zero_grad()
        loss.backward()  # through forward AND inverse passes of the exact INN
        assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in trainable)
        opt.step()
    torch.manual_seed(1)
    after = float(ardizzone_losses(inn, x, y)["total"])
    assert after < before


def test_conditional_flow_is_invertible_and_trains():
    torch.manual_seed(0)
    flow = ConditionalFlow(n_x=3, n_features=16, n_cond=8, embed_hidden=(32,), n_blocks=4, hidden=32)
    for p in flow.parameters():
        if p.requires_grad:
            p.data += 0.05 * torch.randn_like(p)
    x, f = torch.randn(128, 3), torch.randn(128, 16)
    c = flow.embed(f)
    z, _ = flow.net(x, c=[c])
    x_back, _ = flow.net(z, c=[c], rev=True)
    assert torch.allclose(x_back, x, atol=1e-5)
    opt = torch.optim.Adam([p for p in flow.parameters() if p.requires_grad], lr=1e-3)
    before = float(flow.nll(x, f))
    for _ in range(5):
        loss = flow.nll(x, f)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert float(flow.nll(x, f)) < before


# ----------------------------------------------------------------------------- end to end
@pytest.mark.parametrize("kind", ["faithful", "vae_cinn", "cinn"])
def test_tiny_train_save_load_predict(tiny_models, tmp_path, kind):
    model = tiny_models[kind]
    assert set(model.history["phase"]) == {"faithful": {"vae", "inn"}, "vae_cinn": {"vae", "flow"},
                                           "cinn": {"flow"}}[kind]
    assert np.isfinite(model.history["val_loss"]).all()
    model.save(tmp_path / "m")
    desc = json.loads((tmp_path / "m" / "model.json").read_text())
    assert desc["model_config"]["kind"] == kind and desc["param_names"] == ["D", "E", "chi_dia"]
    assert len(desc["T"]) == 128 and "package_version" in desc and "metrics" in desc
    loaded = load_model(tmp_path / "m")
    T, chi = benchmark_curve("axial")
    post_a = model.predict(T, chi, n_samples=300, seed=3)
    post_b = loaded.predict(T, chi, n_samples=300, seed=3)
    assert list(post_b.samples.columns) == ["D", "E", "chi_dia"]
    assert post_b.samples.shape == (300, 3)
    np.testing.assert_allclose(post_a.samples.to_numpy(), post_b.samples.to_numpy(), rtol=1e-5, atol=1e-6)
    n_lat = model.config.n_cond if kind == "cinn" else 3
    assert post_b.latent.shape == (n_lat,)
    assert post_b.T.shape == (128,) and post_b.chi_input.shape == (128,)
    assert post_b.ion.name == "Er3+" and post_b.field is None


def test_vae_cinn_reuses_a_pretrained_vae(tiny_models):
    curves, params, split = tiny_data(n_sets=300, copies=1)
    faithful = tiny_models["faithful"]
    model = train_model(curves, params, T_GRID, split, model_config=ModelConfig(kind="vae_cinn", n_reference=50),
                        train_config=TrainConfig(flow_epochs=1, batch_size=128), progress=False,
                        pretrained_vae=faithful)
    assert set(model.history["phase"]) == {"flow"}
    T, chi = benchmark_curve("axial")
    np.testing.assert_allclose(model.net.vae.encode(model._features(chi))[0].detach().numpy(),
                               faithful.net.vae.encode(faithful._features(chi))[0].detach().numpy())


def test_state_dict_loads_with_torch_weights_only(tiny_models, tmp_path):
    """The weights are plain tensors: a torch.save'd state_dict reloads with weights_only=True."""
    net = tiny_models["faithful"].net
    torch.save(net.state_dict(), tmp_path / "w.pt")
    state = torch.load(tmp_path / "w.pt", weights_only=True)
    assert set(state) == set(net.state_dict())


def test_load_refuses_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_model(tmp_path / "nothing")


# ----------------------------------------------------------------------------- inputs
def test_input_conversions_give_the_same_posterior(tiny_models):
    model = tiny_models["cinn"]
    T, chi = benchmark_curve("er2-like")
    ref = model.predict(T, chi, n_samples=200, seed=1).samples
    # chi*T of a two-ion formula unit, on a coarser, decreasing grid inside the model range
    T2 = np.geomspace(300, 2, 400)
    _, chi2 = benchmark_curve("er2-like", T2)
    alt = model.predict(T2, 2 * chi2 * T2, n_samples=200, seed=1, quantity="chiT", ions_per_formula=2).samples
    np.testing.assert_allclose(alt.to_numpy(), ref.to_numpy(), rtol=2e-2, atol=0.05)


def test_prepare_curve_refusals():
    T, chi = benchmark_curve("axial")
    bad = chi.copy()
    bad[5] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        prepare_curve(T, bad, T_GRID)
    Tn = T.copy()
    Tn[[10, 11]] = Tn[[11, 10]]
    with pytest.raises(ValueError, match="monotonic"):
        prepare_curve(Tn, chi, T_GRID)
    with pytest.raises(ValueError, match="covers only"):
        prepare_curve(T[T < 20], chi[T < 20], T_GRID)
    with pytest.warns(UserWarning, match="extrapolated"):
        out, info = prepare_curve(T[2:], chi[2:], T_GRID)
    assert info["n_extrapolated"] == 2
    with pytest.raises(ValueError, match="ions_per_formula"):
        prepare_curve(T, chi, T_GRID, ions_per_formula=0)


@pytest.mark.parametrize("kind", ["faithful", "cinn"])
def test_out_of_distribution_curves_warn_or_fail(tiny_models, kind):
    model = tiny_models[kind]
    T, chi = benchmark_curve("axial")
    with warnings.catch_warnings():
        warnings.simplefilter("error", OutOfDistributionWarning)
        model.predict(T, chi, n_samples=10)  # in distribution: no warning
    with pytest.raises(ValueError, match="Curie constant"):  # refused by the plausibility check
        model.predict(T, chi + 0.05, n_samples=10)
    with pytest.warns(OutOfDistributionWarning):  # forced past it, the OOD check still warns
        model.predict(T, chi + 0.05, n_samples=10, force=True)  # chi_dia 25 sigma away
    with pytest.raises(ValueError, match="far outside"):
        model.predict(T, chi * 1000, n_samples=10)  # wrong units
    with pytest.raises(ValueError, match="NaN"):
        model.predict(T, np.where(T > 100, np.nan, chi))


# ----------------------------------------------------------------------------- posterior
def test_posterior_views(tiny_models, tmp_path):
    post = tiny_models["cinn"].predict(*benchmark_curve("axial"), n_samples=400, seed=0)
    can = post.canonical()
    assert (can["E"] >= 0).all() and (can["E"] <= np.abs(can["D"]) / 3 + 1e-9).all()
    cl = post.clusters()
    assert {"D", "E", "weight"} <= set(cl.columns) and 0.9 <= cl["weight"].sum() <= 1.0 + 1e-9
    pred = post.posterior_predictive(7)
    assert pred.shape == (7, 128) and np.all(pred > 0)
    assert post.equivalent_fractions(-6, 0.5).sum() == pytest.approx(1.0)
    post.plot(truth=(-6, 0.5), path=tmp_path / "p.png", n_predictive=20)
    assert (tmp_path / "p.png").stat().st_size > 10_000


def test_cli_predict_and_demo(tiny_models, tmp_path):
    from ligandml.cli import main
    model_dir = tiny_models["cinn"].save(tmp_path / "model")
    T, chi = benchmark_curve("rhombic")
    pd.DataFrame({"T": T, "chiT": 2 * chi * T}).to_csv(tmp_path / "c.csv", index=False)
    rc = main(["predict", str(tmp_path / "c.csv"), "--quantity", "chiT", "--ions-per-formula", "2",
               "--model", str(model_dir), "--report", str(tmp_path / "rep"), "--n-samples", "200"])
    assert rc == 0
    assert {"posterior.png", "samples.csv", "summary.md"} <= {p.name for p in (tmp_path / "rep").iterdir()}
    assert len(pd.read_csv(tmp_path / "rep" / "samples.csv")) == 200
    np.savetxt(tmp_path / "bad.dat", np.c_[T[::-1][:3], chi[:3]])
    assert main(["predict", str(tmp_path / "bad.dat"), "--model", str(model_dir),
                 "--report", str(tmp_path / "rep2")]) == 2
    assert main(["demo", "--model", str(model_dir), "--out", str(tmp_path / "demo"), "--n-samples", "200"]) == 0
    for name in ("axial", "rhombic", "er2-like"):
        assert (tmp_path / "demo" / name / "posterior.png").is_file()
    assert "median distance" in (tmp_path / "demo" / "summary.md").read_text()


# ----------------------------------------------------------------------------- shipped model
def test_shipped_model_finds_the_axial_solution():
    model = load_model()
    assert isinstance(model, VAEINNModel) and model.ion_name == "Er3+"
    assert model.dataset_config.get("sigma_dia") == pytest.approx(0.002)
    post = model.predict(*benchmark_curve("axial"), n_samples=1000, seed=0)
    # the posterior median lies within 2 K of one of the six equivalents of D=-6, E=0.5
    med = post.canonical()[["D", "E"]].median()
    assert float(lm.nearest_equivalent_distance(med["D"], med["E"], -6.0, 0.5)) < 2.0
    assert np.median(post.nearest_distance(-6.0, 0.5)) < 2.0


def test_cli_train_on_a_dataset_store(tmp_path):
    """`ligandml train --data store --out model` on a tiny dataset written by ligandml.dataset."""
    from ligandml.cli import main
    from ligandml.dataset import DatasetConfig, generate_dataset
    from ligandml.training import TrainConfig, read_train_toml, write_train_toml
    generate_dataset(DatasetConfig(n_sets=300, copies=2, chunk_sets=100), tmp_path / "d.zarr",
                     backend="numpy", progress=False)
    write_train_toml(tmp_path / "train.toml", ModelConfig(kind="faithful", n_reference=100),
                     TrainConfig(vae_epochs=1, inn_epochs=1, batch_size=128))
    m, t = read_train_toml(tmp_path / "train.toml")
    assert ModelConfig.from_dict(m).n_reference == 100 and TrainConfig.from_dict(t).batch_size == 128
    rc = main(["train", "--data", str(tmp_path / "d.zarr"), "--out", str(tmp_path / "m"),
               "--config", str(tmp_path / "train.toml"), "--quiet", "--threads", "1"])
    assert rc == 0
    for f in ("model.json", "weights.safetensors", "history.csv", "losses.png"):
        assert (tmp_path / "m" / f).is_file()
    model = load_model(tmp_path / "m")
    assert model.dataset_config["n_sets"] == 300 and model.train_config["vae_epochs"] == 1
    assert model.dataset_normalizer["kind"] == "minmax"
    assert len(model.reference_set()[0]) == 100
    # the preprocessing is the dataset's stored normaliser, not a refit
    from ligandml.dataset import open_dataset
    norm = open_dataset(tmp_path / "d.zarr").normalizer
    np.testing.assert_array_equal(model.net.feat_shift.numpy(), np.float32(norm.min))
    np.testing.assert_array_equal(model.net.feat_scale.numpy(), np.float32(norm.max - norm.min))


def test_model_kinds_are_registered_plugins():
    from ligandml import nets
    from ligandml.model import InverseModel
    assert set(nets.KINDS) == {"faithful", "vae_cinn", "cinn", "nsf"}
    assert VAEINNModel is InverseModel
    with pytest.raises(ValueError, match="kind must be one of"):
        ModelConfig(kind="gan")
    assert ModelConfig(kind="cinn").preprocessing == "standard"
    assert ModelConfig(kind="faithful").preprocessing == "minmax"
    net = nets.kind_class("vae_cinn")(ModelConfig(kind="vae_cinn", vae_hidden=(8,), embed_hidden=(8,),
                                                  flow_blocks=2, flow_hidden=8, n_cond=4), 16, 3)
    assert net.has_vae and net.latent(torch.zeros(2, 16)).shape == (2, 3)
    assert net.sample_x(torch.zeros(3), 5).shape == (5, 3)


def test_shipped_posterior_refines_to_the_exact_equivalents():
    """Posterior.refine hands the samples to ligandml.fitting: the six exact minima come back."""
    post = load_model().predict(*benchmark_curve("axial"), n_samples=1000, seed=0)
    result = post.refine(max_starts=6)
    D_c, E_c = lm.canonical_DE(result.best["D"], result.best["E"])
    assert D_c == pytest.approx(-6.0, abs=1e-3) and E_c == pytest.approx(0.5, abs=1e-3)
    assert result.best["chi_dia"] == pytest.approx(0.002, abs=1e-5)


def test_one_preprocessing_and_one_ood_check_for_dataset_and_model():
    from ligandml.preprocessing import CurvePreprocessor, MinMaxNormalizer, check_excess, range_excess
    # excess in range widths, closed form: range [1, 3] (width 2); 4 is 0.5 widths above, 0 is 0.5 below
    np.testing.assert_allclose(range_excess(np.array([[1.0, 2.0, 3.0], [4.0, 2.0, 0.0]]), 1.0, 3.0), [0.0, 0.5])
    t = torch.tensor([[4.0, 2.0, -1.0]])
    assert float(range_excess(t, torch.ones(3), 3 * torch.ones(3))[0]) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="far outside"):
        check_excess([0.0, 200.0], 0.05, 100.0)
    with pytest.warns(OutOfDistributionWarning, match="1 of 2 curve"):
        assert check_excess([0.0, 0.2], 0.05).tolist() == [False, True]
    # "minmax" takes the dataset's normaliser, the same two numbers at every temperature
    curves = np.array([[1.0, 2.0, 5.0], [2.0, 3.0, 4.0]])
    pre = CurvePreprocessor.fit(curves, "minmax", MinMaxNormalizer(0.0, 10.0))
    np.testing.assert_allclose(pre.features(curves), curves / 10.0)
    std = CurvePreprocessor.fit(curves, "standard")
    np.testing.assert_allclose(std.features(curves), [[-1, -1, 1], [1, 1, -1]], atol=1e-9)
    np.testing.assert_allclose(std.features(torch.as_tensor(curves)).numpy(), std.features(curves))


def test_chi_and_chiT_convert_in_one_place():
    from ligandml.error_model import chi_to_quantity, quantity_to_chi
    T, chi = np.array([2.0, 10.0]), np.array([3.0, 0.5])
    np.testing.assert_allclose(chi_to_quantity(chi, T, "chiT"), [6.0, 5.0])
    np.testing.assert_allclose(quantity_to_chi(np.array([6.0, 5.0]), T, "chiT"), chi)
    assert chi_to_quantity(chi, T, "chi") is chi
    with pytest.raises(ValueError, match="quantity"):
        chi_to_quantity(chi, T, "chi_T")
