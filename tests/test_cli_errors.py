"""Every CLI error is one clear line, never a traceback (issue 11, items 4 and 6)."""
from __future__ import annotations

import argparse
import warnings

import numpy as np
import pandas as pd
import pytest

from ligandml.benchmark_task import benchmark_curve
from ligandml.cli import build_parser, main


@pytest.fixture
def curve_csv(tmp_path):
    T, chi = benchmark_curve("axial", backend="numpy")
    path = tmp_path / "c.csv"
    pd.DataFrame({"T": T, "chi": chi}).to_csv(path, index=False)
    return path


def _run(capsys, argv):
    capsys.readouterr()
    rc = main(argv)
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


def _one_line(err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def _raising(monkeypatch, exc):
    """Make `ligandml levels` raise exc (the handler is the same for every command)."""
    import ligandml.commands.physics as physics

    def boom(args):
        raise exc

    monkeypatch.setattr(physics, "run_levels", boom)


@pytest.mark.parametrize("exc, status, words", [
    (KeyboardInterrupt(), 130, "interrupted"),
    (PermissionError(13, "Permission denied", "/root/x.csv"), 2, "permission denied: /root/x.csv"),
    (FileExistsError(17, "File exists", "out.zarr"), 2, "out.zarr exists; choose another path or pass --overwrite"),
    (KeyError("T"), 2, "missing entry 'T'"),
    (TypeError("unsupported operand type(s) for +: 'int' and 'str'"), 2, "unsupported operand"),
    (IsADirectoryError(21, "Is a directory", "somewhere"), 2, "somewhere is a directory"),
    (UnicodeDecodeError("utf-8", b"\xff\xfeT\x00", 0, 1, "invalid start byte"), 2,
     "file is UTF-16; save as UTF-8"),
])
def test_exceptions_become_one_line_and_an_exit_status(monkeypatch, capsys, exc, status, words):
    _raising(monkeypatch, exc)
    rc, _, err = _run(capsys, ["levels", "-p", "D=-6"])
    assert rc == status
    assert words in _one_line(err) and err.startswith("ligandml levels: error: ")


def test_debug_shows_the_traceback(monkeypatch):
    _raising(monkeypatch, KeyError("T"))
    monkeypatch.setenv("LIGANDML_DEBUG", "1")
    with pytest.raises(KeyError):
        main(["levels", "-p", "D=-6"])


def test_safetensors_error_is_one_line(tmp_path, capsys, curve_csv):
    from ligandml.model import DEFAULT_MODEL_DIR

    model = tmp_path / "model"
    model.mkdir()
    (model / "model.json").write_text((DEFAULT_MODEL_DIR / "model.json").read_text())
    (model / "weights.safetensors").write_bytes(b"\x00" * 64)
    rc, _, err = _run(capsys, ["predict", str(curve_csv), "--model", str(model), "--n-samples", "10"])
    assert rc == 2
    warnings_, errors = [], []
    for text in err.strip().splitlines():
        (warnings_ if text.startswith("warning: ") else errors).append(text)
    assert all("no integrity.json" in w for w in warnings_)  # a folder without a record: one line
    line = _one_line("\n".join(errors))
    assert "weights" in line or "safetensors" in line.lower()


def test_utf16_and_directory_inputs(tmp_path, capsys, curve_csv):
    u16 = tmp_path / "u16.csv"
    u16.write_text(curve_csv.read_text(), encoding="utf-16")
    rc, _, err = _run(capsys, ["predict", str(u16)])
    assert rc == 2 and "file is UTF-16; save as UTF-8" in _one_line(err)
    rc, _, err = _run(capsys, ["compare", str(tmp_path), "--no-network"])
    assert rc == 2 and "is a directory" in _one_line(err)
    rc, _, err = _run(capsys, ["predict", str(tmp_path / "missing.csv")])
    assert rc == 2 and "missing.csv" in _one_line(err)


def test_invalid_rows_are_an_error_unless_dropped_and_counted(tmp_path, capsys):
    T, chi = benchmark_curve("axial", backend="numpy")
    rows = [f"{t!r},{c!r}" for t, c in zip(T.tolist(), chi.tolist())]
    rows[5], rows[9], rows[20] = f"{T[5]},nan", f"{T[9]},--", f"{T[20]},inf"
    path = tmp_path / "bad.csv"
    path.write_text("T,chi\n" + "\n".join(rows) + "\n")
    rc, _, err = _run(capsys, ["predict", str(path), "--n-samples", "20"])
    line = _one_line(err)
    assert rc == 2 and "3 row(s) hold text, NaN or inf" in line and "--drop-invalid" in line
    assert "drop_invalid" not in line
    rc, out, err = _run(capsys, ["predict", str(path), "--n-samples", "20", "--drop-invalid"])
    assert rc == 0 and "dropped 3 invalid row(s)" in out


def test_repeats_are_averaged_only_on_request(tmp_path, capsys):
    T, chi = benchmark_curve("axial", backend="numpy")
    TT, cc = np.r_[T, T[:4] + 0.001], np.r_[chi, chi[:4]]
    path = tmp_path / "rep.csv"
    pd.DataFrame({"T": TT, "chi": cc}).to_csv(path, index=False)
    rc, _, err = _run(capsys, ["compare", str(path), "--no-network", "--no-grid", "--starts", "2"])
    assert rc == 2 and "repeated" in _one_line(err) and "--average-repeats TOL" in err
    rc, out, _ = _run(capsys, ["predict", str(path), "--n-samples", "20", "--average-repeats", "0.01"])
    assert rc == 0 and "4 point(s) merged, 128 remain" in out


def test_compare_runs_each_method_on_its_own(monkeypatch, capsys, curve_csv):
    import ligandml.comparison as cmp

    def broken(*a, **k):
        raise ValueError("the grid says no")

    monkeypatch.setattr(cmp, "run_grid_posterior", broken)
    rc, out, _ = _run(capsys, ["compare", str(curve_csv), "--no-network", "--starts", "4"])
    assert rc == 0
    grid_row = next(ln for ln in out.splitlines() if ln.lstrip().startswith("exact posterior"))
    assert "failed: the grid says no" in grid_row
    lsq_row = next(ln for ln in out.splitlines() if ln.lstrip().startswith("least squares "))
    assert "failed" not in lsq_row and "-6" in lsq_row


def test_compare_network_at_another_field_fails_in_its_row_with_the_message():
    from ligandml.comparison import compare_curve
    from ligandml.model import load_model

    T, chi = benchmark_curve("axial", backend="numpy")
    rows = compare_curve(T, chi, models={"default": load_model()}, field=1.0, grid=False, starts=2,
                         n_samples=20)
    net = next(r for r in rows if r.method.startswith("VAE-INN"))
    assert "measured at 1 T but the model was trained at zero field" in net.note
    hybrid = next(r for r in rows if r.method.startswith("hybrid"))
    assert hybrid.note.startswith("failed:") and "Error" not in hybrid.note


def test_warning_notes_are_messages_not_class_names():
    from ligandml.comparison import run_network
    from ligandml.model import load_model

    T, chi = benchmark_curve("axial", backend="numpy")
    row = run_network(load_model(), "default", T[T > 2.4], chi[T > 2.4], n_samples=20)
    assert "extrapolated" in row.note and "Warning" not in row.note


def test_warnings_are_one_line_each_once(monkeypatch, capsys):
    import ligandml.commands.physics as physics

    long = ("Julia backend unavailable, using NumPy: Julia is not installed and juliacall cannot "
            "download it: " + "x" * 700 + ".\nTo use Julia: ...")

    def warns(args):
        for _ in range(3):
            warnings.warn(long, UserWarning)
        warnings.warn("two\nlines", UserWarning)
        return 0

    monkeypatch.setattr(physics, "run_levels", warns)
    rc, _, err = _run(capsys, ["levels", "-p", "D=-6"])
    lines = err.splitlines()
    assert rc == 0 and len(lines) == 2, err
    assert lines[0].startswith("warning: Julia backend unavailable, using NumPy") and len(lines[0]) < 120
    assert lines[1] == "warning: two lines"


def test_bogus_backend_is_refused_by_every_command(monkeypatch, capsys, tmp_path, curve_csv):
    monkeypatch.setenv("LIGANDML_BACKEND", "cuda-magic")
    for argv in (["levels", "-p", "D=-6"], ["curve", "-p", "D=-6", "--out", str(tmp_path / "c.csv")],
                 ["dataset", "generate", "--n-sets", "8", "--out", str(tmp_path / "d.zarr")],
                 ["predict", str(curve_csv)], ["compare", str(curve_csv), "--no-network"]):
        rc, _, err = _run(capsys, argv)
        assert rc == 2 and "$LIGANDML_BACKEND" in _one_line(err) and "cuda-magic" in err, argv
    assert not (tmp_path / "d.zarr").exists()


def test_dataset_generate_honours_the_backend_variable(monkeypatch, capsys, tmp_path):
    from ligandml.dataset import store_status

    monkeypatch.setenv("LIGANDML_BACKEND", "numpy")
    rc, _, err = _run(capsys, ["dataset", "generate", "--n-sets", "8", "--copies", "1", "--chunk-sets", "8",
                               "--out", str(tmp_path / "d.zarr"), "--no-progress"])
    assert rc == 0, err
    assert store_status(tmp_path / "d.zarr")["backend"] == "numpy"
    assert "Julia" not in err  # numpy asked for: no Julia probe, no fallback warning
    rc, _, err = _run(capsys, ["dataset", "generate", "--n-sets", "8", "--copies", "1", "--chunk-sets", "8",
                               "--seed", "5", "--out", str(tmp_path / "d.zarr"), "--no-progress"])
    line = _one_line(err)
    assert rc == 2 and "--overwrite" in line and "overwrite=True" not in line


def test_predict_writes_files_only_when_asked(monkeypatch, capsys, tmp_path, curve_csv):
    monkeypatch.chdir(tmp_path)
    before = set(tmp_path.iterdir())
    rc, out, _ = _run(capsys, ["predict", str(curve_csv), "--n-samples", "50"])
    assert rc == 0 and set(tmp_path.iterdir()) == before and "wrote" not in out
    rc, out, _ = _run(capsys, ["predict", str(curve_csv), "--n-samples", "50", "--report", "rep"])
    assert rc == 0 and (tmp_path / "rep" / "summary.md").is_file()


def test_train_finds_its_default_config_in_the_package(capsys, tmp_path):
    from ligandml.commands.model import train_config_path
    from ligandml.model import DEFAULT_MODEL_DIR
    from ligandml.training import read_train_toml

    assert train_config_path("default") == DEFAULT_MODEL_DIR / "train.toml"
    assert read_train_toml(train_config_path("default"))[0]["kind"] == "nsf"
    rc, _, err = _run(capsys, ["train", "--data", str(tmp_path / "d.zarr"), "--out", str(tmp_path / "m"),
                               "--config", "no-such-recipe"])
    assert rc == 2 and "shipped: default" in _one_line(err)


def test_dataset_config_takes_sigma_dia_from_a_formula(capsys, tmp_path):
    import tomllib

    from ligandml import diamagnetic_correction

    rc, _, _ = _run(capsys, ["dataset", "config", "--formula", "C36H48Er2N12O18", "--ions-per-formula", "2",
                             "--out", str(tmp_path / "c.toml")])
    sigma = tomllib.loads((tmp_path / "c.toml").read_text())["sigma_dia"]
    assert rc == 0 and sigma == pytest.approx(diamagnetic_correction("C36H48Er2N12O18").sigma / 2)
    rc, _, err = _run(capsys, ["dataset", "config", "--formula", "ErCl3", "--sigma-dia", "0.001"])
    assert rc == 2 and "not both" in _one_line(err)


def test_every_option_has_a_help_text():
    missing = []

    def walk(parser, name):
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for sub_name, sub in action.choices.items():
                    walk(sub, f"{name} {sub_name}")
            elif not isinstance(action, argparse._HelpAction) and not action.help:
                missing.append(f"{name} {'/'.join(action.option_strings) or action.dest}")

    walk(build_parser(), "ligandml")
    assert missing == []
