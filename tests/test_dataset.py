"""Augmented training datasets: configuration, numbers, storage, resume, normalisation."""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

import ligandml
from ligandml import dataset as dsmod
from ligandml.augmentation import draw_errors
from ligandml.dataset import (DatasetConfig, IncompleteDatasetError, compute_chunk,
                              generate_dataset, open_dataset, store_status)
from ligandml.normalization import MinMaxNormalizer, OutOfDistributionWarning

SMALL = dict(n_sets=230, chunk_sets=50, copies=3, n_T=16, seed=7)


def small_config(**overrides) -> DatasetConfig:
    return DatasetConfig(**{**SMALL, **overrides})


def store_files(path: Path) -> dict[str, bytes]:
    """Every file of a store except the root metadata (which holds wall-clock timings)."""
    return {str(f.relative_to(path)): f.read_bytes() for f in sorted(path.rglob("*"))
            if f.is_file() and f != path / "zarr.json"}


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    path = tmp_path_factory.mktemp("ds") / "small.zarr"
    return generate_dataset(small_config(sigma_m=0.05), path, backend="numpy", progress=False)


# ---- configuration ------------------------------------------------------------------------

def test_defaults_are_the_benchmark_task():
    c = DatasetConfig()
    assert (c.ion, c.n_sets, c.copies, c.n_curves, c.sigma_dia, c.sigma_m) == \
        ("Er3+", 57000, 10, 627000, 0.002, 0.0)
    assert c.params == {"D": (-10.0, 10.0), "E": (-20 / 3, 20 / 3)}
    T = c.temperatures()
    assert T.shape == (128,) and T[0] == 2.0 and np.isclose(T[-1], 300.0)
    assert np.allclose(T[1:] / T[:-1], (300 / 2) ** (1 / 127))  # geometric
    assert c.field is None and c.quantity == "chi" and c.test_fraction == 0.2


def test_toml_and_dict_round_trip(tmp_path):
    c = small_config(params={"B20": (-1, 1), "B43": (-0.01, 0.02)}, field=0.5, quantity="chiT",
                     T_values=[2, 5, 10, 50, 300])
    c.to_toml(tmp_path / "c.toml")
    assert DatasetConfig.from_toml(tmp_path / "c.toml") == c
    assert DatasetConfig.from_dict(c.to_dict()) == c
    assert DatasetConfig.from_toml(tmp_path / "c.toml", n_sets=5).n_sets == 5
    assert np.array_equal(c.temperatures(), [2.0, 5.0, 10.0, 50.0, 300.0])
    with pytest.raises(ValueError, match="unknown field"):
        DatasetConfig.from_dict({"n_set": 3})


@pytest.mark.parametrize("overrides, field", [
    ({"params": {"D": (1.0, 1.0)}}, "params"),                 # empty range
    ({"params": {"D": (2.0, -2.0)}}, "params"),                # inverted range
    ({"params": {"X": (0.0, 1.0)}}, "params"),                 # unknown name
    ({"params": {"B25": (0.0, 1.0)}}, "params"),               # |q| > k
    ({"params": {"D": (-1, 1), "B20": (-1, 1)}}, "params"),    # D and B20 together
    ({"params": {}}, "params"),
    ({"sigma_dia": -0.001}, "sigma_dia"),
    ({"sigma_m": -0.1}, "sigma_m"),
    ({"sigma_m": 0.7}, "sigma_m"),
    ({"noise_rel": -1e-3}, "noise_rel"),
    ({"T_min": 0.0}, "T_min"),
    ({"T_min": -2.0}, "T_min"),
    ({"T_max": 1.0}, "T_max"),                                 # T_max < T_min
    ({"T_values": [2.0, 0.0, 5.0]}, "T_values"),
    ({"n_sets": 0}, "n_sets"),
    ({"n_sets": 2.5}, "n_sets"),
    ({"copies": -1}, "copies"),
    ({"n_T": 1}, "n_T"),
    ({"field": 0.0}, "field"),
    ({"quantity": "M"}, "quantity"),
    ({"sampling": "grid"}, "sampling"),
    ({"test_fraction": 1.0}, "test_fraction"),
    ({"seed": -1}, "seed"),
    ({"ion": "Xx3+"}, "ion"),
    ({"chunk_sets": 0}, "chunk_sets"),
])
def test_bad_configurations_are_refused_naming_the_field(overrides, field):
    with pytest.raises(ValueError, match=f"DatasetConfig.{field}"):
        DatasetConfig(**overrides)


