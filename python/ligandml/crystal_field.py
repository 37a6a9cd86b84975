"""CrystalField: one ion with one set of ligand-field parameters, and everything it predicts."""
from __future__ import annotations

import numpy as np

from . import susceptibility as _phys
from . import checks
from .constants import kelvin_per, normalise_energy_unit
from .hamiltonian import ligand_field_hamiltonians
from .parameters import to_stevens_batch
from .symmetry import check_symmetry
from .sweeps import (as_ion, crystal_magnetization, crystal_susceptibility, powder_magnetization,
                     powder_susceptibility)


class CrystalField:
    """A lanthanide ion in a ligand field H_LF = sum_kq B_k^q O_k^q (Hutchings Stevens operators).

    CrystalField(ion, {"B20": -0.0277, "B43": -0.0142}, unit="meV") or
    CrystalField.from_DE("Er3+", D=-6.0, E=0.5). Parameters are stored in kelvin.
    symmetry: a point group ("D3d", "Oh", ...; ligandml.symmetry): parameters it forbids in its
    standard setting, or cubic sets that break its fixed ratios, are refused by name.
    """

    def __init__(self, ion, params, unit: str = "K", symmetry: str | None = None):
        self.ion = as_ion(ion)
        batch = to_stevens_batch(params, unit)
        if symmetry is not None:  # site symmetry
            check_symmetry(batch, symmetry)
        if batch.n_sets != 1:
            raise ValueError("CrystalField takes one parameter set (scalars); use "
                             "powder_susceptibility for batches")
        self._batch = batch

    @classmethod
    def from_DE(cls, ion, D: float, E: float, unit: str = "K") -> "CrystalField":
        """H = D[Jz^2 - J(J+1)/3] + E(Jx^2 - Jy^2), i.e. B20 = D/3, B22 = E (D, E in `unit`)."""
        return cls(ion, {"D": D, "E": E}, unit=unit)

    @property
    def params(self) -> dict[str, float]:
        """Stevens coefficients in kelvin, by name ("B20", ...)."""
        return {name: float(v[0]) for name, v in self._batch.as_dict().items()}

    def __repr__(self) -> str:
        body = ", ".join(f"{k}={v:.6g}" for k, v in self.params.items())
        return f"CrystalField({self.ion.name}, {{{body}}} K)"

    def hamiltonian(self, unit: str = "K") -> np.ndarray:
        """H_LF as a complex (2J+1)x(2J+1) matrix in the |J, m> basis (m = J ... -J), in `unit`."""
        H = ligand_field_hamiltonians(self.ion, self._batch, real=False)[0]
        return H / kelvin_per(unit)

    def energies(self, unit: str = "K") -> np.ndarray:
        """Eigenvalues of H_LF, ascending, ground state at 0, in `unit` ("K", "meV", "cm-1")."""
        normalise_energy_unit(unit)
        e = np.linalg.eigvalsh(self.hamiltonian())
        return (e - e[0]) / kelvin_per(unit)

    def susceptibility(self, T, field=None, backend: str | None = "numpy", direction="powder") -> np.ndarray:
        """chi(T) [emu/mol per ion]; T in kelvin. field None: exact zero-field linear response;
        a field [T]: M/B at that field. direction: "powder" (orientation average, the default),
        "x", "y", "z", a 3-vector of the Stevens frame, or "plane" (average over the in-plane
        angle perpendicular to z: H in the ab plane of a uniaxial crystal)."""
        if isinstance(direction, str) and direction.strip().lower() == "powder":
            return powder_susceptibility(self.ion, self._batch, T, field=field, backend=backend)[0]
        if field is None:
            return self._zero_field_along(T, direction)
        return crystal_susceptibility(self.ion, self._batch, T, field, direction, backend=backend)[0]

    def _zero_field_along(self, T, direction) -> np.ndarray:
        """n.chi.n [emu/mol] from the zero-field tensor ("plane": (chi_xx + chi_yy)/2)."""
        chi = self.susceptibility_tensor(T)
        if isinstance(direction, str) and direction.strip().lower() == "plane":
            return 0.5 * (chi[:, 0, 0] + chi[:, 1, 1])
        from .orientations import single_direction

        n = single_direction(direction)
        return np.einsum("a,tab,b->t", n, chi, n)

    def chiT(self, T, field=None, backend: str | None = "numpy") -> np.ndarray:
        """chi(T) * T [emu K/mol per ion], as susceptibility()."""
        T = checks.temperatures(T)
        return self.susceptibility(T, field=field, backend=backend) * T

    def susceptibility_tensor(self, T) -> np.ndarray:
        """Zero-field susceptibility tensor chi_ab(T) [emu/mol], shape (len(T), 3, 3), axes x, y, z
        of the Stevens frame. Its trace / 3 is the powder value."""
        T = checks.temperatures(T)
        if self.ion.gJ == 0.0 or self.ion.dim < 2:
            return np.zeros((T.size, 3, 3))
        return _phys.susceptibility_tensor_single(self.ion, self.hamiltonian(), T)

    def magnetization(self, B, T, backend: str | None = "numpy", direction="powder") -> np.ndarray:
        """Magnetisation [muB per ion] along the field; B [T] and T [K] broadcast together.

        direction: "powder" (default), "x", "y", "z", a 3-vector, or "plane" (as susceptibility).
        Every (B, T) pair is computed in one batched call. Returns an array of the broadcast
        shape (a float for two scalars).
        """
        B_arr, T_arr = np.broadcast_arrays(np.asarray(B, dtype=float), np.asarray(T, dtype=float))
        fields = checks.fields(np.unique(B_arr.ravel()), "B")
        temps = checks.temperatures(np.unique(T_arr.ravel()))
        if isinstance(direction, str) and direction.strip().lower() == "powder":
            table = powder_magnetization(self.ion, self._batch, fields, temps, backend=backend)[0]
        else:
            table = crystal_magnetization(self.ion, self._batch, fields, temps, direction,
                                          backend=backend)[0]
        out = table[np.searchsorted(fields, B_arr), np.searchsorted(temps, T_arr)]
        return float(out) if out.ndim == 0 else out
