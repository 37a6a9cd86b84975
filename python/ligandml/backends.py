"""Backend selection for the batched sweeps: "numpy" (the reference), "julia", or "auto".

The Julia side: julia_setup (find, install, remember Julia), julia_import (the one module that
imports juliacall; threads and signals; the torch-order rule), julia_backend (the kernel calls).
"""
from __future__ import annotations

import os

BACKENDS = ("numpy", "julia", "auto")
ENV_VAR = "LIGANDML_BACKEND"


def requested_backend(backend: str | None) -> str:
    """The backend asked for: the argument, else $LIGANDML_BACKEND, else "auto"."""
    choice = backend if backend is not None else os.environ.get(ENV_VAR, "auto")
    choice = str(choice).strip().lower()
    if choice not in BACKENDS:
        raise ValueError(f"unknown backend {choice!r}; use one of {', '.join(BACKENDS)}")
    return choice


def resolve_backend(backend: str | None = None) -> str:
    """The backend that will run: "numpy" or "julia".

    "auto" picks Julia when it can be had (with one Julia thread unless PYTHON_JULIACALL_THREADS
    is set, and Python's own signal handling kept) and falls back to NumPy otherwise (one
    warning); "julia" loads it with all threads, or raises RuntimeError with install
    instructions when Julia is unavailable.
    """
    choice = requested_backend(backend)
    if choice == "numpy":
        return "numpy"
    from . import julia_setup

    if choice == "julia":
        julia_setup.require()
        return "julia"
    return "julia" if julia_setup.available(warn=True) else "numpy"


def backend_info(probe: bool = True, install: bool = False) -> dict:
    """What can run here: {"available": backends usable now, "auto": what "auto" picks,
    "requested": the default request ($LIGANDML_BACKEND or "auto"), "julia": details}.

    The Julia details (julia_setup.describe) hold: available, reason it is missing, Julia
    version and thread count, kernel path, juliacall version, status file and the remembered
    outcome, and the juliacall environment. With `probe` (default) the Julia backend is looked
    for first (never installing unless `install`); when found, it is loaded into this process.
    """
    from . import julia_setup

    julia = julia_setup.describe(probe=probe, install=install)
    try:
        requested = requested_backend(None)
    except ValueError as exc:
        requested = f"invalid: {exc}"
    usable = ["numpy"] + (["julia"] if julia["available"] else [])
    return {"available": usable, "auto": "julia" if julia["available"] else "numpy",
            "requested": requested, "julia": julia}


def install_julia(timeout_s: float | None = None) -> dict:
    """Install Julia and PythonCall through juliacall now (network needed; at most `timeout_s`
    seconds, default $LIGANDML_JULIA_INSTALL_TIMEOUT or 1800), forgetting a remembered failure,
    and load the kernels. Returns the Julia part of backend_info()."""
    from . import julia_setup

    return julia_setup.install_julia(timeout_s)
