"""General datasets: any Stevens set and prior, multi-observable samples, the er-d3d preset."""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

import ligandml
from ligandml.cli import main as cli_main
from ligandml.dataset import (DatasetConfig, chi_observable, compute_chunk, diamagnetic_moment,
                              draw_noise_levels, generate_dataset, magnetization_observable,
                              noise_levels, normalize_observables, observable_curves,
                              scale_aware_half_width)

# ---- the D, E task keeps its bytes ----------------------------------------------------------

#: the arrays of the single-curve layout (store.py); their files' bytes are hashed
LEGACY = ("T", "curves", "parameters", "chi_dia", "s_m", "set_index", "clean", "test", "done",
          "chunk_train_min", "chunk_train_max")
#: digests recorded with the code on main BEFORE the generalisation (commit 1d49b87), by
#: generating these stores and hashing (path, bytes) of every file of the LEGACY arrays
LEGACY_CASES = {
    "de_zero_field": (dict(n_sets=24, chunk_sets=10, copies=3, n_T=12, seed=5, sigma_m=0.03,
                           noise_rel=0.01),
                      "f999467d3be8dbb3f929a8f96e0a1b2b88f0188750ea45a9b85d85997f4e4580",
                      (0.03256469011438337, 5.33356618429976)),
    "stevens_field_chiT_sobol": (dict(params={"B20": (-1.0, 1.0), "B43": (-0.02, 0.02)},
                                      unit="meV", field=0.5, quantity="chiT", sampling="sobol",
                                      n_sets=6, chunk_sets=4, copies=2, n_T=6, seed=2,
                                      sigma_m=0.02),
                                 "df1d8e316e92c5a3043117e829ee0c037e256a4ccb9b77ad2cc6accb8d740421",
                                 (5.168981909549629, 11.965932324299786)),
}


def legacy_digest(path: Path) -> str:
    h = hashlib.sha256()
    for f in sorted(path.rglob("*")):
        rel = f.relative_to(path)
        if f.is_file() and rel.parts[0] in LEGACY:
            h.update(str(rel).encode())
            h.update(f.read_bytes())
    return h.hexdigest()


def store_files(path: Path) -> dict[str, bytes]:
    """Every file of a store except the root metadata (which holds wall-clock timings)."""
    return {str(f.relative_to(path)): f.read_bytes() for f in sorted(path.rglob("*"))
            if f.is_file() and f != path / "zarr.json"}


@pytest.mark.parametrize("case", sorted(LEGACY_CASES))
def test_de_layout_bytes_unchanged_since_main(case, tmp_path):
    overrides, digest, (lo, hi) = LEGACY_CASES[case]
    ds = generate_dataset(DatasetConfig(**overrides), tmp_path / "s.zarr", backend="numpy",
                          progress=False)
    assert legacy_digest(ds.path) == digest
    assert (ds.normalizer.min, ds.normalizer.max) == (lo, hi)
    assert "noise_level" not in ds._group and "observables" not in ds.attrs


def test_er_de_preset_is_the_default():
    assert DatasetConfig.preset("er-de") == DatasetConfig()
    assert DatasetConfig.preset("er-de", n_sets=5).n_sets == 5
    assert DatasetConfig().params == ligandml.benchmark_task.DE_BOX
    with pytest.raises(ValueError, match="unknown dataset preset"):
        DatasetConfig.preset("er-xyz")


# ---- priors ---------------------------------------------------------------------------------