def test_refused_before_any_work(tmp_path):
    c = small_config()
    c.sigma_dia = -1.0  # mutated after construction: generate validates again
    with pytest.raises(ValueError, match="sigma_dia"):
        generate_dataset(c, tmp_path / "x.zarr", backend="numpy", progress=False)
    assert not (tmp_path / "x.zarr").exists()


# ---- numbers ------------------------------------------------------------------------------

def test_shapes_dtypes_and_layout(small):
    c = small.config
    n = c.n_sets * (c.copies + 1)
    assert small.curves.shape == (n, 16) and small.curves.dtype == np.float64
    assert small.T.shape == (16,) and np.array_equal(small.T, c.temperatures())
    assert list(small.params.columns) == ["D", "E", "chi_dia", "s_m", "set_index"]
    assert small.params.shape == (n, 5) and small.params["set_index"].dtype == np.int64
    assert small.clean.dtype == bool and small.clean.sum() == c.n_sets
    assert small.split.shape == (n,) and set(small.split) == {"train", "test"}
    assert small.representation == "chi" and small.param_names == ["D", "E"]
    assert np.array_equal(small.set_index, np.repeat(np.arange(c.n_sets), c.copies + 1))
    clean = small.params[small.clean]
    assert np.all(clean["chi_dia"] == 0.0) and np.all(clean["s_m"] == 1.0)
    # every copy carries its set's parameters
    for name in ("D", "E"):
        per_set = small.params[name].to_numpy().reshape(c.n_sets, c.copies + 1)
        assert np.all(per_set == per_set[:, :1])
    lo, hi = np.array(list(c.params.values())).T
    vals = clean[["D", "E"]].to_numpy()
    assert np.all(vals >= lo) and np.all(vals < hi)
    assert len(small.train) + len(small.test) == n
    assert small.attrs["ligandml_version"] == ligandml.__version__
    assert small.attrs["complete"] is True and small.backend == "numpy"
    assert {"physics_s", "augmentation_s", "writing_s", "wall_s"} <= set(small.timings)


def test_clean_curves_equal_powder_susceptibility_exactly(small):
    clean = small.params[small.clean]
    direct = ligandml.powder_susceptibility("Er3+", clean[small.param_names], small.T,
                                            backend="numpy")
    assert np.array_equal(small.curves[small.clean], direct)


def test_augmented_is_s_m_clean_plus_chi_dia(small):
    k = small.config.copies + 1
    curves = small.curves.reshape(-1, k, small.T.size)
    chi_dia = small.params["chi_dia"].to_numpy().reshape(-1, k)
    s_m = small.params["s_m"].to_numpy().reshape(-1, k)
    expected = s_m[:, 1:, None] * curves[:, :1, :] + chi_dia[:, 1:, None]
    assert np.array_equal(curves[:, 1:], expected)
    assert np.std(s_m[:, 1:]) > 0.02 and np.std(chi_dia[:, 1:]) > 0.001  # errors really drawn


def test_chiT_representation(tmp_path):
    c = small_config(quantity="chiT", sigma_m=0.05, n_sets=60, chunk_sets=25)
    ds = generate_dataset(c, tmp_path / "chiT.zarr", backend="numpy", progress=False)
    clean = ds.params[ds.clean]
    chi = ligandml.powder_susceptibility("Er3+", clean[["D", "E"]], ds.T, backend="numpy")
    assert ds.representation == "chiT"
    assert np.array_equal(ds.curves[ds.clean], chi * ds.T)
    k = c.copies + 1
    curves = ds.curves.reshape(-1, k, ds.T.size)
    chi_dia = ds.params["chi_dia"].to_numpy().reshape(-1, k)[:, 1:, None]
    s_m = ds.params["s_m"].to_numpy().reshape(-1, k)[:, 1:, None]
    assert np.array_equal(curves[:, 1:], s_m * curves[:, :1] + chi_dia * ds.T)


