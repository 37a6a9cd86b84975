"""The seam to Julia (placeholder until the Julia kernels land): Julia is never available."""
from __future__ import annotations


def available(warn: bool = False) -> bool:
    """Whether the Julia kernels can be used in this process."""
    return False


def require() -> None:
    """Raise RuntimeError explaining that the Julia backend is not available."""
    raise RuntimeError("the Julia backend is not available in this build of ligandml; "
                       "use backend='numpy'")