def test_scale_aware_half_widths_of_design_md():
    expected = {"B20": 1.9048, "B40": 1.2210e-2, "B43": 2.5392e-1, "B60": 1.2333e-4,
                "B63": 2.0797e-3, "B66": 1.7836e-3}
    c = DatasetConfig.preset("er-d3d")
    assert list(c.params) == list(expected)
    for name, h in expected.items():
        assert c.params[name][1] == pytest.approx(h, rel=5e-5)
        assert c.params[name][0] == -c.params[name][1]
    # closed form for B20: max|eig(3 Jz^2 - J(J+1))| = 3 (15/2)^2 - 255/4 = 105 at J = 15/2
    assert scale_aware_half_width("Er3+", "B20") == pytest.approx(200 / 105, rel=1e-12)
    assert scale_aware_half_width("Er3+", "D") == pytest.approx(3 * 200 / 105, rel=1e-12)
    # W scales linearly; other units divide by kelvin per unit
    assert scale_aware_half_width("Er3+", "B43", 100.0) == pytest.approx(2.5392e-1 / 2, rel=5e-5)
    assert scale_aware_half_width("Er3+", "B20", unit="meV") == pytest.approx(
        200 / 105 / 11.604518, rel=1e-6)
    # another ion: Dy3+ (J = 15/2 too) equal, Yb3+ (J = 7/2) B20 = 200 / (3 * 49/4 - 63/4)
    assert scale_aware_half_width("Dy3+", "B40") == pytest.approx(1.2210e-2, rel=5e-5)
    assert scale_aware_half_width("Yb3+", "B20") == pytest.approx(200 / 21, rel=1e-12)


def test_point_group_fills_and_polices_the_names():
    c = DatasetConfig(point_group="D3d", params=None, prior="scale-aware")
    assert c.param_names == ["B20", "B40", "B43", "B60", "B63", "B66"]
    box = DatasetConfig(point_group="D4h", params={"B20": (-1, 1), "B44": (-0.1, 0.1)})
    assert box.params == {"B20": (-1.0, 1.0), "B44": (-0.1, 0.1)}
    with pytest.raises(ValueError, match=r"DatasetConfig.params: \['B22'\] not allowed by point group D3d"):
        DatasetConfig(point_group="D3d", params={"B20": (-1, 1), "B22": (-1, 1)})
    with pytest.raises(ValueError, match="DatasetConfig.point_group"):
        DatasetConfig(point_group="Oh", params=None)  # cubic: fixed ratios
    with pytest.raises(ValueError, match="DatasetConfig.point_group"):
        DatasetConfig(point_group="D7q")
    with pytest.raises(ValueError, match="needs prior='scale-aware'"):
        DatasetConfig(params=["B20", "B40"])
    with pytest.raises(ValueError, match="DatasetConfig.prior"):
        DatasetConfig(prior="gaussian")
    with pytest.raises(ValueError, match="DatasetConfig.prior_width"):
        DatasetConfig(prior="scale-aware", params=["B20"], prior_width=0)


# ---- the er-d3d preset ----------------------------------------------------------------------

def test_er_d3d_preset_grids_and_errors():
    c = DatasetConfig.preset("er-d3d")
    assert (c.ion, c.point_group, c.prior, c.prior_width, c.n_sets) == \
        ("Er3+", "D3d", "scale-aware", 200.0, 200_000)
    assert (c.sigma_dia, c.sigma_m, c.noise_range, c.noise_rel) == (0.002, 0.02, (0.002, 0.05), 0.0)
    chi, mag = c.observables
    assert (chi["name"], chi["kind"], chi["direction"], chi["field"]) == \
        ("chi_powder_1T", "chi", "powder", 1.0)
    T = np.array(chi["grid"])
    assert T.size == 64 and T[0] == 2.0 and T[-1] == pytest.approx(300.0)
    assert np.allclose(T[1:] / T[:-1], 150 ** (1 / 63))
    assert (mag["name"], mag["kind"], mag["temperature"]) == ("M_powder_2K", "M", 2.0)
    assert mag["grid"] == [round(0.2 * i, 12) for i in range(1, 28)]
    assert mag["grid"][0] == 0.2 and mag["grid"][-1] == 5.4
    crystal = DatasetConfig.preset("er-d3d", observables="crystal")
    assert [(o["kind"], o["direction"]) for o in crystal.observables] == \
        [("chi", "z"), ("chi", "plane"), ("M", "z"), ("M", "plane")]
    assert crystal.columns().size == 2 * 64 + 2 * 27
    with pytest.raises(ValueError, match="observables must be one of"):
        DatasetConfig.preset("er-d3d", observables="both")


def test_preset_round_trips_through_dict_and_toml(tmp_path):
    c = DatasetConfig.preset("er-d3d", observables="crystal", n_sets=10)
    assert c.lebedev_order is None
    assert DatasetConfig.from_dict(c.to_dict()) == c
    c.to_toml(tmp_path / "c.toml")
    assert DatasetConfig.from_toml(tmp_path / "c.toml") == c


