"""Backend selection and the Julia seam: fallback without Julia, the remembered failure, the error
of an explicit "julia", `ligandml info`, and the kernels inside a built wheel.

Where Julia cannot be had (as on our machines) the fallback tests run for real; where it can,
the tests that need its absence skip.
"""
from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

import ligandml
from ligandml import julia_import, julia_setup
from ligandml.backends import backend_info, requested_backend, resolve_backend

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

REPO = Path(__file__).resolve().parents[1]
T = np.geomspace(2.0, 300.0, 12)
PARAMS = {"D": [-6.0, 3.0, -4.0], "E": [0.5, 1.0, 0.3]}


@pytest.fixture
def status_file(tmp_path, monkeypatch):
    """A private status file and a clean process state for the Julia seam."""
    if julia_import.loaded_kernels() is not None:
        pytest.skip("Julia is loaded in this process; the no-Julia paths are tested where it is absent")
    path = tmp_path / "julia_status.json"
    monkeypatch.setenv(julia_setup.STATUS_ENV, str(path))
    monkeypatch.delenv(julia_setup.RETRY_ENV, raising=False)
    monkeypatch.delenv("LIGANDML_BACKEND", raising=False)
    julia_setup.reset_state()
    yield path
    julia_setup.reset_state()


def remember_failure(reason: str = "no Julia in this test") -> None:
    julia_setup._write_status({"status": "failed", "reason": reason})


def _child_env(status: Path, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("LIGANDML_BACKEND", julia_setup.RETRY_ENV)}
    env[julia_setup.STATUS_ENV] = str(status)
    env.update(extra)
    return env


# A child process: counts the subprocesses the seam starts (every Popen), times three "auto" sweeps against
# NumPy, counts the warnings, and reports whether juliacall got imported.
_AUTO_CHILD = r"""
import json, subprocess, sys, time, warnings
calls = []
class CountingPopen(subprocess.Popen):  # subprocess.run starts its processes through Popen too
    def __init__(self, args, *rest, **kwargs):
        calls.append(list(args)[:2])
        super().__init__(args, *rest, **kwargs)
subprocess.Popen = CountingPopen
import numpy as np
import ligandml
imported_at_start = "juliacall" in sys.modules
T = np.geomspace(2.0, 300.0, 12)
params = {"D": [-6.0, 3.0, -4.0], "E": [0.5, 1.0, 0.3]}
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    t0 = time.perf_counter()
    runs = [ligandml.powder_susceptibility("Er3+", params, T, backend="auto") for _ in range(3)]
    runs.append(ligandml.powder_susceptibility("Er3+", params, T))  # default: $LIGANDML_BACKEND or auto
    elapsed = time.perf_counter() - t0
reference = ligandml.powder_susceptibility("Er3+", params, T, backend="numpy")
print(json.dumps({
    "elapsed": elapsed,
    "equal": all(np.array_equal(r, reference) for r in runs),
    "warnings": [str(w.message) for w in caught if w.category.__name__ == "JuliaUnavailableWarning"],
    "subprocesses": len(calls),
    "juliacall_imported": imported_at_start or "juliacall" in sys.modules,
}))
"""


