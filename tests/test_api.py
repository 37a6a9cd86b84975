"""The 0.x API: every public name imports, juliacall stays inside julia_import, and
`import ligandml` pulls in neither juliacall nor torch."""
from __future__ import annotations

import ast
import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

import ligandml

PACKAGE = Path(ligandml.__file__).resolve().parent

#: public names user code, tests and the README import from these modules
MODULE_NAMES = {
    "ligandml.dataset": [
        "ChunkData", "Dataset", "DatasetConfig", "DatasetSplit", "FORMAT", "IncompleteDatasetError",
        "QUANTITIES", "SAMPLINGS", "STREAM_ERRORS", "STREAM_NOISE", "STREAM_PARAMS", "STREAM_SPLIT",
        "T_SPACINGS", "compute_chunk", "draw_parameters", "generate_chunk", "generate_dataset",
        "open_dataset", "open_store", "plot_dataset", "store_status", "summary", "test_set_mask",
        "write_chunk",
        # general (multi-observable) datasets
        "PRESETS", "PRIORS", "STREAM_NOISE_LEVELS", "chi_observable", "compute_observables_chunk",
        "diamagnetic_moment", "draw_noise_levels", "er_d3d_observables", "magnetization_observable",
        "noise_levels", "normalize_observables", "observable_curves", "scale_aware_box",
        "scale_aware_half_width",
        "DamagedDatasetError", "VerifyReport", "verify_store"],  # store integrity
    "ligandml.backends": ["BACKENDS", "ENV_VAR", "backend_info", "install_julia", "requested_backend",
                          "resolve_backend"],
    "ligandml.julia_backend": ["load", "powder_moment", "powder_susceptibility", "stevens_operator"],
    "ligandml.julia_import": ["TorchBeforeJuliaWarning", "julia_environment", "load", "torch_safe_backend"],
    "ligandml.julia_setup": ["JuliaUnavailableWarning", "available", "describe", "install_advice",
                             "install_julia", "kernel_file", "require", "status_path"],
}


def test_every_top_level_name_imports():
    """In a fresh process (the lazy VAE-INN names import torch, which must not enter this one
    before the Julia tests): every name of ligandml.__all__ resolves to a real object."""
    code = ("import json, ligandml; "
            "print(json.dumps([n for n in ligandml.__all__ if getattr(ligandml, n, None) is None]))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == []
    assert len(ligandml.__all__) == len(set(ligandml.__all__))
    assert {"Dataset", "DatasetConfig", "generate_dataset", "open_dataset", "backend_info",
            "install_julia", "load_model", "powder_susceptibility"} <= set(ligandml.__all__)


@pytest.mark.parametrize("module", sorted(MODULE_NAMES))
def test_every_public_module_name_imports(module):
    mod = importlib.import_module(module)
    missing = [name for name in MODULE_NAMES[module] if not hasattr(mod, name)]
    assert missing == [], f"{module} lacks {missing}"


def test_dataset_package_exports_what_its_all_says():
    import ligandml.dataset as ds

    assert sorted(ds.__all__) == sorted(MODULE_NAMES["ligandml.dataset"])
    for name in ("Dataset", "DatasetConfig", "generate_dataset", "open_dataset"):
        assert getattr(ligandml, name) is getattr(ds, name)
    # the names are the package's own objects, defined in its submodules
    assert ds.open_store.__module__ == "ligandml.dataset.store"
    assert ds.compute_chunk.__module__ == "ligandml.dataset.chunks"


def _imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_only_julia_import_imports_juliacall():
    importers = sorted(str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py")
                       if "juliacall" in _imported_modules(p))
    assert importers == ["julia_import.py"]


def test_import_ligandml_loads_neither_juliacall_nor_torch():
    code = ("import json, sys, ligandml, ligandml.dataset, ligandml.backends, ligandml.julia_backend; "
            "print(json.dumps({m: m in sys.modules for m in ('juliacall', 'torch', 'juliapkg')}))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == \
        {"juliacall": False, "torch": False, "juliapkg": False}