@pytest.mark.parametrize("overrides, message", [
    ({"observables": [{"kind": "X", "grid": [1.0]}]}, "kind must be one of"),
    ({"observables": [{"kind": "chi", "grid": [2.0, 1.0]}]}, "strictly increasing"),
    ({"observables": [{"kind": "chi", "grid": [0.0, 1.0]}]}, "> 0"),
    ({"observables": [{"kind": "chi", "direction": "z", "grid": [2.0]}]}, "needs a measuring field"),
    ({"observables": [{"kind": "M", "grid": [1.0]}]}, "temperature"),
    ({"observables": [{"kind": "M", "grid": [1.0], "temperature": 2, "field": 1}]}, "not 'field'"),
    ({"observables": [{"kind": "chi", "grid": [2.0], "direction": "w"}]}, "direction must be"),
    ({"observables": [{"kind": "chi", "grid": [2.0], "direction": [0, 0, 0]}]}, "not all zero"),
    ({"observables": [{"kind": "chi", "grid": [2.0]}] * 2}, "names must be unique"),
    ({"observables": []}, "at least one"),
    ({"noise_range": (0.01, 0.02)}, "noise_range needs observables"),
])
def test_bad_observable_configurations_are_refused(overrides, message):
    with pytest.raises(ValueError, match=message):
        DatasetConfig(**overrides)


def test_bad_noise_range_is_refused():
    obs = [chi_observable([2.0, 10.0])]
    with pytest.raises(ValueError, match="0 < low <= high"):
        DatasetConfig(observables=obs, noise_range=(0.05, 0.002))
    with pytest.raises(ValueError, match="exclusive"):
        DatasetConfig(observables=obs, noise_range=(0.002, 0.05), noise_rel=0.01)


# ---- numbers of a multi-observable store ----------------------------------------------------

D3D = dict(n_sets=8, chunk_sets=4, copies=3, seed=3)


@pytest.fixture(scope="module")
def powder(tmp_path_factory):
    path = tmp_path_factory.mktemp("d3d") / "powder.zarr"
    return generate_dataset(DatasetConfig.preset("er-d3d", **D3D), path, backend="numpy",
                            progress=False)


def test_shapes_index_and_clean_curves_equal_the_physics(powder):
    c = powder.config
    n = c.n_sets * (c.copies + 1)
    assert powder.curves.shape == (n, 64 + 27) and powder.T.shape == (91,)
    index = powder.attrs["observables"]
    assert [(k, v["start"], v["stop"], v["unit"], v["grid_unit"]) for k, v in index.items()] == \
        [("chi_powder_1T", 0, 64, "emu/mol", "K"), ("M_powder_2K", 64, 91, "muB/ion", "T")]
    assert np.array_equal(powder.T[:64], c.observables[0]["grid"])
    assert np.array_equal(powder.T[64:], c.observables[1]["grid"])
    levels = noise_levels(powder)
    assert levels.shape == (n, 2) and np.all(levels[powder.clean] == 0)
    assert list(powder.params.columns[:6]) == ["B20", "B40", "B43", "B60", "B63", "B66"]
    clean = powder.params[powder.clean][powder.param_names]
    T, B = np.array(c.observables[0]["grid"]), np.array(c.observables[1]["grid"])
    chi = ligandml.powder_susceptibility("Er3+", clean, T, field=1.0, backend="numpy")
    M = ligandml.powder_magnetization("Er3+", clean, B, [2.0], backend="numpy")[:, :, 0]
    assert np.allclose(observable_curves(powder, "chi_powder_1T")[powder.clean], chi,
                       rtol=1e-12, atol=0)
    assert np.allclose(observable_curves(powder, "M_powder_2K")[powder.clean], M,
                       rtol=1e-12, atol=0)
    # Er3+ saturates towards gJ J = 9 muB in the powder at most, and chi at 2 K exceeds 300 K
    assert np.all(M < 9.0) and np.all(chi[:, 0] > chi[:, -1])
    with pytest.raises(ValueError, match="no observable 'chi_z_1T'"):
        observable_curves(powder, "chi_z_1T")


