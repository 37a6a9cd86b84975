"""An er-d3d dataset through a real dask.distributed deployment: `dask scheduler` and `dask worker`
started as separate processes on localhost, driven by `ligandml dataset generate --scheduler`,
must write the single-process store byte for byte."""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import ligandml
from ligandml.cli import main as cli_main
from ligandml.dataset import DatasetConfig, generate_dataset, open_dataset

#: seconds allowed for the scheduler and the worker to come up, and to shut down
START_TIMEOUT_S, STOP_TIMEOUT_S = 90, 15


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _dask_cli() -> list[str] | None:
    """The `dask` command (the venv's, beside this interpreter, first), or None."""
    beside = Path(sys.executable).with_name("dask")
    if beside.exists():
        return [str(beside)]
    found = shutil.which("dask")
    return [found] if found else None


def _stop(proc: subprocess.Popen) -> None:
    """End a process group this test started: SIGTERM, then SIGKILL after STOP_TIMEOUT_S."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=STOP_TIMEOUT_S)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=STOP_TIMEOUT_S)


@pytest.fixture
def dask_processes(tmp_path):
    """Address of a scheduler on 127.0.0.1 with one single-threaded worker, both started with the
    dask CLI as separate processes (own process groups, always torn down)."""
    distributed = pytest.importorskip("distributed")
    dask = _dask_cli()
    if dask is None:
        pytest.skip("the `dask` command-line tool is not installed (pip install distributed)")
    env = dict(os.environ)
    # the workers must import this checkout's ligandml, as the test process does
    src = str(Path(ligandml.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join([src, env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    logs = tmp_path / "dask-logs"
    logs.mkdir()
    procs = []

    def start(args, name):
        out = open(logs / f"{name}.log", "w")
        procs.append(subprocess.Popen(dask + args, env=env, stdout=out, stderr=subprocess.STDOUT,
                                      start_new_session=True, cwd=tmp_path))
        out.close()

    try:
        start(["scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
              "scheduler")
        start(["worker", address, "--nworkers", "1", "--nthreads", "1", "--host", "127.0.0.1",
               "--no-dashboard", "--local-directory", str(tmp_path / "worker-space")], "worker")
        deadline = time.monotonic() + START_TIMEOUT_S
        client = None
        while client is None:
            try:
                client = distributed.Client(address, timeout=5)
            except OSError:
                if time.monotonic() > deadline or procs[0].poll() is not None:
                    pytest.fail("dask scheduler did not start:\n" + (logs / "scheduler.log").read_text())
        with client:
            try:
                client.wait_for_workers(1, timeout=max(1.0, deadline - time.monotonic()))
            except TimeoutError:
                pytest.fail("dask worker did not connect:\n" + (logs / "worker.log").read_text())
            pids = set(client.run(os.getpid).values())
        assert len(pids) == 1 and os.getpid() not in pids  # a separate process really works
        yield address
    finally:
        for proc in reversed(procs):
            _stop(proc)


def store_files(path: Path) -> dict[str, bytes]:
    """Every file of a store except the root metadata (which holds wall-clock timings)."""
    return {str(f.relative_to(path)): f.read_bytes() for f in sorted(path.rglob("*"))
            if f.is_file() and f != path / "zarr.json"}


def test_er_d3d_through_dask_processes_equals_single_process(dask_processes, tmp_path):
    sizes = ["--n-sets", "8", "--chunk-sets", "4", "--copies", "2", "--seed", "5"]
    spread = tmp_path / "dask.zarr"
    assert cli_main(["dataset", "generate", "--preset", "er-d3d", "--observables", "powder",
                     *sizes, "--out", str(spread), "--backend", "numpy", "--no-progress",
                     "--scheduler", dask_processes]) == 0
    config = DatasetConfig.preset("er-d3d", n_sets=8, chunk_sets=4, copies=2, seed=5)
    single = generate_dataset(config, tmp_path / "single.zarr", backend="numpy", progress=False)
    ds = open_dataset(spread)
    assert ds.config == config and config.n_chunks == 2
    assert ds.timings["workers"] == 1 and ds.timings["chunks_run"] == 2
    assert store_files(spread) == store_files(single.path)
    assert np.array_equal(ds.curves, single.curves)
    assert ds.attrs["observable_normalization"] == single.attrs["observable_normalization"]
    assert ds.normalizer == single.normalizer
