"""`ligandml compare` and the comparison table (ligandml.comparison)."""
from __future__ import annotations

import numpy as np
import pytest

from ligandml.benchmark_task import benchmark_curve
from ligandml.cli import main
from ligandml.comparison import compare_curve, results_table
from ligandml.curves import read_curve


def test_compare_table_scores_the_fits_against_the_truth():
    T, chi = benchmark_curve("axial")
    results = compare_curve(T, chi, starts=32, grid=False)
    table = results_table(results, truth={"D": -6.0, "E": 0.5, "chi_dia": 0.002}).set_index("method")
    assert table.loc["least squares", "err_point"] < 1e-4
    assert table.loc["least squares", "found"] == 6
    assert abs(table.loc["least squares", "chi_dia_error"]) < 1e-8
    assert table.loc["least squares (no chi_dia)", "err_point"] > 0.1  # its bias is shown, not hidden


def test_compare_command_reads_chiT_per_formula_and_writes_a_report(tmp_path, capsys):
    T, chi = benchmark_curve("rhombic")
    path = tmp_path / "curve.csv"
    np.savetxt(path, np.c_[T, 2 * chi * T], delimiter=",", header="T,chiT", comments="")
    Tr, y = read_curve(path, "chiT")
    assert np.allclose(Tr, T) and np.allclose(y, 2 * chi * T)
    rc = main(["compare", str(path), "--quantity", "chiT", "--ions-per-formula", "2", "--no-network",
               "--no-grid", "--starts", "16", "--report", str(tmp_path / "rep")])
    assert rc == 0
    out = capsys.readouterr().out
    assert "least squares (no chi_dia)" in out
    assert (tmp_path / "rep" / "table.md").is_file() and (tmp_path / "rep" / "posteriors.png").is_file()


def test_compare_command_missing_file_is_an_error(tmp_path, capsys):
    assert main(["compare", str(tmp_path / "nope.csv"), "--no-network"]) == 2
    with pytest.raises(ValueError, match="numeric"):
        p = tmp_path / "bad.csv"
        p.write_text("a,b\nx,y\n")
        read_curve(p)


def test_find_models_searches_only_the_given_studies_folder(tmp_path):
    from ligandml.comparison import find_models

    base = find_models()
    assert set(base) <= {"default"}
    (tmp_path / "models" / "sigma_0.002_long").mkdir(parents=True)
    (tmp_path / "models" / "sigma_0.002_long" / "model.json").write_text("{}")
    found = find_models(tmp_path)
    assert found["sigma_dia=0.002 long"] == tmp_path / "models" / "sigma_0.002_long"
    assert list(found)[: len(base)] == list(base)


def test_dataset_plot_command_draws_from_plots(tmp_path):
    from ligandml.dataset import DatasetConfig, generate_dataset

    generate_dataset(DatasetConfig(n_sets=60, copies=2, chunk_sets=30, quantity="chiT"), tmp_path / "d.zarr",
                     backend="numpy", progress=False)
    assert main(["dataset", "plot", str(tmp_path / "d.zarr"), "--out", str(tmp_path / "d.png")]) == 0
    assert (tmp_path / "d.png").stat().st_size > 20_000


def test_grid_posterior_and_fit_share_the_sample_set_views():
    """The exact posterior is a SampleSet: canonical, clusters, distances and refinement as for
    the network's posterior, on the curve it was given."""
    from ligandml.grid_posterior import grid_posterior
    from ligandml.posterior import SampleSet

    T, chi = benchmark_curve("axial")
    post = grid_posterior(T, chi, "Er3+", noise_rel=0.01, n_samples=500, spacing=0.4)
    assert isinstance(post, SampleSet)
    np.testing.assert_array_equal(post.curve, chi)
    assert post.box == {"D": (-10.0, 10.0), "E": (-20 / 3, 20 / 3)}
    cl = post.clusters()
    from ligandml.parameters import canonical_DE
    Dc, Ec = canonical_DE(cl.iloc[0]["D"], cl.iloc[0]["E"])
    assert np.hypot(Dc + 6.0, Ec - 0.5) < 0.5 and cl["weight"].sum() == pytest.approx(1.0, abs=0.05)
    assert np.median(post.nearest_distance(-6.0, 0.5)) < 0.5
    assert post.equivalent_fractions(-6.0, 0.5).sum() == pytest.approx(1.0)
    fit = post.refine(max_starts=6)  # the grid posterior's samples as starts: the exact minima
    assert abs(fit.best["chi_dia"] - 0.002) < 1e-5
    assert fit.point_estimate()["D"] == pytest.approx(-6.0, abs=1e-3)
