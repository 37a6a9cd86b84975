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
