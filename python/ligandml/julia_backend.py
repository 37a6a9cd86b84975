"""The seam to Julia: the only module of ligandml that imports juliacall.

The Julia kernels (julia/LigandML.jl, standard library only) implement the functions of
susceptibility.py under the same names; this module loads them through juliacall and converts
arrays at the boundary. Nothing here runs at ``import ligandml``: juliacall is imported on the
first Julia sweep (or by load()).

How Julia is found, installed, or given up on (no step can hang):

1. In this process: juliacall must be importable, the kernel files present, and the call must
   come from the main thread (Julia is called from the main thread only and parallelises inside).
2. The status file (``$LIGANDML_JULIA_STATUS``, default ``~/.cache/ligandml/julia_status.json``)
   remembers the outcome of the first attempt for this Python and juliacall version. A failure
   is not retried by later processes; delete the file or set ``LIGANDML_JULIA_RETRY=1`` to retry.
3. First use (no status yet), in subprocesses with time limits:
   a. a quick check (~1 s, at most CHECK_TIMEOUT_S): has juliapkg already resolved a Julia with
      PythonCall? If not, is Julia's download server reachable?
   b. if Julia is there: a trial load of the kernels (LOAD_TIMEOUT_S);
      if it is not but the server is reachable: juliacall's own install (juliapkg downloads Julia
      and PythonCall), with its progress on stderr, limited to INSTALL_TIMEOUT_S
      ($LIGANDML_JULIA_INSTALL_TIMEOUT). Set LIGANDML_JULIA_AUTO_INSTALL=no to install only on
      request (`ligandml info --install` or install_julia());
      if the server is unreachable: give up at once (seconds, not minutes).
4. Only after a subprocess has loaded the kernels successfully does this process import juliacall.

"auto" falls back to NumPy with one JuliaUnavailableWarning per process saying why and how to
install; "julia" raises RuntimeError with the same text. Environment set before juliacall is
imported, unless the user set them: PYTHON_JULIACALL_THREADS=auto (JULIA_NUM_THREADS is
respected too) and, when that is not 1, PYTHON_JULIACALL_HANDLE_SIGNALS=yes as juliacall
recommends for several threads (Ctrl-C then no longer raises KeyboardInterrupt during a sweep).
juliacall must be imported before torch: if torch is already imported, "auto" keeps to NumPy
(with the warning) and "julia" loads anyway with a TorchBeforeJuliaWarning. To use both in one
process, call ligandml.julia_backend.load() before importing torch.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from importlib import metadata, util
from pathlib import Path

import numpy as np

from .orientations import DEFAULT_LEBEDEV_ORDER, lebedev_hemisphere

STATUS_ENV = "LIGANDML_JULIA_STATUS"
RETRY_ENV = "LIGANDML_JULIA_RETRY"
AUTO_INSTALL_ENV = "LIGANDML_JULIA_AUTO_INSTALL"
INSTALL_TIMEOUT_ENV = "LIGANDML_JULIA_INSTALL_TIMEOUT"
#: seconds for the quick check (installed? download server reachable?)
CHECK_TIMEOUT_S = 20.0
#: seconds for a trial load of an installed Julia (PythonCall may precompile the first time)
LOAD_TIMEOUT_S = 600.0
#: default seconds for juliacall's first install (download of Julia and PythonCall)
INSTALL_TIMEOUT_S = 1800.0
#: what juliapkg downloads Julia from; reachable means an install can be attempted
DOWNLOAD_URL = "https://julialang-s3.julialang.org/bin/versions.json"
#: environment variables that steer juliacall/juliapkg, shown by backend_info()
JULIA_ENV_VARS = ("PYTHON_JULIACALL_THREADS", "JULIA_NUM_THREADS", "PYTHON_JULIACALL_HANDLE_SIGNALS",
                  "PYTHON_JULIACALL_EXE", "PYTHON_JULIACALL_PROJECT", "PYTHON_JULIAPKG_EXE",
                  "PYTHON_JULIAPKG_OFFLINE", STATUS_ENV, RETRY_ENV, AUTO_INSTALL_ENV)


class JuliaUnavailableWarning(RuntimeWarning):
    """backend="auto" runs NumPy because the Julia backend cannot be used (issued once per process)."""


class TorchBeforeJuliaWarning(RuntimeWarning):
    """torch was imported before juliacall, the order that can crash."""


_STATE: dict = {"kernels": None, "jl": None, "info": None, "reason": None, "warned": False}


# --------------------------------------------------------------------------------------------
# where things are
# --------------------------------------------------------------------------------------------
def kernel_dir() -> Path | None:
    """Folder holding LigandML.jl: the copy packaged in the wheel (ligandml/julia), else the
    source tree's julia/ (editable installs). None when neither exists."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "julia", here.parents[1] / "julia"):
        if (candidate / "LigandML.jl").is_file():
            return candidate
    return None


