"""Dataset stores are verified, not trusted: a deleted chunk, a flipped byte and an edited
attribute are each detected (open_dataset, `ligandml dataset verify`); a rerun recomputes the
damage and the store then equals a clean run byte for byte; a half-created store recovers;
concurrent writers and SIGINT leave a consistent store; `train` refuses a store that does not
verify."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from ligandml.cli import main
from ligandml.dataset import (DamagedDatasetError, DatasetConfig, IncompleteDatasetError,
                              generate_dataset, open_dataset, store_status, verify_store)
from ligandml.dataset.store import prepare_store

ROOT = Path(__file__).resolve().parents[1]
SMALL = dict(n_sets=24, chunk_sets=4, n_T=12, copies=2, sigma_m=0.05, seed=3)  # 6 chunks


def small_config(**overrides) -> DatasetConfig:
    return DatasetConfig(**{**SMALL, **overrides})


def store_files(path: Path) -> dict[str, bytes]:
    """Every file of a store except the root metadata (which holds wall-clock timings)."""
    return {str(f.relative_to(path)): f.read_bytes() for f in sorted(path.rglob("*"))
            if f.is_file() and f != path / "zarr.json"}


def root_attrs(path: Path) -> dict:
    """The root attributes but the run-dependent ones (timings and the digest covering them)."""
    attrs = json.loads((path / "zarr.json").read_text())["attributes"]
    return {k: v for k, v in attrs.items() if k not in ("timings", "attrs_sha256")}


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    path = tmp_path_factory.mktemp("clean") / "clean.zarr"
    generate_dataset(small_config(), path, backend="numpy", progress=False)
    return path


@pytest.fixture
def copy(clean, tmp_path):
    out = tmp_path / "copy.zarr"
    shutil.copytree(clean, out)
    return out


def edit_attrs(path: Path, **changes) -> None:
    meta = json.loads((path / "zarr.json").read_text())
    for key, value in changes.items():
        if key == "ion":
            meta["attributes"]["config"]["ion"] = value
        else:
            meta["attributes"][key] = value
    (path / "zarr.json").write_text(json.dumps(meta))


def cli(capsys, *argv) -> tuple[int, str]:
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out + out.err


def assert_detected(path: Path, capsys, pattern: str) -> None:
    """open_dataset raises naming the damage; `dataset verify` and `dataset info` exit 1."""
    with pytest.raises(DamagedDatasetError, match=pattern):
        open_dataset(path)
    code, text = cli(capsys, "dataset", "verify", path, "--no-progress")
    assert code == 1 and "DAMAGED" in text
    assert __import__("re").search(pattern, text), text
    code, text = cli(capsys, "dataset", "info", path)
    assert code == 1 and "complete, verified" not in text


def assert_rerun_repairs(path: Path, clean: Path) -> None:
    ds = generate_dataset(small_config(), path, backend="numpy", progress=False)
    assert verify_store(path).ok
    assert store_files(path) == store_files(clean)
    assert root_attrs(path) == root_attrs(clean)
    assert np.array_equal(ds.curves, open_dataset(clean).curves)


def test_clean_store_verifies(clean, capsys):
    report = verify_store(clean)
    assert report.ok and report.n_chunks == 6
    assert open_dataset(clean).normalizer.to_dict()["min"] == report.train_min
    code, text = cli(capsys, "dataset", "verify", clean, "--no-progress")
    assert code == 0 and "verified (6 chunks)" in text


def test_deleted_chunk_is_detected_and_recomputed(copy, clean, capsys):
    (copy / "curves" / "c" / "2" / "0").unlink()  # reads back as fill values (NaN)
    report = verify_store(copy)
    assert list(report.damaged) == [2] and "curves" in report.damaged[2]
    assert_detected(copy, capsys, r"chunk 2: damaged")
    assert_rerun_repairs(copy, clean)


def test_deleted_done_marker_is_missing_and_recomputed(copy, clean, capsys):
    (copy / "done" / "c" / "4").unlink()
    report = verify_store(copy)
    assert report.missing == [4] and any("marked complete" in s for s in report.stale_record)
    with pytest.raises(DamagedDatasetError, match="marked complete but 1 chunk"):
        open_dataset(copy)
    assert_rerun_repairs(copy, clean)


@pytest.mark.parametrize("where", [0.25, 0.5, 0.9])
def test_flipped_byte_in_a_compressed_chunk_is_detected(copy, clean, capsys, where):
    chunk_file = copy / "curves" / "c" / "3" / "0"
    data = bytearray(chunk_file.read_bytes())
    data[int(where * len(data))] ^= 0x04
    chunk_file.write_bytes(bytes(data))
    report = verify_store(copy)  # either it no longer decompresses or its values changed
    assert list(report.damaged) == [3], report
    assert_detected(copy, capsys, r"chunk 3: damaged")
    assert_rerun_repairs(copy, clean)


def test_flipped_byte_in_a_plain_value_is_detected(copy, clean, capsys):
    f = copy / "chunk_train_max" / "c" / "1"
    data = bytearray(f.read_bytes())
    data[-2] ^= 0x01  # the exponent byte of a float64: a different, finite value
    f.write_bytes(bytes(data))
    assert_detected(copy, capsys, r"chunk 1: damaged \(checksum mismatch in train_minmax\)")
    assert_rerun_repairs(copy, clean)


def test_edited_ion_is_detected_and_not_repaired(copy, capsys):
    edit_attrs(copy, ion="Dy3+")
    assert_detected(copy, capsys, r"config_sha256 differs")
    with pytest.raises(ValueError, match="config_sha256"):  # nothing a rerun could fix
        generate_dataset(small_config(ion="Dy3+"), copy, backend="numpy", progress=False)
    with pytest.raises(ValueError, match="different configuration.*ion"):
        generate_dataset(small_config(), copy, backend="numpy", progress=False)


def test_edited_normalisation_is_detected_and_rewritten(copy, clean, capsys):
    meta = json.loads((copy / "zarr.json").read_text())
    norm = dict(meta["attributes"]["normalization"], max=meta["attributes"]["normalization"]["max"] * 2)
    edit_attrs(copy, normalization=norm)
    assert_detected(copy, capsys, r"record: .*attrs_sha256")
    assert any("normalisation min/max" in s for s in verify_store(copy).stale_record)
    assert_rerun_repairs(copy, clean)


def test_complete_flag_on_an_unfinished_store(tmp_path, clean, interrupted_generate, capsys):
    path = tmp_path / "half.zarr"
    interrupted_generate(small_config(), path)
    with pytest.raises(IncompleteDatasetError):
        open_dataset(path)
    edit_attrs(path, complete=True)
    with pytest.raises(DamagedDatasetError, match="marked complete but 4 chunk"):
        open_dataset(path)
    code, text = cli(capsys, "dataset", "info", path)
    assert code == 1 and "(2/6 chunks)" in text and "complete, verified" not in text
    assert_rerun_repairs(path, clean)


def test_half_created_store_is_recreated(tmp_path, clean):
    import zarr

    # what a kill during creation left before creation became atomic: a group, some arrays,
    # no attributes
    for overwrite in (False, True):
        path = tmp_path / f"half-{overwrite}.zarr"
        group = zarr.open_group(str(path), mode="w-", zarr_format=3)
        group.create_array("T", shape=(3,), dtype="float64")
        group.create_array("curves", shape=(4, 3), dtype="float64")
        ds = generate_dataset(small_config(), path, backend="numpy", progress=False,
                              overwrite=overwrite)
        assert verify_store(ds.path).ok and store_files(path) == store_files(clean)
    # a folder holding anything else is still refused
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep")
    with pytest.raises(ValueError, match="refusing to overwrite"):
        generate_dataset(small_config(), tmp_path / "mine", backend="numpy", progress=False,
                         overwrite=True)
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep"


def test_kill_during_creation_leaves_nothing_at_the_path(tmp_path, clean, monkeypatch):
    from ligandml.dataset import store

    real_build = store._build_store

    def killed(path, config, backend):
        real_build(path, config, backend)
        raise KeyboardInterrupt("killed after building, before the rename")

    path = tmp_path / "k.zarr"
    monkeypatch.setattr(store, "_build_store", killed)
    with pytest.raises(KeyboardInterrupt):
        generate_dataset(small_config(), path, backend="numpy", progress=False)
    monkeypatch.setattr(store, "_build_store", real_build)
    assert not path.exists()
    # a SIGKILL leaves the temporary folder of a process that is gone: cleared on the next run
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    stale = tmp_path / f".k.zarr.creating-{dead}-deadbeef"
    stale.mkdir()
    generate_dataset(small_config(), path, backend="numpy", progress=False)
    assert not stale.exists() and store_files(path) == store_files(clean)


def test_concurrent_creators_share_one_store(tmp_path, clean):
    path, config = tmp_path / "race.zarr", small_config()
    barrier, errors, groups = threading.Barrier(6), [], []

    def create():
        barrier.wait()
        try:
            groups.append(prepare_store(path, config, "numpy", False))
        except BaseException as exc:  # noqa: BLE001 - the test reports any
            errors.append(exc)

    threads = [threading.Thread(target=create) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(groups) == 6
    assert not list(tmp_path.glob(".race.zarr.*"))  # no temporary folder left behind
    ds = generate_dataset(config, path, backend="numpy", progress=False)
    assert verify_store(ds.path).ok and store_files(path) == store_files(clean)


def _generate_command(path: Path, sleep_s: float = 0.0) -> list[str]:
    """A subprocess running `ligandml dataset generate` on SMALL (every chunk after the first two
    slowed by sleep_s: a window for a signal that a loaded machine cannot close)."""
    args = ["dataset", "generate", "--out", str(path), "--backend", "numpy", "--no-progress",
            "--n-sets", "24", "--chunk-sets", "4", "--n-T", "12", "--copies", "2",
            "--sigma-m", "0.05", "--seed", "3"]
    script = textwrap.dedent(f"""
        import signal, sys, time
        # Ctrl-C as in a terminal, also when the test runner was started in the background
        # (a background shell job inherits SIGINT ignored, and Python then keeps it ignored)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        import ligandml.dataset.generate as g
        real = g.compute_chunk
        calls = []
        def slow(*a, **k):
            calls.append(1)
            if len(calls) > 2:
                time.sleep({sleep_s})
            return real(*a, **k)
        g.compute_chunk = slow
        from ligandml.cli import main
        sys.exit(main({args!r}))
    """)
    return [sys.executable, "-c", script]


def _env():
    return {**os.environ, "PYTHONPATH": str(ROOT / "python")}


def test_concurrent_generate_processes(tmp_path, clean):
    path = tmp_path / "two.zarr"
    procs = [subprocess.Popen(_generate_command(path, 0.05), env=_env(), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [p.communicate(timeout=240) for p in procs]
    for p, (out, err) in zip(procs, results):
        assert p.returncode == 0, err
        assert "FileExistsError" not in err
    assert verify_store(path).ok and store_files(path) == store_files(clean)


def test_sigint_during_generate_leaves_a_resumable_store(tmp_path, clean):
    path = tmp_path / "sigint.zarr"
    proc = subprocess.Popen(_generate_command(path, 3.0), env=_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not (path / "done" / "c" / "1").exists():  # two chunks written, four to go
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "rerun the same command to resume" in err
    status, report = store_status(path), verify_store(path)
    assert status["complete"] is False and 2 <= status["chunks_done"] < 6
    assert not report.damaged and not report.problems  # consistent: only not-yet-written chunks
    rerun = subprocess.run(_generate_command(path), env=_env(), capture_output=True, text=True,
                           timeout=240)
    assert rerun.returncode == 0, rerun.stderr
    assert verify_store(path).ok and store_files(path) == store_files(clean)


def test_train_refuses_a_store_that_does_not_verify(copy, tmp_path, capsys):
    (copy / "s_m" / "c" / "5").unlink()
    out = tmp_path / "model"
    code, text = cli(capsys, "train", "--data", copy, "--out", out, "--epochs", "1", "--quiet")
    assert code == 2 and "does not verify" in text and "chunk 5: damaged" in text
    assert not out.exists()
