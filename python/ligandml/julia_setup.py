"""Finding, installing and remembering Julia for the Julia backend (no step can hang).

The kernels (julia/LigandML.jl, standard library only) are loaded through julia_import, the only
module that imports juliacall; the kernel calls are in julia_backend. This module decides whether
Julia can be used:

1. In this process: juliacall must be importable, the kernel files present, and the call must
   come from the main thread (Julia is called from the main thread only and parallelises inside).
   "auto" does not load Julia after torch (julia_import's rule).
2. The status file (``$LIGANDML_JULIA_STATUS``, default ``~/.cache/ligandml/julia_status.json``)
   remembers the outcome of the first attempt for this Python and juliacall version. A failure
   is not retried by later processes; delete the file or set ``LIGANDML_JULIA_RETRY=1`` to retry.
3. First use (no status yet), in subprocesses with time limits (on a time-out the subprocess's
   whole process group is killed, so nothing it started lives on or holds its pipes):
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
install; "julia" raises RuntimeError with the same text. The environment juliacall gets
(threads, signal handling) is julia_import.julia_environment's.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from importlib import metadata, util
from pathlib import Path

from . import julia_import

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


_STATE: dict = {"reason": None, "warned": False}


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


def _tail(text: str, lines: int = 6) -> str:
    kept = [ln for ln in (text or "").strip().splitlines() if ln.strip()][-lines:]
    return " | ".join(kept)


def _stderr_fd():
    try:
        return sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):
        return None


def _kill_process_group(proc: subprocess.Popen) -> None:
    """Kill a subprocess started with start_new_session=True and everything it started (juliapkg
    and Julia run as its children: killing only the direct child would leave them running and
    holding its output pipes open, so that waiting for the output would hang)."""
    if not hasattr(os, "killpg"):  # Windows: no process groups of this kind
        proc.kill()
        return
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _run_limited(cmd: list[str], timeout: float, env: dict, output=None) -> subprocess.CompletedProcess:
    """subprocess.run in a new session with a time limit [s]; on time-out (or an interruption) the
    whole process group is killed and the exception re-raised (subprocess.TimeoutExpired).
    output: a file descriptor for stdout and stderr (the child's progress shown live), or None
    to capture both as text."""
    streams = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE} if output is None else \
        {"stdout": output, "stderr": output}
    proc = subprocess.Popen(cmd, env=env, text=True, start_new_session=True, **streams)
    try:
        out, err = proc.communicate(timeout=timeout)
    except BaseException:
        _kill_process_group(proc)
        proc.communicate()
        raise
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def _quick_check(explicit: bool = False) -> dict:
    """Subprocess: is Julia (with PythonCall) installed for juliacall; if not, can it be downloaded."""
    env = julia_import.julia_environment(explicit=explicit)
    try:
        proc = _run_limited([sys.executable, "-c", _CHECK_SCRIPT, DOWNLOAD_URL], CHECK_TIMEOUT_S, env)
    except subprocess.TimeoutExpired:
        return {"error": f"the check for an installed Julia did not finish within {CHECK_TIMEOUT_S:.0f} s "
                         "(juliapkg lock held by another process, or DNS not answering)"}
    if proc.returncode != 0:
        return {"error": f"the check for an installed Julia failed: {_tail(proc.stderr)}"}
    try:
        return json.loads(proc.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {"error": f"the check for an installed Julia printed no result: {_tail(proc.stdout)}"}


def _trial_load(timeout: float, show_progress: bool, explicit: bool = False) -> dict:
    """Subprocess: import juliacall (installing Julia if juliapkg must) and run the kernels once."""
    env = julia_import.julia_environment(explicit=explicit)
    with tempfile.TemporaryDirectory(prefix="ligandml-julia-") as tmp:
        result = Path(tmp) / "result.json"
        fd = _stderr_fd() if show_progress else None
        try:
            proc = _run_limited(julia_import.trial_load_command(kernel_file(), result), timeout, env, fd)
        except subprocess.TimeoutExpired:
            return {"status": "failed", "reason": f"loading Julia did not finish within {timeout:.0f} s"}
        if proc.returncode != 0 or not result.is_file():
            detail = _tail((proc.stderr or "") + "\n" + (proc.stdout or "")) if fd is None else \
                "see juliapkg's messages above"
            return {"status": "failed", "reason": f"juliacall could not start Julia and load the kernels "
                                                  f"(exit code {proc.returncode}): {detail}"}
        info = json.loads(result.read_text())
    return dict(info, status="ok")


def _first_use(install: bool, timeout: float | None = None, explicit: bool = False) -> dict:
    """Find out, in subprocesses with time limits, whether Julia can be used; install it through
    juliacall when allowed and the download server is reachable. Returns the outcome; `remember`
    tells whether it is worth writing to the status file."""
    check = _quick_check(explicit)
    if "error" in check:
        return {"status": "failed", "reason": check["error"], "remember": True}
    if check.get("installed"):
        return dict(_trial_load(LOAD_TIMEOUT_S, show_progress=False, explicit=explicit), remember=True)
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
    return dict(_trial_load(timeout, show_progress=True, explicit=explicit), remember=True)


# --------------------------------------------------------------------------------------------
# loading into this process
# --------------------------------------------------------------------------------------------
def _static_reason() -> str | None:
    if util.find_spec("juliacall") is None:
        return "juliacall is not installed (pip install juliacall)"
    if kernel_file() is None:
        return "the Julia kernel files (julia/LigandML.jl) are missing from this installation of ligandml"
    return None


def _ensure_loaded(install: bool | None, explicit: bool,
                   install_timeout: float | None = None) -> tuple[bool, str | None]:
    """(True, None) when the kernels are loaded in this process, else (False, reason).
    explicit: Julia was asked for by name (all threads, loads even after torch, with a warning);
    otherwise this is "auto" choosing on its own (one thread, never after torch)."""
    if not _on_main_thread():
        return False, (f"Julia is called from the main thread only, and this call came from thread "
                       f"{threading.current_thread().name!r}")
    if julia_import.loaded_kernels() is not None:
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
        outcome = _first_use(_auto_install_allowed() if install is None else install, install_timeout,
                             explicit)
        remember = outcome.pop("remember")
        if remember:
            _write_status(outcome)
        if outcome["status"] != "ok":
            if remember:  # a real failure: sticky for this process too
                _STATE["reason"] = outcome["reason"]
            return False, outcome["reason"]
    if not explicit and julia_import.torch_came_first():
        # the probes ran in subprocesses; importing juliacall here, after torch, can crash
        return False, julia_import.TORCH_FIRST_REASON
    try:
        julia_import.import_kernels(kernel_file(), explicit)
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
# public API of the setup
# --------------------------------------------------------------------------------------------
def available(warn: bool = False, install: bool | None = None) -> bool:
    """Whether the Julia kernels can be used now by "auto" (loading them into this process if
    needed, with one Julia thread unless PYTHON_JULIACALL_THREADS says otherwise).

    First use probes in subprocesses with time limits (and installs through juliacall when the
    download server is reachable and `install` is true; None means "unless
    LIGANDML_JULIA_AUTO_INSTALL=no"). With `warn`, a negative answer issues one
    JuliaUnavailableWarning per process naming the reason and how to install. Never raises for
    a missing Julia; never hangs.
    """
    ok, reason = _ensure_loaded(install, explicit=False)
    if not ok and warn and not _STATE["warned"]:
        _STATE["warned"] = True
        warnings.warn(f"Julia backend unavailable, using NumPy: {reason}. {install_advice()}",
                      JuliaUnavailableWarning, stacklevel=4)
    return ok


def require():
    """Make sure the Julia kernels are loaded, as an explicit request for Julia; return the
    LigandML Julia module. RuntimeError saying why not and how to install."""
    ok, reason = _ensure_loaded(None, explicit=True)
    if not ok:
        raise RuntimeError(_unavailable_message(reason))
    return julia_import.loaded_kernels()


def install_julia(timeout_s: float | None = None) -> dict:
    """Install Julia and PythonCall through juliacall now, forgetting any remembered failure, and
    load the kernels. Returns describe(). `timeout_s` limits the install [s] (default
    $LIGANDML_JULIA_INSTALL_TIMEOUT or INSTALL_TIMEOUT_S)."""
    if timeout_s is not None and not timeout_s > 0:
        raise ValueError(f"timeout_s must be > 0 seconds, got {timeout_s!r}")
    forget_status()
    reset_state()
    _ensure_loaded(True, explicit=True, install_timeout=timeout_s)
    return describe(probe=False)


def describe(probe: bool = True, install: bool = False) -> dict:
    """What ligandml knows about Julia: available, reason, Julia version and threads, kernel path,
    status file and the juliacall environment. With `probe`, find out first (as available(), but
    without installing unless `install`)."""
    reason = None
    if probe:
        _, reason = _ensure_loaded(install, explicit=False)
    loaded = julia_import.loaded_kernels() is not None
    info = julia_import.loaded_info() or {}
    remembered = read_status()
    env = julia_import.julia_environment()
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