def kernel_file() -> Path | None:
    """Path of julia/LigandML.jl, the file juliacall includes; None when missing."""
    folder = kernel_dir()
    return None if folder is None else folder / "LigandML.jl"


def status_path() -> Path:
    """Where the outcome of the first Julia attempt is remembered ($LIGANDML_JULIA_STATUS, else
    $XDG_CACHE_HOME/ligandml/julia_status.json, else ~/.cache/ligandml/julia_status.json)."""
    explicit = os.environ.get(STATUS_ENV)
    if explicit:
        return Path(explicit).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "ligandml" / "julia_status.json"


def _juliacall_version() -> str | None:
    try:
        return metadata.version("juliacall")
    except metadata.PackageNotFoundError:
        return None


def _fingerprint() -> dict:
    """What a remembered outcome applies to: this Python and this juliacall."""
    return {"python": sys.executable, "juliacall": _juliacall_version()}


# --------------------------------------------------------------------------------------------
# the remembered outcome
# --------------------------------------------------------------------------------------------
def read_status() -> dict | None:
    """The remembered outcome for this Python and juliacall, or None (none, unreadable, or made
    by another interpreter or juliacall version)."""
    try:
        status = json.loads(status_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(status, dict) or status.get("fingerprint") != _fingerprint():
        return None
    return status


def _write_status(status: dict) -> None:
    path = status_path()
    record = dict(status, fingerprint=_fingerprint(), written=time.strftime("%Y-%m-%d %H:%M:%S %Z"),
                  retry=f"delete this file or set {RETRY_ENV}=1 to try Julia again")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        pass  # an unwritable cache only costs the quick check in the next process


def forget_status() -> None:
    """Delete the remembered outcome, so that the next attempt probes (and installs) again."""
    try:
        status_path().unlink()
    except FileNotFoundError:
        pass


def reset_state() -> None:
    """Forget what this process learned (reason, warning issued); a loaded Julia stays loaded.
    For tests and for retrying after fixing the environment."""
    _STATE.update(reason=None, warned=False)


# --------------------------------------------------------------------------------------------
# environment for juliacall
# --------------------------------------------------------------------------------------------
def julia_environment(base: dict | None = None) -> dict:
    """Environment for juliacall: `base` (default os.environ) plus PYTHON_JULIACALL_THREADS=auto
    and PYTHON_JULIACALL_HANDLE_SIGNALS=yes where the user has not chosen."""
    env = dict(os.environ if base is None else base)
    if "PYTHON_JULIACALL_THREADS" not in env and "JULIA_NUM_THREADS" not in env:
        env["PYTHON_JULIACALL_THREADS"] = "auto"
    threads = env.get("PYTHON_JULIACALL_THREADS", env.get("JULIA_NUM_THREADS", "1")).strip()
    if threads != "1" and "PYTHON_JULIACALL_HANDLE_SIGNALS" not in env:
        env["PYTHON_JULIACALL_HANDLE_SIGNALS"] = "yes"
    return env


def _on_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def _auto_install_allowed() -> bool:
    return os.environ.get(AUTO_INSTALL_ENV, "yes").strip().lower() not in ("0", "no", "false", "off")


def _install_timeout() -> float:
    value = os.environ.get(INSTALL_TIMEOUT_ENV)
    if not value:
        return INSTALL_TIMEOUT_S
    try:
        seconds = float(value)
    except ValueError:
        raise ValueError(f"{INSTALL_TIMEOUT_ENV} must be a number of seconds, got {value!r}") from None
    if not seconds > 0:
        raise ValueError(f"{INSTALL_TIMEOUT_ENV} must be > 0 seconds, got {value!r}")
    return seconds


# --------------------------------------------------------------------------------------------
# first use: probes in subprocesses
# --------------------------------------------------------------------------------------------
_CHECK_SCRIPT = r"""
import json, os, sys, urllib.request
out = {}
if os.environ.get("PYTHON_JULIACALL_EXE") and os.environ.get("PYTHON_JULIACALL_PROJECT"):
    out["installed"] = True
    out["how"] = "PYTHON_JULIACALL_EXE and PYTHON_JULIACALL_PROJECT"
else:
    import juliapkg
    from juliapkg.state import STATE
    out["installed"] = bool(juliapkg.resolve(dry_run=True))
    out["offline"] = bool(STATE.get("offline"))
    out["how"] = "juliapkg project " + str(STATE.get("project"))
if not out["installed"] and not out.get("offline"):
    try:
        urllib.request.urlopen(urllib.request.Request(sys.argv[1], method="HEAD"), timeout=5).close()
        out["network"] = "ok"
    except Exception as exc:
        out["network"] = type(exc).__name__ + ": " + str(getattr(exc, "reason", exc))
print(json.dumps(out))
"""

_LOAD_SCRIPT = r"""
import json, sys
import numpy as np
kernel, result = sys.argv[1], sys.argv[2]
from juliacall import Main as jl
mod = jl.Base.include(jl.Main, kernel)
chi = mod.zero_field_chi(mod.Ion("Er3+", 7.5, 1.2), mod.StevensBatch(np.array([2]), np.array([0]),
                         np.array([[0.0]])), np.array([2.0, 300.0]))
chi = np.asarray(chi)
curie = 0.375148 * 1.44 * 7.5 * 8.5 / 3.0
if chi.shape != (1, 2) or not abs(chi[0, 1] * 300.0 / curie - 1.0) < 1e-4:
    raise SystemExit("the kernels returned wrong numbers: %r" % (chi,))
with open(result, "w") as fp:
    json.dump({"julia_version": str(jl.seval("string(VERSION)")),
               "threads": int(jl.seval("Threads.nthreads()"))}, fp)
"""


def _tail(text: str, lines: int = 6) -> str:
    kept = [ln for ln in (text or "").strip().splitlines() if ln.strip()][-lines:]
    return " | ".join(kept)


def _stderr_fd():
    try:
        return sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):
        return None


