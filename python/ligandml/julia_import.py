"""The one module of ligandml that imports juliacall: its environment, the torch-order rule, load().

Nothing here runs at ``import ligandml``; juliacall is imported by import_kernels(), which the
setup (julia_setup) calls once a subprocess has shown that Julia works. Finding, installing and
remembering Julia is julia_setup's business; the kernel calls are julia_backend's.

Environment, set before juliacall is imported unless the user set the variable:

- An explicit request for Julia (backend="julia", LIGANDML_BACKEND=julia, load(), install_julia,
  `ligandml info --install`): PYTHON_JULIACALL_THREADS=auto and, when that is not 1,
  PYTHON_JULIACALL_HANDLE_SIGNALS=yes as juliacall requires for several Julia threads. Julia
  then handles the signals: Ctrl-C no longer raises KeyboardInterrupt in this process.
- "auto" picking Julia on its own: PYTHON_JULIACALL_THREADS=1 and PYTHON_JULIACALL_HANDLE_SIGNALS
  left alone, so Ctrl-C keeps working in a process that never asked for Julia (several Julia
  threads without Julia's signal handling can crash, so auto does not start them). Set
  PYTHON_JULIACALL_THREADS yourself, or ask for backend="julia", for more threads.
  (JULIA_NUM_THREADS counts as the user's choice of threads.)

Torch order: juliacall must be imported before torch in a process that uses both (the reverse
order can crash). The rule lives here: torch_came_first() says whether it is already broken,
torch_safe_backend() is the backend to use in a process that uses torch, load() brings Julia in
first.
"""
from __future__ import annotations

import os
import sys
import warnings

THREADS_ENV = "PYTHON_JULIACALL_THREADS"
SIGNALS_ENV = "PYTHON_JULIACALL_HANDLE_SIGNALS"
#: the reason given when torch is in the process and juliacall is not
TORCH_FIRST_REASON = ("torch was imported before juliacall, an order that can crash; call "
                      "ligandml.julia_import.load() before importing torch")


class TorchBeforeJuliaWarning(RuntimeWarning):
    """torch was imported before juliacall, the order that can crash."""


_LOADED: dict = {"jl": None, "kernels": None, "info": None}


def julia_environment(base: dict | None = None, explicit: bool = False) -> dict:
    """Environment for juliacall: `base` (default os.environ) plus the defaults where the user has
    not chosen. explicit=True (Julia asked for by name): PYTHON_JULIACALL_THREADS=auto and
    PYTHON_JULIACALL_HANDLE_SIGNALS=yes unless one thread; explicit=False ("auto" on its own):
    PYTHON_JULIACALL_THREADS=1 and no signal handling, so Ctrl-C keeps working."""
    env = dict(os.environ if base is None else base)
    if THREADS_ENV not in env and "JULIA_NUM_THREADS" not in env:
        env[THREADS_ENV] = "auto" if explicit else "1"
    threads = env.get(THREADS_ENV, env.get("JULIA_NUM_THREADS", "1")).strip()
    if explicit and threads != "1" and SIGNALS_ENV not in env:
        env[SIGNALS_ENV] = "yes"
    return env


def torch_came_first() -> bool:
    """True when torch is imported in this process and juliacall is not: importing juliacall now
    would break the rule (juliacall before torch)."""
    return "torch" in sys.modules and "juliacall" not in sys.modules


def torch_safe_backend(backend: str | None = None) -> str:
    """The backend ("numpy" or "julia") for physics in a process that uses torch.

    Before torch is imported: the request resolved now (loading Julia now when it is to be used,
    so that juliacall comes first); call it at the start of such a process. After torch: the
    request when Julia is already loaded; otherwise "numpy" for None or "auto", quietly, since
    importing juliacall after torch can crash. An explicit "julia" is honoured (loaded with a
    TorchBeforeJuliaWarning).
    """
    from .backends import requested_backend, resolve_backend

    if backend in (None, "auto") and torch_came_first():
        requested_backend(backend)  # still refuse a bad $LIGANDML_BACKEND
        return "numpy"
    return resolve_backend(backend)


def loaded_kernels():
    """The LigandML Julia module when it is loaded into this process, else None."""
    return _LOADED["kernels"]


def loaded_info() -> dict | None:
    """{"julia_version", "threads"} of the Julia loaded into this process, else None."""
    return _LOADED["info"]


def import_kernels(kernel_file, explicit: bool) -> None:
    """Import juliacall into this process (the one place it happens) with the environment of
    julia_environment(explicit=...) and include the kernels at `kernel_file`. Warns with
    TorchBeforeJuliaWarning when torch came first. Raises what juliacall raises."""
    env = julia_environment(explicit=explicit)
    for key in (THREADS_ENV, SIGNALS_ENV):
        if key in env and key not in os.environ:
            os.environ[key] = env[key]
    if torch_came_first():
        warnings.warn("torch was imported before juliacall; that order can crash. Call "
                      "ligandml.julia_import.load() before importing torch.",
                      TorchBeforeJuliaWarning, stacklevel=5)
    from juliacall import Main as jl

    kernels = jl.Base.include(jl.Main, str(kernel_file))
    _LOADED.update(jl=jl, kernels=kernels,
                   info={"julia_version": str(jl.seval("string(VERSION)")),
                         "threads": int(jl.seval("Threads.nthreads()"))})


def load() -> None:
    """Load Julia now, as an explicit request (all threads; call it before importing torch when a
    process uses both). RuntimeError saying why and how to install when Julia cannot be used."""
    from .julia_setup import require

    require()


# A trial load in a subprocess: argv = kernel file, result file, expected chi*T [emu K/mol] of
# a free Er3+ ion at 300 K with all B = 0 (its Curie constant, from ligandml.constants).
_LOAD_SCRIPT = r"""
import json, sys
import numpy as np
kernel, result, curie = sys.argv[1], sys.argv[2], float(sys.argv[3])
from juliacall import Main as jl
mod = jl.Base.include(jl.Main, kernel)
chi = mod.zero_field_chi(mod.Ion("Er3+", 7.5, 1.2), mod.StevensBatch(np.array([2]), np.array([0]),
                         np.array([[0.0]])), np.array([2.0, 300.0]))
chi = np.asarray(chi)
if chi.shape != (1, 2) or not abs(chi[0, 1] * 300.0 / curie - 1.0) < 1e-4:
    raise SystemExit("the kernels returned wrong numbers: %r" % (chi,))
with open(result, "w") as fp:
    json.dump({"julia_version": str(jl.seval("string(VERSION)")),
               "threads": int(jl.seval("Threads.nthreads()"))}, fp)
"""


def trial_load_command(kernel_file, result_file) -> list[str]:
    """argv of a fresh Python that imports juliacall, includes the kernels, checks one number
    (the free-ion Curie limit of Er3+, gJ = 6/5, J = 15/2) and writes the Julia version and
    threads as JSON to `result_file`."""
    from .constants import curie_constant

    return [sys.executable, "-c", _LOAD_SCRIPT, str(kernel_file), str(result_file),
            repr(curie_constant(1.2, 7.5))]
