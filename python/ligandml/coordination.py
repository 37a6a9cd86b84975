"""The coordination sphere of a lanthanide ion: ligand positions read from XYZ files or given
as arrays, in Cartesian or spherical coordinates.

Positions are in angstrom, relative to the lanthanide ion, in the frame of the Stevens
operators (z the quantisation axis). Nothing here rotates a structure: choose the frame (for
example z along a symmetry axis) before passing the coordinates.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .ions import LANTHANIDES

#: every element symbol, Z = 1 .. 118
ELEMENTS = (
    "H", "He", "Li", "Be", "B", "C", "N", "O", "F", "Ne", "Na", "Mg", "Al", "Si", "P", "S", "Cl",
    "Ar", "K", "Ca", "Sc", "Ti", "V", "Cr", "Mn", "Fe", "Co", "Ni", "Cu", "Zn", "Ga", "Ge", "As",
    "Se", "Br", "Kr", "Rb", "Sr", "Y", "Zr", "Nb", "Mo", "Tc", "Ru", "Rh", "Pd", "Ag", "Cd", "In",
    "Sn", "Sb", "Te", "I", "Xe", "Cs", "Ba", "La", "Ce", "Pr", "Nd", "Pm", "Sm", "Eu", "Gd", "Tb",
    "Dy", "Ho", "Er", "Tm", "Yb", "Lu", "Hf", "Ta", "W", "Re", "Os", "Ir", "Pt", "Au", "Hg", "Tl",
    "Pb", "Bi", "Po", "At", "Rn", "Fr", "Ra", "Ac", "Th", "Pa", "U", "Np", "Pu", "Am", "Cm", "Bk",
    "Cf", "Es", "Fm", "Md", "No", "Lr", "Rf", "Db", "Sg", "Bh", "Hs", "Mt", "Ds", "Rg", "Cn", "Nh",
    "Fl", "Mc", "Lv", "Ts", "Og",
)
_ELEMENT_SET = frozenset(ELEMENTS)
#: an atom label: element symbol, optionally followed by a site number or a charge ("O1", "O2-", "Er3+")
_LABEL = re.compile(r"^([A-Za-z]{1,2}?)(\d*[+-]?|\d+)$")
#: ligands closer to the ion than this [angstrom] count as sitting on it
ORIGIN_TOL_ANGSTROM = 1e-6


@dataclass(frozen=True)
class CoordinationSphere:
    """Ligands around one lanthanide ion.

    elements: element symbol of each ligand; positions: (N, 3) Cartesian coordinates [angstrom]
    relative to the ion; center: symbol of the lanthanide named in the file (None when the ion
    was taken to sit at the origin); comment: the XYZ comment line.
    """

    elements: tuple[str, ...]
    positions: np.ndarray
    center: str | None = None
    comment: str = ""

    @property
    def distances(self) -> np.ndarray:
        """Ion-ligand distances [angstrom]."""
        return np.linalg.norm(self.positions, axis=1)

    def within(self, max_distance: float) -> "CoordinationSphere":
        """The ligands no farther than `max_distance` angstrom from the ion."""
        keep = self.distances <= float(max_distance)
        return CoordinationSphere(tuple(e for e, k in zip(self.elements, keep) if k),
                                  self.positions[keep], self.center, self.comment)


def element_symbol(label: str, where: str = "") -> str:
    """Element symbol of an atom label ("O", "o", "O1", "O2-", "Er3+" -> "O", "O", "O", "O", "Er").

    Raises ValueError for a label that names no element.
    """
    match = _LABEL.match(str(label).strip())
    symbol = match.group(1).capitalize() if match else None
    if symbol not in _ELEMENT_SET:
        raise ValueError(f"{where}unknown element {label!r} (expected a symbol such as O, N, Cl, Er)")
    return symbol


def _parse_atom(line: str, where: str) -> tuple[str, np.ndarray]:
    fields = line.split()
    if len(fields) < 4:
        raise ValueError(f"{where}expected 'element x y z', got {line.strip()!r}")
    symbol = element_symbol(fields[0], where)
    try:
        xyz = np.array([float(v) for v in fields[1:4]])
    except ValueError:
        raise ValueError(f"{where}coordinates must be numbers, got {' '.join(fields[1:4])!r}") from None
    if not np.all(np.isfinite(xyz)):
        raise ValueError(f"{where}coordinates must be finite, got {' '.join(fields[1:4])!r}")
    return symbol, xyz


def read_xyz(path, center: int | None = None, max_distance: float | None = None) -> CoordinationSphere:
    """Read a coordination sphere from an XYZ file: lines 'element x y z' [angstrom].

    The standard header (atom count, then a comment line) is optional; blank lines and lines
    starting with '#' are skipped. Labels may carry a site number or charge ("O1", "O2-").
    The lanthanide ion is the one Ce..Yb atom in the file (or the atom at 0-based index
    `center`), and positions are shifted to put it at the origin; with no lanthanide in the file
    the ion sits at the origin. `max_distance` [angstrom] keeps only the ligands that close.
    Raises ValueError, naming the line, for unknown elements, bad numbers, a wrong atom count,
    two lanthanides without `center`, no ligands, or a ligand on the ion.
    """
    path = Path(path)
    lines = path.read_text(encoding="utf-8").splitlines()
    numbered = [(i + 1, ln) for i, ln in enumerate(lines) if ln.strip() and not ln.lstrip().startswith("#")]
    comment, expected = "", None
    if numbered and re.fullmatch(r"\s*\d+\s*", numbered[0][1]):
        expected = int(numbered[0][1])
        first = numbered[0][0]  # the comment line follows the count, even when blank
        comment = lines[first].strip() if first < len(lines) else ""
        numbered = [(n, ln) for n, ln in numbered if n > first + 1]
    atoms = [_parse_atom(ln, f"{path.name}:{n}: ") for n, ln in numbered]
    if expected is not None and expected != len(atoms):
        raise ValueError(f"{path.name}: header says {expected} atoms, the file has {len(atoms)}")
    if not atoms:
        raise ValueError(f"{path.name}: no atoms")
    symbols = [a[0] for a in atoms]
    xyz = np.array([a[1] for a in atoms])
    if center is None:
        ln_atoms = [i for i, s in enumerate(symbols) if s in LANTHANIDES]
        if len(ln_atoms) > 1:
            raise ValueError(f"{path.name}: {len(ln_atoms)} lanthanide atoms; pass center=<index> "
                             f"(0-based) to choose the ion")
        center = ln_atoms[0] if ln_atoms else None
    elif not 0 <= int(center) < len(atoms):
        raise ValueError(f"{path.name}: center={center} is not an atom index 0..{len(atoms) - 1}")
    origin_symbol = None
    if center is not None:
        origin_symbol = symbols[center]
        xyz = np.delete(xyz - xyz[center], center, axis=0)
        symbols.pop(center)
    sphere = CoordinationSphere(tuple(symbols), xyz, origin_symbol, comment)
    if max_distance is not None:
        sphere = sphere.within(max_distance)
    ligand_positions(sphere)  # the checks: at least one ligand, none on the ion
    return sphere


def spherical_to_cartesian(spherical) -> np.ndarray:
    """Rows (R [angstrom], theta [deg] from +z, phi [deg] from +x towards +y) -> (N, 3) x, y, z."""
    s = np.atleast_2d(np.asarray(spherical, dtype=float))
    if s.ndim != 2 or s.shape[1] != 3:
        raise ValueError(f"spherical ligand coordinates must be rows (R, theta, phi), got shape {s.shape}")
    R, theta, phi = s[:, 0], np.radians(s[:, 1]), np.radians(s[:, 2])
    return np.stack([R * np.sin(theta) * np.cos(phi), R * np.sin(theta) * np.sin(phi),
                     R * np.cos(theta)], axis=1)


def ligand_positions(ligands, coordinates: str = "cartesian") -> np.ndarray:
    """(N, 3) Cartesian ligand positions [angstrom] relative to the ion, checked.

    ligands: a CoordinationSphere (from read_xyz), or an array of rows (x, y, z) [angstrom]
    with coordinates="cartesian", or (R [angstrom], theta [deg], phi [deg]) with
    coordinates="spherical". Raises ValueError for no ligands, non-finite values, or a ligand
    on the ion (closer than ORIGIN_TOL_ANGSTROM).
    """
    if isinstance(ligands, CoordinationSphere):
        xyz = np.asarray(ligands.positions, dtype=float).reshape(-1, 3)
    else:
        if coordinates not in ("cartesian", "spherical"):
            raise ValueError(f"coordinates must be 'cartesian' or 'spherical', got {coordinates!r}")
        try:
            arr = np.asarray(ligands, dtype=float)
        except (TypeError, ValueError):
            raise ValueError("ligands must be rows of three numbers or a CoordinationSphere "
                             "(ligandml.read_xyz)") from None
        if arr.size == 0:
            raise ValueError("no ligands: give at least one ligand position")
        arr = np.atleast_2d(arr)
        if arr.ndim != 2 or arr.shape[1] != 3:
            raise ValueError(f"ligands must be an (N, 3) array of positions, got shape {arr.shape}")
        xyz = spherical_to_cartesian(arr) if coordinates == "spherical" else arr
    if xyz.shape[0] == 0:
        raise ValueError("no ligands: give at least one ligand position")
    if not np.all(np.isfinite(xyz)):
        raise ValueError("ligand coordinates must be finite")
    distances = np.linalg.norm(xyz, axis=1)
    on_ion = np.flatnonzero(distances < ORIGIN_TOL_ANGSTROM)
    if on_ion.size:
        raise ValueError(f"ligand {int(on_ion[0])} sits at the origin, on the lanthanide ion; "
                         f"positions are relative to the ion [angstrom]")
    return xyz


def ligand_elements(ligands) -> tuple[str, ...] | None:
    """Element symbols of the ligands when known (a CoordinationSphere), else None."""
    return ligands.elements if isinstance(ligands, CoordinationSphere) else None


def per_ligand(value, n: int, elements, what: str) -> np.ndarray:
    """One float per ligand from a number (all ligands), a sequence of n numbers, or a mapping
    element symbol -> number (needs the elements of a CoordinationSphere)."""
    if isinstance(value, dict):
        if elements is None:
            raise ValueError(f"{what} given by element needs ligands with element symbols "
                             f"(ligandml.read_xyz); give one number or one per ligand instead")
        keys = {element_symbol(k, f"{what}: "): v for k, v in value.items()}
        missing = sorted(set(elements) - set(keys))
        if missing:
            raise ValueError(f"{what} has no value for element(s) {', '.join(missing)}")
        out = np.array([float(keys[e]) for e in elements])
    else:
        try:
            out = np.asarray(value, dtype=float)
        except (TypeError, ValueError):
            raise ValueError(f"{what} must be a number, one number per ligand, or a dict by element") from None
        if out.ndim == 0:
            out = np.full(n, float(out))
        elif out.shape != (n,):
            raise ValueError(f"{what} needs one value per ligand ({n}), got shape {out.shape}")
    if not np.all(np.isfinite(out)):
        raise ValueError(f"{what} must be finite")
    return out


# --------------------------------------------------------------------------------------------
# named polyhedra, built in the standard setting of their point group (ligandml.symmetry)
# --------------------------------------------------------------------------------------------
#: ideal polar angle of the octahedron and cube ligands seen down a threefold / fourfold axis [deg]
MAGIC_ANGLE_DEG = float(np.degrees(np.arccos(1.0 / np.sqrt(3.0))))

#: name -> (point group, ideal polar angle [deg], azimuths of the upper ring [deg], azimuths of the
#: lower ring [deg], description). Upper ligands sit at polar angle theta, lower ones at
#: 180 - theta; every ligand at the same distance.
POLYHEDRA: dict[str, tuple[str, float, tuple[float, ...], tuple[float, ...], str]] = {
    "trigonal-octahedron": (
        "D3d", MAGIC_ANGLE_DEG, (0.0, 120.0, 240.0), (60.0, 180.0, 300.0),
        "octahedron seen down a threefold axis (z), x in a mirror plane; theta > 54.74 deg is a "
        "trigonal compression along z, theta < 54.74 deg an elongation (ErSe6 in KErSe2)"),
    "trigonal-prism": (
        "D3h", float(np.degrees(np.arctan(2.0 / np.sqrt(3.0)))), (0.0, 120.0, 240.0),
        (0.0, 120.0, 240.0),
        "trigonal prism, z along the threefold axis, x along a twofold axis; the ideal angle "
        "49.11 deg makes all edges equal"),
    "square-antiprism": (
        "D4", float(np.degrees(np.arctan(1.0 / np.sqrt(0.5 - np.sin(np.pi / 8) ** 2)))),
        (-22.5, 67.5, 157.5, 247.5), (22.5, 112.5, 202.5, 292.5),
        "square antiprism (site symmetry D4d, whose crystallographic subgroup D4 is used), z "
        "along the eightfold rotoinversion axis, x along a twofold axis; the ideal angle "
        "59.26 deg makes all edges equal"),
    "square-prism": (
        "D4h", MAGIC_ANGLE_DEG, (45.0, 135.0, 225.0, 315.0), (45.0, 135.0, 225.0, 315.0),
        "square prism, z along the fourfold axis, x along a twofold axis; 54.74 deg is the cube, "
        "larger angles a tetragonal compression"),
}


def polyhedron_point_group(name: str) -> str:
    """The point group (Schoenflies, ligandml.symmetry's standard setting) of the named polyhedron."""
    return _polyhedron(name)[0]


def _polyhedron(name: str):
    if name not in POLYHEDRA:
        raise ValueError(f"unknown polyhedron {name!r}; known: {', '.join(POLYHEDRA)}")
    return POLYHEDRA[name]


def polyhedron_positions(name: str, distance, angle=None) -> np.ndarray:
    """Ligand positions [angstrom] of a named polyhedron (POLYHEDRA) around the ion at the origin.

    distance: ion-ligand distance [angstrom]; angle: polar angle theta of the upper ligands from
    +z [deg] (None: the polyhedron's ideal angle), the trigonal or tetragonal distortion. Both may
    be arrays of one shape S (one polyhedron per element); returns (N, 3) for scalars, else
    S + (N, 3). The polyhedron is in the standard setting of polyhedron_point_group(name).
    """
    group, ideal, upper, lower, _ = _polyhedron(name)
    R = np.asarray(distance, dtype=float)
    theta = np.asarray(ideal if angle is None else angle, dtype=float)
    if not np.all(np.isfinite(R)) or np.any(R <= 0):
        raise ValueError(f"polyhedron distance must be a positive number of angstrom, got {distance!r}")
    if not np.all(np.isfinite(theta)) or np.any((theta <= 0) | (theta >= 90)):
        raise ValueError(f"polyhedron angle must lie strictly between 0 and 90 deg (polar angle of "
                         f"the upper ligands), got {angle!r}")
    R, theta = np.broadcast_arrays(R, np.radians(theta))
    rows = []
    for azimuths, polar in ((upper, theta), (lower, np.pi - theta)):
        for phi in np.radians(azimuths):
            rows.append(np.stack([R * np.sin(polar) * np.cos(phi), R * np.sin(polar) * np.sin(phi),
                                  R * np.cos(polar)], axis=-1))
    return np.stack(rows, axis=-2)
