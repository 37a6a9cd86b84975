"""Build hook: ship the Julia kernels inside the Python package.

The canonical Julia sources live at the repository root (Project.toml, julia/LigandML.jl,
julia/src/*.jl), where Julia and its tests use them. A wheel must carry them too, so that an
installed ligandml finds its kernels: build_py copies them to ligandml/julia/ in the build tree
(ligandml/julia/LigandML.jl, ligandml/julia/src/*.jl, ligandml/julia/Project.toml).
Editable installs need no copy: julia_backend.kernel_dir() falls back to the source tree.
Everything else is configured in pyproject.toml.
"""
from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent


def julia_kernel_files() -> list[tuple[Path, str]]:
    """(source file, destination relative to the ligandml package) for every file shipped."""
    files = [(ROOT / "Project.toml", "julia/Project.toml"), (ROOT / "julia" / "LigandML.jl", "julia/LigandML.jl")]
    files += [(p, f"julia/src/{p.name}") for p in sorted((ROOT / "julia" / "src").glob("*.jl"))]
    return files


class BuildPyWithJuliaKernels(build_py):
    """build_py that also copies the Julia kernels into ligandml/julia/."""

    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            return
        for src, rel in julia_kernel_files():
            if not src.is_file():
                raise FileNotFoundError(f"Julia kernel file missing, cannot build: {src}")
            dest = Path(self.build_lib) / "ligandml" / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dest)

    def get_outputs(self, include_bytecode=True):
        outputs = super().get_outputs(include_bytecode)
        if getattr(self, "editable_mode", False):
            return outputs
        return outputs + [str(Path(self.build_lib) / "ligandml" / rel) for _, rel in julia_kernel_files()]


setup(cmdclass={"build_py": BuildPyWithJuliaKernels})