def test_per_observable_normalisation_is_the_training_min_max(powder):
    norm = powder.attrs["observable_normalization"]
    train = ~powder.is_test
    for name in ("chi_powder_1T", "M_powder_2K"):
        block = observable_curves(powder, name)[train]
        assert (norm[name]["min"], norm[name]["max"]) == (block.min(), block.max())
    x = normalize_observables(powder, powder.curves[train])
    assert x[:, :64].min() == 0.0 and x[:, :64].max() == 1.0
    assert x[:, 64:].min() == 0.0 and x[:, 64:].max() == 1.0


def test_same_seed_same_bytes_and_chunks_stand_alone(powder, tmp_path):
    again = generate_dataset(DatasetConfig.preset("er-d3d", **D3D), tmp_path / "again.zarr",
                             backend="numpy", progress=False)
    assert store_files(again.path) == store_files(powder.path)
    chunk = compute_chunk(powder.config, 1, "numpy")
    r0, r1 = chunk.rows
    assert np.array_equal(chunk.curves, powder.curves[r0:r1])
    assert np.array_equal(chunk.noise_level, noise_levels(powder)[r0:r1])
    other = generate_dataset(DatasetConfig.preset("er-d3d", **{**D3D, "seed": 4}),
                             tmp_path / "other.zarr", backend="numpy", progress=False)
    assert not np.array_equal(other.curves, powder.curves)


def _two_observables(**overrides) -> DatasetConfig:
    """chi at 1 T and M at 2 K on grids that share the point (2 K, 1 T), plus crystal z."""
    obs = [chi_observable([2.0, 5.0, 20.0], field=1.0),
           magnetization_observable([0.5, 1.0, 5.0], 2.0),
           magnetization_observable([1.0, 3.0], 2.0, direction="z")]
    base = dict(params=["B20", "B40", "B43"], prior="scale-aware", observables=obs, n_sets=20,
                chunk_sets=10, copies=4, seed=9, lebedev_order=None)
    return DatasetConfig(**{**base, **overrides})


def test_s_m_is_one_factor_shared_by_all_observables_of_a_sample(tmp_path):
    c = _two_observables(sigma_dia=0.0, sigma_m=0.05)
    ds = generate_dataset(c, tmp_path / "sm.zarr", backend="numpy", progress=False)
    k = c.copies + 1
    curves = ds.curves.reshape(c.n_sets, k, -1)
    ratio = curves[:, 1:] / curves[:, :1]
    s_m = ds.params["s_m"].to_numpy().reshape(c.n_sets, k)[:, 1:]
    assert np.allclose(ratio, s_m[..., None], rtol=1e-12, atol=0)  # every column, one factor
    assert s_m.std() > 0.02 and len(np.unique(s_m)) == s_m.size      # really drawn per sample


def test_chi_dia_enters_M_as_chi_dia_H_over_5585(tmp_path):
    c = _two_observables(sigma_dia=0.004, sigma_m=0.0)
    ds = generate_dataset(c, tmp_path / "dia.zarr", backend="numpy", progress=False)
    k = c.copies + 1
    curves = ds.curves.reshape(c.n_sets, k, -1)
    chi_dia = ds.params["chi_dia"].to_numpy().reshape(c.n_sets, k)[:, 1:, None]
    assert chi_dia.std() > 0.002
    diff = curves[:, 1:] - curves[:, :1]
    assert np.allclose(diff[..., :3], chi_dia, rtol=1e-9, atol=1e-15)  # chi: + chi_dia
    B = np.array([0.5, 1.0, 5.0, 1.0, 3.0])
    # 1 muB per ion = N_A muB = 6.02214e23 * 9.27401e-21 erg/G = 5585 emu/mol; H = 1e4 Oe per T
    assert np.allclose(diff[..., 3:], chi_dia * B * 1e4 / 5585.0, rtol=2e-4, atol=1e-15)
    assert diamagnetic_moment(0.002, 5.0) == pytest.approx(0.002 * 5e4 / 5584.94, rel=1e-5)
    # the same point measured both ways: chi(2 K, 1 T) H / 5585 = M(1 T, 2 K), errors included
    chi_2K_1T, M_1T_2K = curves[..., 0], curves[..., 4]
    assert np.allclose(chi_2K_1T * 1e4 / 5584.938, M_1T_2K, rtol=1e-5)


