"""Datasets beyond one process: a dask LocalCluster writes the single-process bytes; the CLI."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ligandml.cli import main as cli_main
from ligandml.dataset import DatasetConfig, generate_dataset, open_dataset


def store_files(path: Path) -> dict[str, bytes]:
    """Every file of a store except the root metadata (which holds wall-clock timings)."""
    return {str(f.relative_to(path)): f.read_bytes() for f in sorted(path.rglob("*"))
            if f.is_file() and f != path / "zarr.json"}


def test_local_cluster_store_equals_single_process(tmp_path):
    distributed = pytest.importorskip("distributed")
    config = DatasetConfig(n_sets=300, chunk_sets=50, copies=4, n_T=24, seed=11,
                           sigma_m=0.02, noise_rel=0.001)
    single = generate_dataset(config, tmp_path / "single.zarr", backend="numpy", progress=False)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0") as cluster, \
            distributed.Client(cluster) as client:
        # each chunk must really run in a worker process, not here
        pids = set(client.run(lambda: __import__("os").getpid()).values())
        assert len(pids) == 2
        spread = generate_dataset(config, tmp_path / "dask.zarr", backend="numpy",
                                  client=client, progress=False)
    assert spread.timings["workers"] == 2 and spread.timings["chunks_run"] == 6
    assert store_files(spread.path) == store_files(single.path)
    assert np.array_equal(spread.curves, single.curves)
    assert spread.normalizer == single.normalizer


def test_cli_generate_info_plot(tmp_path, capsys):
    cfg, store, fig = tmp_path / "cfg.toml", tmp_path / "d.zarr", tmp_path / "fig.png"
    assert cli_main(["dataset", "config", "--n-sets", "40", "--chunk-sets", "16",
                     "--n-T", "12", "--out", str(cfg)]) == 0
    assert cli_main(["dataset", "generate", "--config", str(cfg), "--out", str(store),
                     "--sigma-dia", "0.001", "--param", "D=-5:5", "--param", "E=-1:1",
                     "--backend", "numpy", "--no-progress"]) == 0
    ds = open_dataset(store)
    assert ds.config.sigma_dia == 0.001 and ds.config.n_sets == 40 and ds.T.size == 12
    assert ds.config.params == {"D": (-5.0, 5.0), "E": (-1.0, 1.0)}
    capsys.readouterr()
    assert cli_main(["dataset", "info", str(store), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["complete"] and info["summary"]["curves"] == 440
    assert info["summary"]["test_sets"] == 8
    assert cli_main(["dataset", "plot", str(store), "--out", str(fig)]) == 0
    assert fig.stat().st_size > 10_000
    # bad input: exit status 2 with the field named
    assert cli_main(["dataset", "generate", "--out", str(tmp_path / "bad.zarr"),
                     "--n-sets", "0", "--no-progress"]) == 2
    assert "n_sets" in capsys.readouterr().err
    assert not (tmp_path / "bad.zarr").exists()