def test_finite_field_stevens_parameters_in_other_units(tmp_path):
    c = small_config(params={"B20": (-2.0, 2.0), "B22": (0.0, 1.0), "B43": (-0.02, 0.02)},
                     unit="cm-1", field=1.0, n_sets=12, chunk_sets=5, n_T=8, copies=1)
    ds = generate_dataset(c, tmp_path / "field.zarr", backend="numpy", progress=False)
    assert ds.param_names == ["B20", "B22", "B43"]
    clean = ds.params[ds.clean]
    direct = ligandml.powder_susceptibility("Er3+", clean[ds.param_names], ds.T, field=1.0,
                                            unit="cm-1", backend="numpy")
    assert np.array_equal(ds.curves[ds.clean], direct)
    zero = ligandml.powder_susceptibility("Er3+", clean[ds.param_names], ds.T, unit="cm-1",
                                          backend="numpy")
    assert not np.allclose(direct[:, 0], zero[:, 0], rtol=1e-3)  # the field is really used


def test_error_draws_have_the_requested_widths(tmp_path):
    z_dia, s_m = draw_errors(np.random.default_rng(3), 100_000, 0.002, 0.04)
    assert abs(z_dia.std() / 0.002 - 1) < 0.03 and abs(z_dia.mean()) < 3 * 0.002 / np.sqrt(1e5)
    assert abs((s_m - 1).std() / 0.04 - 1) < 0.03
    # and through the whole pipeline: 10^5 augmented curves
    c = small_config(n_sets=10_000, copies=10, n_T=2, chunk_sets=2500, sigma_dia=0.004,
                     noise_rel=0.01)
    ds = generate_dataset(c, tmp_path / "wide.zarr", backend="numpy", progress=False)
    aug = ~ds.clean
    assert aug.sum() == 100_000
    assert abs(ds.params["chi_dia"][aug].std() / 0.004 - 1) < 0.03
    # relative noise: residual / (s_m clean + chi_dia) - 1 has std noise_rel
    k = c.copies + 1
    curves = ds.curves.reshape(-1, k, 2)
    chi_dia = ds.params["chi_dia"].to_numpy().reshape(-1, k)[:, 1:, None]
    noiseless = curves[:, :1] + chi_dia
    assert abs((curves[:, 1:] / noiseless - 1).std() / 0.01 - 1) < 0.03


def test_split_is_by_parameter_set(small):
    c = small.config
    per_set = small.is_test.reshape(c.n_sets, c.copies + 1)
    assert np.all(per_set == per_set[:, :1])  # copies never straddle train and test
    assert per_set[:, 0].sum() == round(0.2 * c.n_sets)
    assert not set(small.train.params["set_index"]) & set(small.test.params["set_index"])


def test_sobol_draws_do_not_depend_on_chunking():
    a = small_config(sampling="sobol", n_sets=96, chunk_sets=96)
    b = small_config(sampling="sobol", n_sets=96, chunk_sets=20)
    whole = dsmod.draw_parameters(a, 0)
    pieces = np.concatenate([dsmod.draw_parameters(b, i) for i in range(b.n_chunks)])
    assert np.array_equal(whole, pieces)
    assert np.all(whole[:, 0] >= -10) and np.all(whole[:, 0] < 10)


# ---- determinism, storage, resume --------------------------------------------------------