def _run_auto_child(env: dict) -> dict:
    # where Julia is present (the Julia CI job) the child loads it, which can take minutes
    proc = subprocess.run([sys.executable, "-c", _AUTO_CHILD], env=env, capture_output=True, text=True,
                          timeout=julia_setup.LOAD_TIMEOUT_S, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_requested_backend_reads_argument_then_environment(monkeypatch):
    monkeypatch.setenv("LIGANDML_BACKEND", "NumPy")
    assert requested_backend(None) == "numpy"
    assert requested_backend("julia") == "julia"
    monkeypatch.delenv("LIGANDML_BACKEND")
    assert requested_backend(None) == "auto"
    with pytest.raises(ValueError, match="unknown backend 'fortran'"):
        requested_backend("fortran")
    monkeypatch.setenv("LIGANDML_BACKEND", "numpy")
    assert resolve_backend() == "numpy"


def test_auto_falls_back_fast_warns_once_and_next_process_does_not_retry(tmp_path):
    """No Julia: "auto" gives NumPy's numbers in < 5 s with one warning; the failure is written
    to the status file, and a second process reads it instead of probing again."""
    status = tmp_path / "status.json"
    first = _run_auto_child(_child_env(status))
    if not first["warnings"]:
        pytest.skip("Julia is available here, so 'auto' does not fall back")
    assert first["equal"], "auto must return exactly NumPy's numbers"
    assert first["elapsed"] < 5.0, f"fallback took {first['elapsed']:.1f} s"
    assert len(first["warnings"]) == 1, first["warnings"]
    message = first["warnings"][0]
    assert "using NumPy" in message and "ligandml info --install" in message
    assert str(status) in message and "LIGANDML_JULIA_RETRY=1" in message
    assert first["subprocesses"] >= 1  # the first process probed
    assert not first["juliacall_imported"]
    recorded = json.loads(status.read_text())
    assert recorded["status"] == "failed" and recorded["reason"] in message
    before = status.read_bytes()

    second = _run_auto_child(_child_env(status))
    assert second["subprocesses"] == 0, "the second process must not probe or install again"
    assert second["equal"] and len(second["warnings"]) == 1
    assert "remembered from" in second["warnings"][0]
    assert second["elapsed"] < 5.0
    assert status.read_bytes() == before


def test_broken_julia_is_detected_in_a_subprocess_and_remembered(tmp_path):
    """Works on any machine: juliacall pointed at a Julia that does not exist fails in the trial
    load (a subprocess), auto falls back, and the reason names the failure."""
    status = tmp_path / "status.json"
    env = _child_env(status, PYTHON_JULIACALL_EXE=str(tmp_path / "no-julia"),
                     PYTHON_JULIACALL_PROJECT=str(tmp_path))
    result = _run_auto_child(env)
    assert result["equal"] and len(result["warnings"]) == 1 and result["elapsed"] < 10.0
    assert not result["juliacall_imported"]
    recorded = json.loads(status.read_text())
    assert recorded["status"] == "failed" and "could not start Julia" in recorded["reason"]


def test_explicit_julia_raises_with_reason_and_install_advice(status_file, monkeypatch):
    remember_failure("no Julia on this test machine")
    with pytest.raises(RuntimeError) as err:
        ligandml.powder_susceptibility("Er3+", PARAMS, T, backend="julia")
    text = str(err.value)
    assert "Julia backend is unavailable: no Julia on this test machine" in text
    assert "remembered from" in text and str(status_file) in text
    assert "ligandml info --install" in text and "LIGANDML_JULIA_RETRY=1" in text
    assert "backend='numpy'" in text
    monkeypatch.setenv("LIGANDML_BACKEND", "julia")
    with pytest.raises(RuntimeError, match="Julia backend is unavailable"):
        ligandml.powder_magnetization("Er3+", PARAMS, [1.0], T[:2])
    monkeypatch.setenv("LIGANDML_BACKEND", "numpy")
    chi = ligandml.powder_susceptibility("Er3+", PARAMS, T)
    assert chi.shape == (3, T.size) and np.all(chi > 0)


def test_remembered_failure_skips_the_probe_unless_retry_is_set(status_file, monkeypatch):
    calls = []

    def fake_first_use(install):
        calls.append(install)
        return {"status": "failed", "reason": "probed again", "remember": True}

    monkeypatch.setattr(julia_setup, "_first_use", lambda install, *rest: fake_first_use(install))
    remember_failure("first attempt failed")
    assert not julia_setup.available()
    assert calls == []
    monkeypatch.setenv(julia_setup.RETRY_ENV, "1")
    julia_setup.reset_state()
    assert not julia_setup.available()
    assert len(calls) == 1
    assert json.loads(status_file.read_text())["reason"] == "probed again"


def test_the_default_status_file_is_in_the_user_cache(status_file, monkeypatch, tmp_path):
    """Without $LIGANDML_JULIA_STATUS (which the suite sets) the outcome goes to
    $XDG_CACHE_HOME/ligandml/julia_status.json, else ~/.cache/ligandml/, and is read back there."""
    monkeypatch.delenv(julia_setup.STATUS_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    expected = tmp_path / "xdg" / "ligandml" / "julia_status.json"
    assert julia_setup.status_path() == expected
    remember_failure("remembered in the cache")
    assert julia_setup.read_status()["reason"] == "remembered in the cache"
    assert not julia_setup.available()
    assert "remembered from" in julia_setup.describe(probe=False)["reason"]
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert julia_setup.status_path() == tmp_path / "home" / ".cache" / "ligandml" / "julia_status.json"


def test_outcome_of_another_interpreter_is_ignored(status_file):
    status_file.write_text(json.dumps({"status": "failed", "reason": "elsewhere",
                                       "fingerprint": {"python": "/other/python", "juliacall": "0"}}))
    assert julia_setup.read_status() is None


def test_install_off_is_not_remembered(status_file, monkeypatch):
    """"Not installed, install not allowed" is a choice, not a failure: nothing is written."""
    monkeypatch.setattr(julia_setup, "_quick_check", lambda *a: {"installed": False, "network": "ok"})
    assert not julia_setup.available(install=False)
    assert not status_file.exists()
    monkeypatch.setenv(julia_setup.AUTO_INSTALL_ENV, "no")
    julia_setup.reset_state()
    assert not julia_setup.available()
    assert not status_file.exists()


def test_unreachable_download_server_fails_without_installing(status_file, monkeypatch):
    monkeypatch.setattr(julia_setup, "_quick_check",
                        lambda *a: {"installed": False, "network": "URLError: DNS says no"})
    monkeypatch.setattr(julia_setup, "_trial_load", lambda *a, **k: pytest.fail("must not try to install"))
    assert not julia_setup.available()
    assert "unreachable (URLError: DNS says no)" in json.loads(status_file.read_text())["reason"]


def test_a_hanging_check_is_cut_off(status_file, monkeypatch):
    monkeypatch.setattr(julia_setup, "_CHECK_SCRIPT", "import time; time.sleep(60)")
    monkeypatch.setattr(julia_setup, "CHECK_TIMEOUT_S", 0.5)
    t0 = time.perf_counter()
    assert not julia_setup.available()
    assert time.perf_counter() - t0 < 5.0
    assert "did not finish within" in json.loads(status_file.read_text())["reason"]


def _running(pid: int) -> bool:
    """Whether process `pid` still runs (a zombie waiting to be reaped does not count)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    except OSError:
        return True
    return state != "Z"


@pytest.mark.skipif(not Path("/proc").is_dir() or not hasattr(os, "killpg"),
                    reason="needs /proc and POSIX process groups")
def test_a_timed_out_probe_takes_its_children_with_it(status_file, monkeypatch, tmp_path):
    """A probe that started a child of its own (as juliapkg starts Julia) and hangs: on the time
    limit the whole process group dies, and the caller returns at once instead of waiting for
    the child, which holds the probe's output pipe."""
    pid_file = tmp_path / "grandchild.pid"
    script = ("import subprocess, sys, time\n"
              "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
              f"open({str(pid_file)!r}, 'w').write(str(child.pid))\n"
              "time.sleep(60)\n")
    monkeypatch.setattr(julia_setup, "_CHECK_SCRIPT", script)
    monkeypatch.setattr(julia_setup, "CHECK_TIMEOUT_S", 4.0)
    t0 = time.perf_counter()
    assert not julia_setup.available()
    assert time.perf_counter() - t0 < 20.0
    assert "did not finish within 4 s" in json.loads(status_file.read_text())["reason"]
    grandchild = int(pid_file.read_text())
    deadline = time.monotonic() + 10.0
    while _running(grandchild) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _running(grandchild), "the probe's child outlived the time limit"


def test_julia_is_called_from_the_main_thread_only(status_file):
    result = {}

    def worker():
        result["available"] = julia_setup.available()
        try:
            julia_setup.require()
        except RuntimeError as exc:
            result["error"] = str(exc)

    thread = threading.Thread(target=worker, name="sweeper")
    thread.start()
    thread.join(10)
    assert result["available"] is False
    assert "main thread only" in result["error"] and "'sweeper'" in result["error"]
    assert not status_file.exists()  # a thread is no reason to give up on Julia for good


def test_torch_imported_first_keeps_auto_on_numpy(status_file, monkeypatch):
    if "juliacall" in sys.modules:
        pytest.skip("juliacall already imported in this process")
    julia_setup._write_status({"status": "ok", "julia_version": "1.10.0"})
    monkeypatch.setitem(sys.modules, "torch", sys.modules.get("torch") or object())
    monkeypatch.setattr(julia_import, "import_kernels", lambda *a: pytest.fail("must not import juliacall"))
    assert not julia_setup.available()
    ok, reason = julia_setup._ensure_loaded(None, explicit=False)
    assert not ok and "torch was imported before juliacall" in reason
    assert json.loads(status_file.read_text())["status"] == "ok"  # nothing to remember


def test_torch_safe_backend_keeps_juliacall_out_after_torch(status_file, monkeypatch):
    """The one torch-order helper: after torch (and without Julia loaded) None and "auto" give
    NumPy without probing; a bad $LIGANDML_BACKEND is still refused; an explicit "julia" is
    still attempted (and here fails with the reason)."""
    if "juliacall" in sys.modules:
        pytest.skip("juliacall already imported in this process")
    monkeypatch.setitem(sys.modules, "torch", sys.modules.get("torch") or object())
    monkeypatch.setattr(julia_setup, "_first_use", lambda *a: pytest.fail("must not probe after torch"))
    monkeypatch.setenv("LIGANDML_BACKEND", "julia")
    assert julia_import.torch_safe_backend() == "numpy"
    assert julia_import.torch_safe_backend("auto") == "numpy"
    assert julia_import.torch_safe_backend("numpy") == "numpy"
    monkeypatch.setenv("LIGANDML_BACKEND", "fortran")
    with pytest.raises(ValueError, match="unknown backend"):
        julia_import.torch_safe_backend()
    remember_failure("no Julia here")
    with pytest.raises(RuntimeError, match="no Julia here"):
        julia_import.torch_safe_backend("julia")


def test_juliacall_environment_defaults_for_an_explicit_request():
    """backend="julia" asked by name: all threads, and Julia handles the signals (juliacall
    requires that for several threads) unless the user chose otherwise."""
    env = julia_import.julia_environment({}, explicit=True)
    assert env == {"PYTHON_JULIACALL_THREADS": "auto", "PYTHON_JULIACALL_HANDLE_SIGNALS": "yes"}
    env = julia_import.julia_environment({"PYTHON_JULIACALL_THREADS": "1"}, explicit=True)
    assert env == {"PYTHON_JULIACALL_THREADS": "1"}
    env = julia_import.julia_environment({"JULIA_NUM_THREADS": "4"}, explicit=True)
    assert "PYTHON_JULIACALL_THREADS" not in env and env["PYTHON_JULIACALL_HANDLE_SIGNALS"] == "yes"
    env = julia_import.julia_environment({"PYTHON_JULIACALL_HANDLE_SIGNALS": "no"}, explicit=True)
    assert env["PYTHON_JULIACALL_HANDLE_SIGNALS"] == "no" and env["PYTHON_JULIACALL_THREADS"] == "auto"


def test_auto_never_takes_the_signals_away():
    """"auto" choosing Julia on its own must leave Ctrl-C to Python: no
    PYTHON_JULIACALL_HANDLE_SIGNALS, and so one Julia thread (several threads without Julia's
    signal handling can crash) unless the user picked the threads."""
    assert julia_import.julia_environment({}) == {"PYTHON_JULIACALL_THREADS": "1"}
    env = julia_import.julia_environment({"PYTHON_JULIACALL_THREADS": "auto"})
    assert env == {"PYTHON_JULIACALL_THREADS": "auto"}
    assert julia_import.julia_environment({"JULIA_NUM_THREADS": "4"}) == {"JULIA_NUM_THREADS": "4"}


def test_the_in_process_import_gets_the_environment_of_its_request(monkeypatch):
    """import_kernels writes the defaults into os.environ before juliacall reads them: checked
    with a stand-in juliacall module that records the environment at its import."""
    import types

    seen = {}

    class FakeMain:
        Main = "Main"

        class Base:
            @staticmethod
            def include(main, path):
                return types.SimpleNamespace(path=path)

        @staticmethod
        def seval(code):
            return "1.10.0" if "VERSION" in code else 1

    fake = types.ModuleType("juliacall")
    fake.Main = FakeMain

    def fake_import(name, *args, **kwargs):
        if name == "juliacall":
            seen.update({k: os.environ.get(k) for k in ("PYTHON_JULIACALL_THREADS",
                                                          "PYTHON_JULIACALL_HANDLE_SIGNALS")})
            return fake
        return real_import(name, *args, **kwargs)

    import builtins

    real_import = builtins.__import__
    for explicit, expected in ((False, {"PYTHON_JULIACALL_THREADS": "1",
                                        "PYTHON_JULIACALL_HANDLE_SIGNALS": None}),
                               (True, {"PYTHON_JULIACALL_THREADS": "auto",
                                       "PYTHON_JULIACALL_HANDLE_SIGNALS": "yes"})):
        for key in ("PYTHON_JULIACALL_THREADS", "PYTHON_JULIACALL_HANDLE_SIGNALS", "JULIA_NUM_THREADS"):
            monkeypatch.delenv(key, raising=False)
        monkeypatch.delitem(sys.modules, "torch", raising=False)
        monkeypatch.setattr(julia_import, "_LOADED", {"jl": None, "kernels": None, "info": None})
        with monkeypatch.context() as m:
            m.setattr(builtins, "__import__", fake_import)
            julia_import.import_kernels("/nowhere/LigandML.jl", explicit=explicit)
        assert seen == expected
        assert julia_import.loaded_kernels().path == "/nowhere/LigandML.jl"
        assert julia_import.loaded_info() == {"julia_version": "1.10.0", "threads": 1}


def test_backend_info_and_cli_report(status_file, capsys):
    remember_failure("no Julia for the report")
    info = backend_info()
    assert info["available"] == ["numpy"] and info["auto"] == "numpy" and info["requested"] == "auto"
    julia = info["julia"]
    assert julia["available"] is False and "no Julia for the report" in julia["reason"]
    assert Path(julia["kernel_path"]).is_file() and julia["kernel_path"].endswith("LigandML.jl")
    assert julia["status_file"] == str(status_file)

    from ligandml.cli import main

    assert main(["info"]) == 0
    text = capsys.readouterr().out
    assert "'auto' picks:       numpy" in text and "no Julia for the report" in text
    assert "kernel path:" in text and "ligandml info --install" in text
    assert main(["info", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["julia"]["kernel_path"] == julia["kernel_path"]


def test_import_never_loads_juliacall():
    proc = subprocess.run([sys.executable, "-c", "import sys, ligandml; from ligandml import julia_backend, "
                           "julia_import, julia_setup, backends; print('juliacall' in sys.modules)"], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "False"
    seam_importers = [p.name for p in (REPO / "python" / "ligandml").rglob("*.py")
                      if re.search(r"^\s*(import juliacall|from juliacall)", p.read_text(), re.M)]
    assert seam_importers == ["julia_import.py"]


def test_julia_functions_called_from_python_exist_in_the_kernels():
    """The seam cannot run here; check statically that every kernel it calls is exported."""
    seam = "".join((REPO / "python" / "ligandml" / name).read_text()
                   for name in ("julia_backend.py", "julia_import.py"))
    called = set(re.findall(r"(?:kernels|mod)\.([A-Za-z_]\w*)\(", seam))
    module = (REPO / "julia" / "LigandML.jl").read_text()
    export_part = module[module.index("\nusing LinearAlgebra"):module.index("\ninclude(\"src/")]
    exported = set(re.findall(r"\w+", export_part)) - {"using", "LinearAlgebra", "export"}
    assert {"Ion", "StevensBatch", "zero_field_chi", "finite_field_chi", "powder_moment",
            "stevens_operator"} <= called
    assert called <= exported, f"not exported by LigandML.jl: {called - exported}"
    sources = sorted(p.name for p in (REPO / "julia" / "src").glob("*.jl"))
    included = sorted(re.findall(r'include\("src/(\w+\.jl)"\)', module))
    assert sources == included


def test_project_toml_declares_a_stdlib_only_package():
    project = tomllib.loads((REPO / "Project.toml").read_text())
    assert project["name"] == "LigandML"
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", project["uuid"])
    assert re.fullmatch(r"\d+\.\d+\.\d+", project["version"])
    assert project["deps"] == {"LinearAlgebra": "37e2e46d-f89d-539d-b4ee-838fcccc9c8e"}
    assert project["compat"] == {"julia": "1.10"}
    assert project["extras"] == {"Test": "8dfed614-e22c-5e08-85e1-65c5234f0b40"}
    assert project["targets"] == {"test": ["Test"]}


def test_fatou_lint_passes():
    fatou = shutil.which("fatou")
    if fatou is None:
        pytest.skip("fatou is not installed (pip install fatou)")
    proc = subprocess.run([fatou, "lint", "--color", "never", "julia"], cwd=REPO, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _copy_source_tree(dest: Path) -> Path:
    """The files a build needs, copied (a build writes build/ and *.egg-info next to them)."""
    dest.mkdir()
    for name in ("pyproject.toml", "setup.py", "MANIFEST.in", "Project.toml", "README.md", "LICENSE"):
        if (REPO / name).exists():
            shutil.copy2(REPO / name, dest / name)
    shutil.copytree(REPO / "julia", dest / "julia")
    shutil.copytree(REPO / "python", dest / "python", ignore=shutil.ignore_patterns("*.egg-info", "__pycache__"))
    return dest


def _shipped_kernel_files() -> dict[str, Path]:
    """Path inside the package -> canonical source file."""
    files = {"ligandml/julia/LigandML.jl": REPO / "julia" / "LigandML.jl",
             "ligandml/julia/Project.toml": REPO / "Project.toml"}
    files.update({f"ligandml/julia/src/{p.name}": p for p in (REPO / "julia" / "src").glob("*.jl")})
    return files


def _wheel_tools_missing() -> str | None:
    try:
        import setuptools
    except ImportError:
        return "setuptools is not installed"
    major_minor = tuple(int(x) for x in re.findall(r"\d+", setuptools.__version__)[:2])
    if major_minor < (70, 1) and importlib.util.find_spec("wheel") is None:
        return f"setuptools {setuptools.__version__} needs the 'wheel' package to build wheels offline"
    return None


def test_build_copies_the_kernels_into_the_package(tmp_path):
    """setup.py's build_py puts the Julia sources into ligandml/julia/ of the build tree."""
    src = _copy_source_tree(tmp_path / "src")
    proc = subprocess.run([sys.executable, "setup.py", "-q", "build_py", "--build-lib", str(tmp_path / "lib")],
                          cwd=src, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for rel, source in _shipped_kernel_files().items():
        assert (tmp_path / "lib" / rel).read_bytes() == source.read_bytes(), rel


def test_wheel_carries_the_kernels_and_the_installed_package_finds_them(tmp_path):
    """Build a wheel from a copy of the tree (offline, no isolation), check its file list, unpack
    it and let `ligandml info` find the kernels from the unpacked package."""
    missing = _wheel_tools_missing()
    if missing:
        pytest.skip(f"cannot build a wheel offline here: {missing} (the build_py test covers the copy)")
    src = _copy_source_tree(tmp_path / "src")
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                           "--no-index", "-q", "-w", str(tmp_path / "dist"), str(src)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    wheel = next((tmp_path / "dist").glob("ligandml-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = _shipped_kernel_files()
    assert set(expected) <= names, f"missing from the wheel: {set(expected) - names}"
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    for rel, source in expected.items():
        assert (site / rel).read_bytes() == source.read_bytes(), rel
    env = _child_env(tmp_path / "status.json", PYTHONPATH=str(site))
    info = subprocess.run([sys.executable, "-m", "ligandml.cli", "info", "--json"], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=julia_setup.LOAD_TIMEOUT_S)
    assert info.returncode == 0, info.stderr
    report = json.loads(info.stdout)
    assert report["julia"]["kernel_path"] == str(site / "ligandml" / "julia" / "LigandML.jl")


def test_the_imported_ligandml_finds_its_kernels():
    """Editable install: the source tree's julia/. Installed package (as in .ci/run, a
    non-editable `pip install .`): the copy shipped inside the package, identical to the source."""
    package = Path(ligandml.__file__).resolve().parent
    kernel = julia_setup.kernel_file()
    assert kernel is not None and kernel.is_file()
    if (package / "julia" / "LigandML.jl").is_file():
        assert kernel == package / "julia" / "LigandML.jl"
        for rel, source in _shipped_kernel_files().items():
            assert (package.parent / rel).read_bytes() == source.read_bytes(), f"{rel} is stale: reinstall"
    else:
        assert package == REPO / "python" / "ligandml", "an installed ligandml must carry its kernels"
        assert kernel == REPO / "julia" / "LigandML.jl"


def test_install_julia_forgets_the_remembered_failure_and_tries_again(status_file, monkeypatch):
    from ligandml.backends import install_julia

    remember_failure("old failure")
    monkeypatch.setattr(julia_setup, "_quick_check",
                        lambda *a: {"installed": False, "network": "URLError: still offline"})
    report = install_julia(timeout_s=5)
    assert report["available"] is False and "still offline" in report["reason"]
    assert "still offline" in json.loads(status_file.read_text())["reason"]
    with pytest.raises(ValueError, match="timeout_s must be > 0"):
        install_julia(timeout_s=0)