def test_noise_levels_are_log_uniform_within_bounds(tmp_path):
    levels = draw_noise_levels(np.random.default_rng(0), 200_000, 0.002, 0.05)
    assert levels.min() >= 0.002 and levels.max() <= 0.05
    u = (np.log(levels) - np.log(0.002)) / (np.log(0.05) - np.log(0.002))
    assert stats.kstest(u, "uniform").pvalue > 1e-3
    assert np.median(levels) == pytest.approx(np.sqrt(0.002 * 0.05), rel=0.02)  # geometric mean
    # through the pipeline: levels stored per curve, and the residuals have that width
    c = _two_observables(sigma_dia=0.0, sigma_m=0.0, noise_range=(0.002, 0.05), n_sets=200,
                         chunk_sets=100, copies=10)
    ds = generate_dataset(c, tmp_path / "noise.zarr", backend="numpy", progress=False)
    stored = noise_levels(ds)[~ds.clean]
    assert stored.shape == (2000, 3) and stored.min() >= 0.002 and stored.max() <= 0.05
    assert len(np.unique(stored)) == stored.size  # one level per curve
    u = (np.log(stored.ravel()) - np.log(0.002)) / np.log(25)
    assert stats.kstest(u, "uniform").pvalue > 1e-3
    k = c.copies + 1
    curves = ds.curves.reshape(c.n_sets, k, -1)
    z = curves[:, 1:] / curves[:, :1] - 1.0
    cols = np.repeat(np.arange(3), [3, 3, 2])
    z /= noise_levels(ds).reshape(c.n_sets, k, 3)[:, 1:, cols]
    assert abs(z.std() - 1.0) < 0.03 and abs(z.mean()) < 0.03


def test_chiT_quantity_applies_to_chi_observables_only(tmp_path):
    a = generate_dataset(_two_observables(), tmp_path / "a.zarr", backend="numpy", progress=False)
    b = generate_dataset(_two_observables(quantity="chiT"), tmp_path / "b.zarr",
                         backend="numpy", progress=False)
    T = np.array([2.0, 5.0, 20.0])
    assert np.allclose(b.curves[:, :3], a.curves[:, :3] * T, rtol=1e-14)
    assert np.array_equal(b.curves[:, 3:], a.curves[:, 3:])
    assert b.attrs["observables"]["chi_powder_1T"]["unit"] == "emu K/mol"


def test_cli_preset_config_and_generate(tmp_path, capsys):
    assert cli_main(["dataset", "config", "--preset", "er-d3d", "--observables", "crystal"]) == 0
    out = capsys.readouterr().out
    assert 'prior = "scale-aware"' in out and 'name = "M_plane_2K"' in out
    store = tmp_path / "cli.zarr"
    assert cli_main(["dataset", "generate", "--preset", "er-d3d", "--observables", "powder",
                     "--n-sets", "4", "--chunk-sets", "2", "--copies", "1", "--out", str(store),
                     "--backend", "numpy", "--no-progress"]) == 0
    ds = ligandml.dataset.open_dataset(store)
    assert ds.config == DatasetConfig.preset("er-d3d", n_sets=4, chunk_sets=2, copies=1)
    assert cli_main(["dataset", "config", "--observables", "crystal"]) == 2
    assert "--observables" in capsys.readouterr().err


def test_resume_of_a_multi_observable_store(powder, tmp_path, monkeypatch):
    from ligandml import dataset as dsmod

    real = dsmod.compute_chunk

    def crash_on_second(config, chunk, backend):
        if chunk == 1:
            raise KeyboardInterrupt("simulated interruption")
        return real(config, chunk, backend)

    path = tmp_path / "resumed.zarr"
    monkeypatch.setattr(dsmod.generate, "compute_chunk", crash_on_second)
    with pytest.raises(KeyboardInterrupt):
        generate_dataset(powder.config, path, backend="numpy", progress=False)
    monkeypatch.setattr(dsmod.generate, "compute_chunk", real)
    ds = generate_dataset(powder.config, path, backend="numpy", progress=False)
    assert ds.timings["chunks_resumed_from"] == 1
    assert store_files(path) == store_files(powder.path)
    assert ds.attrs["observable_normalization"] == powder.attrs["observable_normalization"]