def test_same_config_same_bytes_and_chunks_are_order_independent(small, tmp_path):
    again = generate_dataset(small_config(sigma_m=0.05), tmp_path / "again.zarr",
                             backend="numpy", progress=False)
    assert store_files(small.path) == store_files(again.path)
    assert again.curves.tobytes() == small.curves.tobytes()
    # one chunk computed alone, out of order, gives the stored rows
    chunk = compute_chunk(small.config, 3, "numpy")
    r0, r1 = chunk.rows
    assert np.array_equal(chunk.curves, small.curves[r0:r1])
    other = generate_dataset(small_config(sigma_m=0.05, seed=8), tmp_path / "other.zarr",
                             backend="numpy", progress=False)
    assert not np.array_equal(other.curves, small.curves)


def test_resume_after_interruption(small, tmp_path, monkeypatch, interrupted_generate):
    real, calls = dsmod.compute_chunk, []
    path = tmp_path / "resumed.zarr"
    interrupted_generate(small_config(sigma_m=0.05), path)
    status = store_status(path)
    assert status["complete"] is False and status["chunks_done"] == 2
    with pytest.raises(IncompleteDatasetError, match="incomplete dataset.*rerun generate"):
        open_dataset(path)
    calls.clear()
    monkeypatch.setattr(dsmod.generate, "compute_chunk", lambda *a, **k: (calls.append(a[1]), real(*a, **k))[1])
    ds = generate_dataset(small_config(sigma_m=0.05), path, backend="numpy", progress=False)
    assert calls == [2, 3, 4]  # only the missing chunks
    assert ds.timings["chunks_resumed_from"] == 2
    assert store_files(path) == store_files(small.path)
    # a complete store is just opened; a different configuration is refused
    calls.clear()
    generate_dataset(small_config(sigma_m=0.05), path, backend="numpy", progress=False)
    assert calls == []
    with pytest.raises(ValueError, match="different configuration.*sigma_dia"):
        generate_dataset(small_config(sigma_m=0.05, sigma_dia=0.001), path, backend="numpy",
                         progress=False)


def test_overwrite_only_replaces_dataset_stores(tmp_path):
    c = small_config(n_sets=20, chunk_sets=10)
    generate_dataset(c, tmp_path / "a.zarr", backend="numpy", progress=False)
    ds = generate_dataset(c.replace(seed=1), tmp_path / "a.zarr", backend="numpy",
                          progress=False, overwrite=True)
    assert ds.config.seed == 1
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "keep.txt").write_text("mine")
    with pytest.raises(ValueError, match="refusing to overwrite"):
        generate_dataset(c, tmp_path / "notes", backend="numpy", progress=False, overwrite=True)
    assert (tmp_path / "notes" / "keep.txt").exists()
    with pytest.raises(FileNotFoundError):
        open_dataset(tmp_path / "missing.zarr")


# ---- normalisation ------------------------------------------------------------------------

def test_normalizer_fitted_on_training_split(small):
    norm = small.normalizer
    train = small.curves[small.split == "train"]
    assert norm.min == train.min() and norm.max == train.max()
    assert norm.quantity == "chi"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        x = norm.transform(train)
    assert x.min() == 0.0 and x.max() == 1.0
    assert np.allclose(norm.inverse_transform(x), train, rtol=0, atol=1e-14 * norm.max)
    assert MinMaxNormalizer.from_dict(norm.to_dict()) == norm


def test_out_of_range_curve_warns_and_is_not_clipped():
    norm = MinMaxNormalizer(0.0, 2.0, quantity="chi")
    curves = np.array([[0.5, 1.0, 1.5], [0.1, 1.0, 2.4], [-0.2, 0.3, 0.4]])
    with pytest.warns(OutOfDistributionWarning, match="2 of 3 curve"):
        x = norm.transform(curves)
    assert x[1, 2] == pytest.approx(1.2) and x[2, 0] == pytest.approx(-0.1)
    assert list(norm.out_of_range(curves)) == [False, True, True]
    assert issubclass(OutOfDistributionWarning, UserWarning)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        norm.transform(np.array([0.0, 2.0 + 1e-7]))  # within the tolerance
    with pytest.raises(ValueError, match="max"):
        MinMaxNormalizer(1.0, 1.0)
