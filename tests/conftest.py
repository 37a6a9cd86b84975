"""Shared fixtures: the published KErSe2 / CsErSe2 parameters and the measured data folder."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import pytest

# The suite never writes the user's ~/.cache: the remembered Julia outcome of this run goes to a
# private file (unless the caller chose one, as the Julia CI job does). The tests of the default
# location set XDG_CACHE_HOME themselves.
os.environ.setdefault("LIGANDML_JULIA_STATUS",
                      str(Path(tempfile.mkdtemp(prefix="ligandml-tests-")) / "julia_status.json"))

if os.environ.get("LIGANDML_BACKEND", "").strip().lower() == "julia":
    from ligandml.julia_import import load

    load()  # juliacall before torch (DESIGN.md): Julia comes in before any test imports torch

SHARED = Path(__file__).resolve().parents[2] / "shared"
REAL_DATA = SHARED / "data" / "real"

# Scheie et al., PRB 101, 144432 (2020): Stevens parameters (Hutchings convention) in meV
KERSE2_MEV = {
    "B20": -2.772780224706159e-2, "B40": -3.986791337847824e-4, "B43": -1.4164750780259892e-2,
    "B60": 3.152118222727135e-6, "B63": -7.615963268822789e-6, "B66": 3.2752689577855864e-5,
}
CSERSE2_MEV = {
    "B20": -3.558811064292953e-2, "B40": -3.8490993552120256e-4, "B43": -1.393410211690297e-2,
    "B60": 3.153770531130663e-6, "B63": -4.695127264154772e-6, "B66": 3.381079068928806e-5,
}
KERSE2_DOUBLETS_MEV = [0, 0.903, 3.491, 5.134, 5.538, 23.336, 25.223, 25.428]
CSERSE2_DOUBLETS_MEV = [0, 0.674, 3.290, 5.016, 5.284, 23.034, 24.878, 25.163]


@pytest.fixture
def real_data() -> Path:
    """The measured-data folder beside the repository; skips when it is absent."""
    if not REAL_DATA.is_dir():
        pytest.skip(f"measured data not found at {REAL_DATA} (a clone without ../shared)")
    return REAL_DATA


def read_kerse2_powder_chi(folder: Path) -> tuple[np.ndarray, np.ndarray]:
    """(T [K], chi [emu/mol Er]) of the measured KErSe2 powder columns (missing values dropped)."""
    import pandas as pd

    table = pd.read_csv(folder / "KErSe2_chi_T.dat", sep="\t", skiprows=2, header=None,
                        na_values=["--"])
    T = table[0].to_numpy(dtype=float)
    chi = table[1].to_numpy(dtype=float)
    ok = np.isfinite(T) & np.isfinite(chi)
    return T[ok], chi[ok]


@pytest.fixture
def interrupted_generate(monkeypatch):
    """A function (config, path) -> None that runs generate_dataset with the numpy backend and a
    KeyboardInterrupt raised as the third chunk starts (two chunks written), and restores the
    real chunk function afterwards."""
    from ligandml import dataset as dsmod

    def run(config, path) -> None:
        real, calls = dsmod.generate.compute_chunk, []

        def interrupted(*args, **kwargs):
            calls.append(args[1])
            if len(calls) == 3:
                raise KeyboardInterrupt("simulated interruption")
            return real(*args, **kwargs)

        monkeypatch.setattr(dsmod.generate, "compute_chunk", interrupted)
        try:
            with pytest.raises(KeyboardInterrupt):
                dsmod.generate_dataset(config, path, backend="numpy", progress=False)
        finally:
            monkeypatch.setattr(dsmod.generate, "compute_chunk", real)

    return run