def _quick_check() -> dict:
    """Subprocess: is Julia (with PythonCall) installed for juliacall; if not, can it be downloaded."""
    try:
        proc = subprocess.run([sys.executable, "-c", _CHECK_SCRIPT, DOWNLOAD_URL], env=julia_environment(),
                              capture_output=True, text=True, timeout=CHECK_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return {"error": f"the check for an installed Julia did not finish within {CHECK_TIMEOUT_S:.0f} s "
                         "(juliapkg lock held by another process, or DNS not answering)"}
    if proc.returncode != 0:
        return {"error": f"the check for an installed Julia failed: {_tail(proc.stderr)}"}
    try:
        return json.loads(proc.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {"error": f"the check for an installed Julia printed no result: {_tail(proc.stdout)}"}


def _trial_load(timeout: float, show_progress: bool) -> dict:
    """Subprocess: import juliacall (installing Julia if juliapkg must) and run the kernels once."""
    kernel = str(kernel_file())
    with tempfile.TemporaryDirectory(prefix="ligandml-julia-") as tmp:
        result = Path(tmp) / "result.json"
        cmd = [sys.executable, "-c", _LOAD_SCRIPT, kernel, str(result)]
        fd = _stderr_fd() if show_progress else None
        output = {"stdout": fd, "stderr": fd} if fd is not None else {"capture_output": True}
        try:
            proc = subprocess.run(cmd, env=julia_environment(), text=True, timeout=timeout, **output)
        except subprocess.TimeoutExpired:
            return {"status": "failed", "reason": f"loading Julia did not finish within {timeout:.0f} s"}
        if proc.returncode != 0 or not result.is_file():
            detail = _tail((proc.stderr or "") + "\n" + (proc.stdout or "")) if fd is None else \
                "see juliapkg's messages above"
            return {"status": "failed", "reason": f"juliacall could not start Julia and load the kernels "
                                                  f"(exit code {proc.returncode}): {detail}"}
        info = json.loads(result.read_text())
    return dict(info, status="ok")


def _first_use(install: bool, timeout: float | None = None) -> dict:
    """Find out, in subprocesses with time limits, whether Julia can be used; install it through
    juliacall when allowed and the download server is reachable. Returns the outcome; `remember`
    tells whether it is worth writing to the status file."""
    check = _quick_check()
    if "error" in check:
        return {"status": "failed", "reason": check["error"], "remember": True}
    if check.get("installed"):
        return dict(_trial_load(LOAD_TIMEOUT_S, show_progress=False), remember=True)
    if check.get("offline"):
        return {"status": "failed", "remember": True,
                "reason": "Julia is not installed and juliapkg is in offline mode (PYTHON_JULIAPKG_OFFLINE)"}
    if check.get("network") != "ok":
        return {"status": "failed", "remember": True,
                "reason": f"Julia is not installed and juliacall cannot download it: {DOWNLOAD_URL} is "
                          f"unreachable ({check.get('network')})"}
    if not install:
        return {"status": "failed", "remember": False,
                "reason": "Julia is not installed yet and automatic install is off "
                          f"({AUTO_INSTALL_ENV}=no or an explicit request not to install)"}
    timeout = _install_timeout() if timeout is None else timeout
    print(f"ligandml: installing Julia and PythonCall through juliacall (one time; may take several "
          f"minutes, at most {timeout:.0f} s)...", file=sys.stderr, flush=True)
    return dict(_trial_load(timeout, show_progress=True), remember=True)


# --------------------------------------------------------------------------------------------
# loading into this process
# --------------------------------------------------------------------------------------------
def _load_in_process() -> None:
    env = julia_environment()
    for key in ("PYTHON_JULIACALL_THREADS", "PYTHON_JULIACALL_HANDLE_SIGNALS"):
        if key in env and key not in os.environ:
            os.environ[key] = env[key]
    if "torch" in sys.modules:
        warnings.warn("torch was imported before juliacall; that order can crash. Call "
                      "ligandml.julia_backend.load() before importing torch.",
                      TorchBeforeJuliaWarning, stacklevel=4)
    from juliacall import Main as jl  # the one place juliacall is imported

    kernels = jl.Base.include(jl.Main, str(kernel_file()))
    _STATE.update(jl=jl, kernels=kernels,
                  info={"julia_version": str(jl.seval("string(VERSION)")),
                        "threads": int(jl.seval("Threads.nthreads()"))})


def _static_reason() -> str | None:
    if util.find_spec("juliacall") is None:
        return "juliacall is not installed (pip install juliacall)"
    if kernel_file() is None:
        return "the Julia kernel files (julia/LigandML.jl) are missing from this installation of ligandml"
    return None


def _ensure_loaded(install: bool | None, allow_after_torch: bool,
                   install_timeout: float | None = None) -> tuple[bool, str | None]:
    """(True, None) when the kernels are loaded in this process, else (False, reason)."""
    if not _on_main_thread():
        return False, (f"Julia is called from the main thread only, and this call came from thread "
                       f"{threading.current_thread().name!r}")
    if _STATE["kernels"] is not None:
        return True, None
    if _STATE["reason"] is not None:
        return False, _STATE["reason"]
    reason = _static_reason()
    if reason is not None:
        _STATE["reason"] = reason
        return False, reason
    retry = os.environ.get(RETRY_ENV, "").strip().lower() in ("1", "yes", "true")
    status = None if retry else read_status()
    if status is not None and status.get("status") == "failed":
        _STATE["reason"] = f"{status.get('reason')} (remembered from {status.get('written')} in {status_path()})"
        return False, _STATE["reason"]
    if status is None or status.get("status") != "ok":
        outcome = _first_use(_auto_install_allowed() if install is None else install, install_timeout)
        remember = outcome.pop("remember")
        if remember:
            _write_status(outcome)
        if outcome["status"] != "ok":
            if remember:  # a real failure: sticky for this process too
                _STATE["reason"] = outcome["reason"]
            return False, outcome["reason"]
    if "torch" in sys.modules and "juliacall" not in sys.modules and not allow_after_torch:
        # the probes ran in subprocesses; importing juliacall here, after torch, can crash
        return False, ("torch was imported before juliacall, an order that can crash; call "
                       "ligandml.julia_backend.load() before importing torch")
    try:
        _load_in_process()
    except Exception as exc:  # juliacall raises plain Exceptions and JuliaError
        reason = f"loading the Julia kernels into this process failed: {type(exc).__name__}: {exc}"
        _write_status({"status": "failed", "reason": reason})
        _STATE["reason"] = reason
        return False, reason
    return True, None


def install_advice() -> str:
    """How to get the Julia backend, and how to retry after a remembered failure."""
    return ("To use Julia: juliacall (a ligandml dependency) downloads Julia >= 1.10 and PythonCall on "
            f"first use when {DOWNLOAD_URL.split('/bin')[0]} and the Julia package server are reachable; "
            "elsewhere install Julia yourself (https://julialang.org/downloads or juliaup, `julia` on PATH "
            "or PYTHON_JULIAPKG_EXE) and run `ligandml info --install` where the package server is "
            f"reachable. A failed attempt is remembered in {status_path()}: delete it or set "
            f"{RETRY_ENV}=1 to try again. backend='numpy' gives the same numbers without Julia.")


def _unavailable_message(reason: str | None) -> str:
    return f"the Julia backend is unavailable: {reason}. {install_advice()}"


# --------------------------------------------------------------------------------------------
# public API of the seam
# --------------------------------------------------------------------------------------------
def available(warn: bool = False, install: bool | None = None) -> bool:
    """Whether the Julia kernels can be used now (loading them into this process if needed).

    First use probes in subprocesses with time limits (and installs through juliacall when the
    download server is reachable and `install` is true; None means "unless
    LIGANDML_JULIA_AUTO_INSTALL=no"). With `warn`, a negative answer issues one
    JuliaUnavailableWarning per process naming the reason and how to install. Never raises for
    a missing Julia; never hangs.
    """
    ok, reason = _ensure_loaded(install, allow_after_torch=False)
    if not ok and warn and not _STATE["warned"]:
        _STATE["warned"] = True
        warnings.warn(f"Julia backend unavailable, using NumPy: {reason}. {install_advice()}",
                      JuliaUnavailableWarning, stacklevel=4)
    return ok


def require() -> None:
    """Make sure the Julia kernels are loaded; raise RuntimeError saying why not and how to install."""
    ok, reason = _ensure_loaded(None, allow_after_torch=True)
    if not ok:
        raise RuntimeError(_unavailable_message(reason))


def load() -> None:
    """Load Julia now (call it before importing torch when a process uses both). RuntimeError if
    Julia cannot be used."""
    require()


def install_julia(timeout_s: float | None = None) -> dict:
    """Install Julia and PythonCall through juliacall now, forgetting any remembered failure, and
    load the kernels. Returns describe(). `timeout_s` limits the install (default
    $LIGANDML_JULIA_INSTALL_TIMEOUT or INSTALL_TIMEOUT_S)."""
    if timeout_s is not None and not timeout_s > 0:
        raise ValueError(f"timeout_s must be > 0 seconds, got {timeout_s!r}")
    forget_status()
    reset_state()
    _ensure_loaded(True, allow_after_torch=True, install_timeout=timeout_s)
    return describe(probe=False)


def describe(probe: bool = True, install: bool = False) -> dict:
    """What ligandml knows about Julia: available, reason, Julia version and threads, kernel path,
    status file and the juliacall environment. With `probe`, find out first (as available(), but
    without installing unless `install`)."""
    reason = None
    if probe:
        _, reason = _ensure_loaded(install, allow_after_torch=False)
    loaded = _STATE["kernels"] is not None
    info = _STATE["info"] or {}
    remembered = read_status()
    env = julia_environment()
    return {
        "available": loaded,
        "reason": None if loaded else (reason or _STATE["reason"] or _static_reason() or "not probed yet"),
        "julia_version": info.get("julia_version") or (remembered or {}).get("julia_version"),
        "threads": info.get("threads") or (remembered or {}).get("threads"),
        "kernel_path": None if kernel_file() is None else str(kernel_file()),
        "juliacall_version": _juliacall_version(),
        "status_file": str(status_path()),
        "remembered": remembered,
        "environment": {k: env[k] for k in JULIA_ENV_VARS if k in env},
    }


def _kernels():
    require()
    return _STATE["kernels"]


def _julia_inputs(kernels, ion, batch):
    jl_ion = kernels.Ion(str(ion.name), float(ion.J), float(ion.gJ))
    ks = np.array([k for k, _ in batch.terms], dtype=np.int64)
    qs = np.array([q for _, q in batch.terms], dtype=np.int64)
    coeffs = np.ascontiguousarray(batch.coeffs, dtype=float).reshape(batch.n_sets, len(batch.terms))
    return jl_ion, kernels.StevensBatch(ks, qs, coeffs)


def _to_numpy(result, shape: tuple[int, ...]) -> np.ndarray:
    arr = result.to_numpy() if hasattr(result, "to_numpy") else np.asarray(result)
    arr = np.ascontiguousarray(arr, dtype=float)
    if arr.shape != shape:
        raise RuntimeError(f"the Julia kernels returned shape {arr.shape}, expected {shape}")
    return arr


def powder_susceptibility(ion, batch, T, field=None, lebedev_order: int = DEFAULT_LEBEDEV_ORDER) -> np.ndarray:
    """Julia twin of the NumPy sweep: chi(T) [emu/mol per ion], shape (N, len(T)).

    ion: Ion; batch: StevensBatch [K]; T: temperatures [K] (validated by the caller); field: None
    for the exact zero-field Van Vleck chi, else the field [T] for the orientation-averaged M/B
    over the Lebedev hemisphere of `lebedev_order` (the same directions NumPy uses).
    """
    kernels = _kernels()
    jl_ion, jl_batch = _julia_inputs(kernels, ion, batch)
    temps = np.ascontiguousarray(T, dtype=float)
    if field is None:
        result = kernels.zero_field_chi(jl_ion, jl_batch, temps)
    else:
        directions, weights = lebedev_hemisphere(lebedev_order)
        result = kernels.finite_field_chi(jl_ion, jl_batch, float(field), temps,
                                          np.ascontiguousarray(directions), np.ascontiguousarray(weights))
    return _to_numpy(result, (batch.n_sets, temps.size))


def powder_moment(ion, batch, field_T: float, T, lebedev_order: int = DEFAULT_LEBEDEV_ORDER) -> np.ndarray:
    """Julia twin of susceptibility.powder_moment: M [muB per ion] along the field, (N, len(T)),
    at `field_T` tesla, averaged over the Lebedev hemisphere of `lebedev_order`."""
    kernels = _kernels()
    jl_ion, jl_batch = _julia_inputs(kernels, ion, batch)
    temps = np.ascontiguousarray(T, dtype=float)
    directions, weights = lebedev_hemisphere(lebedev_order)
    result = kernels.powder_moment(jl_ion, jl_batch, float(field_T), temps,
                                   np.ascontiguousarray(directions), np.ascontiguousarray(weights))
    return _to_numpy(result, (batch.n_sets, temps.size))


def stevens_operator(J: float, k: int, q: int) -> np.ndarray:
    """Julia twin of operators.stevens_operator: O_k^q as a complex (2J+1)x(2J+1) array."""
    kernels = _kernels()
    result = kernels.stevens_operator(float(J), int(k), int(q))
    arr = result.to_numpy() if hasattr(result, "to_numpy") else np.asarray(result)
    return np.ascontiguousarray(arr, dtype=complex)


def grid_moments(ion, batch, fields, T, directions, weights) -> np.ndarray:
    """Julia twin of finite_field.grid_moments: the moment along the field [muB per ion] summed
    over the given directions (P, 3) and weights (P,), shape (N, len(fields), len(T)); fields [T],
    T [K]. Every direction is solved in complex arithmetic (the same numbers to rounding)."""
    kernels = _kernels()
    jl_ion, jl_batch = _julia_inputs(kernels, ion, batch)
    fields = np.ascontiguousarray(fields, dtype=float)
    temps = np.ascontiguousarray(T, dtype=float)
    result = kernels.grid_moments(jl_ion, jl_batch, fields, temps, np.ascontiguousarray(directions, dtype=float),
                                  np.ascontiguousarray(weights, dtype=float))
    return _to_numpy(result, (batch.n_sets, fields.size, temps.size))
