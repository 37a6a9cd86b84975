"""The structure-informed prior: Newman's superposition model around a coordination geometry.

Per parameter set (all energies in kelvin, Stevens operators in the Hutchings convention):

1. geometry: a named polyhedron (ligandml.coordination.POLYHEDRA) at `distance` [angstrom] and
   polar angle `angle` [deg], each jittered uniformly by +-`distance_jitter` and
   +-`angle_jitter`; or given ligand positions [angstrom], breathed by a common factor
   1 + U(-distance_jitter, +distance_jitter) / mean distance. Optionally every ligand is moved by
   an isotropic Gaussian of sd `position_jitter` [angstrom] (this breaks the symmetry; step 3
   restores it).
2. superposition model (ligandml.structure_models, Newman 1971; Newman & Ng 1989):
   B_k^q = theta_k sum_i b_k (R0/R_i)^t_k K_kq(n_i), with the intrinsic parameters b_k [K]
   (Newman's A-bar_k, Stevens normalisation, <r^k> included) and the power laws t_k drawn
   uniformly from the ranges `b2, b4, b6` and `t2, t4, t6`; R0 [angstrom] fixed.
3. projection onto the point group's allowed set: B_k -> P_k B_k, P_k the group average of the
   rank-k rotation matrices (ligandml.symmetry.invariant_projector). For a geometry that has
   the symmetry this changes nothing (to rounding); it removes what the position jitter broke.
4. optionally (`random_equivalent`) one of the group's equivalent sets, chosen uniformly (for D3d
   (B43, B63) or (-B43, -B63)): the physics cannot tell them apart, so the prior holds both, as
   the box does.
5. a free residual on every allowed parameter: Gaussian with sd `residual` x the scale-aware
   half-width of that parameter (W = DatasetConfig.prior_width), so the posterior is not confined
   to the model's manifold. Sets outside the scale-aware box (the dataset's recorded ranges, the
   prior's support) are drawn again.

Default ranges (stated assumptions, not fits; every one is a setting):

- b_k: the point-charge intrinsic parameter of a ligand of formal charge q (O, S, Se, Te: -2;
  F, Cl, Br, I: -1) at R0 (structure_models.point_charge_intrinsic), times a factor in
  [0.05, 0.5] (k = 2), [0.5, 4] (k = 4), [1, 10] (k = 6). Why: fitted intrinsic parameters of
  anion ligands are positive and, compared with the bare point charge, much smaller at rank 2
  (shielding of the 4f shell, sigma_2 ~ 0.5 in Edvardsson & Klintenberg's table, and
  cancelling contributions) and larger at ranks 4 and 6 (overlap and covalency, Newman & Ng,
  Rep. Prog. Phys. 52, 699 (1989)). For Er3+-O at R0 = 2.35 A these factors give
  A-bar_2 = 130-1300 K, A-bar_4 = 29-230 K, A-bar_6 = 5.6-56 K, i.e. Wybourne B-bar_4 of
  160-1290 cm^-1 and B-bar_6 of 60-620 cm^-1: a range that holds the oxide values of the
  superposition-model literature (a few hundred cm^-1), wide because the review's values
  scatter. For Se the same factors are an assumption (selenide intrinsic parameters are rarely
  published); the KErSe2 check in tests/test_structure_prior.py shows where the published set
  falls.
- t_k: [3, 8], [5, 12], [6, 12]: from the point-charge exponents k + 1 up to the largest values
  used in superposition-model fits. With equal distances they matter only through the jitter.
- R0: the mean ion-ligand distance of the nominal geometry.
- KERSE2_ERSE6: the ErSe6 octahedron of KErSe2 (R-3m, a = 4.1470 A, c = 22.7662 A, Se at
  z = 0.2649; the structure used by Scheie et al., PRB 101, 144432 (2020), in their
  point-charge notebook in the PyCrystalField repository): d(Er-Se) = 2.857 A, polar angle
  56.95 deg (a trigonal compression; 54.74 deg is ideal).
"""
from __future__ import annotations

import numpy as np

from ..constants import kelvin_per
from ..coordination import POLYHEDRA, ligand_positions, polyhedron_point_group, polyhedron_positions
from ..coordination import element_symbol
from ..ln_tables import RANKS, stevens_factor
from ..parameters import parameter_name
from ..structure_models import coordination_factor, point_charge_intrinsic
from .priors import scale_aware_half_width

#: formal charges [|e|] of the ligand elements that have default intrinsic ranges
LIGAND_CHARGES = {"O": -2.0, "S": -2.0, "Se": -2.0, "Te": -2.0,
                  "F": -1.0, "Cl": -1.0, "Br": -1.0, "I": -1.0}
#: default range of b_k / b_k(point charge at R0), per rank (see the module docstring)
INTRINSIC_FACTORS = {2: (0.05, 0.5), 4: (0.5, 4.0), 6: (1.0, 10.0)}
#: default power-law ranges per rank (dimensionless)
POWER_LAW_RANGES = {2: (3.0, 8.0), 4: (5.0, 12.0), 6: (6.0, 12.0)}
#: default free residual: sd as a fraction of each parameter's scale-aware half-width
DEFAULT_RESIDUAL = 0.1
#: the ErSe6 octahedron of KErSe2 (module docstring)
KERSE2_ERSE6 = {"polyhedron": "trigonal-octahedron", "distance": 2.857, "angle": 56.95,
                "ligand": "Se", "angle_jitter": 2.0, "distance_jitter": 0.05}
#: give up when fewer than this share of the draws land inside the box
MIN_ACCEPTANCE = 0.01

_FIELDS = ("polyhedron", "distance", "angle", "ligands", "ligand", "R0", "b2", "b4", "b6",
           "t2", "t4", "t6", "angle_jitter", "distance_jitter", "position_jitter", "residual",
           "random_equivalent")
_DEFAULTS = {"angle_jitter": 0.0, "distance_jitter": 0.0, "position_jitter": 0.0,
             "residual": DEFAULT_RESIDUAL, "random_equivalent": True}


def _err(key: str, text: str) -> ValueError:
    return ValueError(f"DatasetConfig.structure.{key}: {text}")


def _number(spec: dict, key: str, minimum: float | None = None, strict: bool = False) -> float:
    value = spec[key]
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise _err(key, f"must be a number, got {value!r}") from None
    if isinstance(value, bool) or not np.isfinite(out):
        raise _err(key, f"must be a finite number, got {value!r}")
    if minimum is not None and (out <= minimum if strict else out < minimum):
        raise _err(key, f"must be {'>' if strict else '>='} {minimum:g}, got {value!r}")
    return out


def _range(spec: dict, key: str) -> tuple[float, float]:
    value = spec[key]
    try:
        low, high = (float(v) for v in value)
    except (TypeError, ValueError):
        raise _err(key, f"must be a (low, high) pair of numbers, got {value!r}") from None
    if not (np.isfinite(low) and np.isfinite(high)) or high < low:
        raise _err(key, f"needs finite low <= high, got ({low}, {high})")
    return (low, high)


def check_structure(spec, ion: str, point_group: str | None) -> tuple[dict, str]:
    """Validate a structure-prior specification and fill in its defaults.

    spec: a dict with the keys of the module docstring (polyhedron + distance [angstrom] + angle
    [deg], or ligands as rows [x, y, z] in angstrom; ligand element; R0 [angstrom]; b2/b4/b6 [K]
    and t2/t4/t6 ranges; angle_jitter [deg], distance_jitter and position_jitter [angstrom];
    residual (fraction of the scale-aware half-width); random_equivalent). ion: lanthanide name.
    point_group: the dataset's group (None: the polyhedron's). Returns (the complete spec, every
    default written out, None-free for TOML; the point group). Raises ValueError naming the field.
    """
    if not isinstance(spec, dict):
        raise ValueError("DatasetConfig.structure must be a table (dict) describing the geometry, "
                         "e.g. {'polyhedron': 'trigonal-octahedron', 'distance': 2.857, "
                         "'angle': 56.95, 'ligand': 'Se'}")
    unknown = sorted(set(spec) - set(_FIELDS))
    if unknown:
        raise ValueError(f"DatasetConfig.structure: unknown field(s) {unknown}; known: {list(_FIELDS)}")
    out = {**_DEFAULTS, **{k: v for k, v in spec.items() if v is not None}}
    has_poly, has_ligands = "polyhedron" in out, "ligands" in out
    if has_poly == has_ligands:
        raise ValueError("DatasetConfig.structure needs exactly one of 'polyhedron' (a name: "
                         f"{', '.join(POLYHEDRA)}) or 'ligands' (rows x, y, z [angstrom])")
    if has_poly:
        if out["polyhedron"] not in POLYHEDRA:
            raise _err("polyhedron", f"unknown {out['polyhedron']!r}; known: {', '.join(POLYHEDRA)}")
        if "distance" not in out:
            raise _err("distance", "a polyhedron needs the ion-ligand distance [angstrom]")
        out["distance"] = _number(out, "distance", 0.0, strict=True)
        out.setdefault("angle", POLYHEDRA[out["polyhedron"]][1])
        out["angle"] = _number(out, "angle")
        if not 0 < out["angle"] < 90:
            raise _err("angle", f"polar angle of the upper ligands must lie in (0, 90) deg, got {out['angle']}")
        own_group = polyhedron_point_group(out["polyhedron"])
        if point_group is not None and point_group != own_group:
            raise ValueError(f"DatasetConfig.structure.polyhedron: {out['polyhedron']} is built in the "
                             f"setting of {own_group}, but point_group is {point_group}")
        point_group = own_group
        nominal = polyhedron_positions(out["polyhedron"], out["distance"], out["angle"])
    else:
        for key in ("distance", "angle"):
            if key in out:
                raise _err(key, "belongs to a polyhedron; with 'ligands' give the positions themselves")
        if out["angle_jitter"]:
            raise _err("angle_jitter", "needs a polyhedron (its distortion angle); with 'ligands' "
                                       "use position_jitter")
        try:
            nominal = ligand_positions(out["ligands"])
        except ValueError as exc:
            raise _err("ligands", str(exc)) from None
        out["ligands"] = [[float(v) for v in row] for row in nominal]
        if point_group is None:
            raise ValueError("DatasetConfig.point_group: a structure prior from ligand positions "
                             "needs the site's point group (positions in its standard setting)")
    for key, minimum in (("angle_jitter", 0.0), ("distance_jitter", 0.0), ("position_jitter", 0.0),
                         ("residual", 0.0)):
        out[key] = _number(out, key, minimum)
    if has_poly and out["angle_jitter"] >= min(out["angle"], 90 - out["angle"]):
        raise _err("angle_jitter", f"{out['angle_jitter']} deg would move the polar angle "
                                   f"{out['angle']} deg outside (0, 90)")
    mean_R = float(np.linalg.norm(nominal, axis=1).mean())
    if out["distance_jitter"] >= np.linalg.norm(nominal, axis=1).min():
        raise _err("distance_jitter", f"{out['distance_jitter']} angstrom would put a ligand on the ion")
    if not isinstance(out["random_equivalent"], bool):
        raise _err("random_equivalent", f"must be true or false, got {out['random_equivalent']!r}")
    default_R0 = out["distance"] if has_poly else mean_R
    out["R0"] = _number({**out, "R0": out.get("R0", default_R0)}, "R0", 0.0, strict=True)
    if "ligand" in out:
        try:
            out["ligand"] = element_symbol(out["ligand"], "")
        except ValueError as exc:
            raise _err("ligand", str(exc)) from None
    for k in RANKS:
        key = f"b{k}"
        if key not in out:
            if out.get("ligand") not in LIGAND_CHARGES:
                raise _err(key, f"give the intrinsic parameter range [K], or 'ligand' as one of "
                                f"{', '.join(LIGAND_CHARGES)} for the default")
            reference = point_charge_intrinsic(ion, LIGAND_CHARGES[out["ligand"]], out["R0"])[k]
            lo, hi = INTRINSIC_FACTORS[k]
            out[key] = [lo * reference, hi * reference]
        out[key] = list(_range(out, key))
        out.setdefault(f"t{k}", list(POWER_LAW_RANGES[k]))
        out[f"t{k}"] = list(_range(out, f"t{k}"))
    if out["random_equivalent"]:
        from ..symmetry import form_preserving_rotations

        try:
            form_preserving_rotations(point_group)
        except ValueError:
            raise _err("random_equivalent", f"point group {point_group} has no finite list of "
                                            f"equivalent sets; set it to false") from None
    _check_symmetric(out, ion, point_group)
    return {k: out[k] for k in _FIELDS if k in out}, point_group


def _check_symmetric(spec: dict, ion: str, point_group: str, tolerance: float = 0.1) -> None:
    """Refuse ligand positions whose field is mostly forbidden by the point group (a wrong frame)."""
    if "ligands" not in spec:
        return
    b = {k: 0.5 * sum(spec[f"b{k}"]) for k in RANKS}
    t = {k: 0.5 * sum(spec[f"t{k}"]) for k in RANKS}
    B = superposition_batch(ion, np.asarray(spec["ligands"])[None], b, t, spec["R0"])
    scale = _half_widths(ion, 200.0)
    raw = B / scale
    kept = project_allowed(B, point_group) / scale
    norm = np.linalg.norm(raw)
    if norm > 0 and np.linalg.norm(raw - kept) > tolerance * norm:
        share = np.linalg.norm(raw - kept) / norm
        raise _err("ligands", f"{share:.0%} of their ligand field is forbidden by {point_group} in "
                              f"its standard setting; rotate the positions into that setting "
                              f"(ligandml.allowed_parameters('{point_group}').setting)")


# --------------------------------------------------------------------------------------------
# the batched model
# --------------------------------------------------------------------------------------------
def _terms() -> list[tuple[int, int]]:
    return [(k, q) for k in RANKS for q in range(-k, k + 1)]


TERM_NAMES = tuple(parameter_name(k, q) for k, q in _terms())


def _half_widths(ion: str, width_K: float) -> np.ndarray:
    return np.array([scale_aware_half_width(ion, n, width_K) for n in TERM_NAMES])


def superposition_batch(ion: str, positions, b, t, R0: float) -> np.ndarray:
    """Newman's superposition model for many geometries at once [K].

    positions: (n, N, 3) ligand positions [angstrom]; b: {k: (n,) or scalar} intrinsic
    parameters [K]; t: {k: (n,) or scalar} power laws; R0 [angstrom]. Returns (n, 27) B_k^q [K]
    in the order of TERM_NAMES (k = 2, 4, 6; q = -k..k), the same numbers as
    ligandml.superposition_parameters for each geometry.
    """
    pos = np.asarray(positions, dtype=float)
    n, N = pos.shape[:2]
    R = np.linalg.norm(pos, axis=-1)
    directions = (pos / R[..., None]).reshape(-1, 3)
    out = np.empty((n, len(TERM_NAMES)))
    for j, (k, q) in enumerate(_terms()):
        radial = np.asarray(b[k], dtype=float).reshape(-1, 1) * (R0 / R) ** np.asarray(
            t[k], dtype=float).reshape(-1, 1)
        K = coordination_factor(k, q, directions).reshape(n, N)
        out[:, j] = stevens_factor(ion, k) * np.sum(radial * K, axis=1)
    return out


def _rank_slices() -> dict[int, slice]:
    out, start = {}, 0
    for k in RANKS:
        out[k] = slice(start, start + 2 * k + 1)
        start += 2 * k + 1
    return out


def project_allowed(B, point_group: str) -> np.ndarray:
    """B (n, 27) [K, TERM_NAMES order] projected onto the coefficients `point_group` leaves
    unchanged (the group average P_k of ligandml.symmetry.invariant_projector, per rank)."""
    from ..symmetry import invariant_projector

    B = np.asarray(B, dtype=float)
    out = np.empty_like(B)
    for k, sl in _rank_slices().items():
        out[:, sl] = B[:, sl] @ invariant_projector(point_group, k).T
    return out


def _random_equivalents(B: np.ndarray, point_group: str, rng: np.random.Generator) -> np.ndarray:
    from ..rotations import stevens_rotation_matrix
    from ..symmetry import form_preserving_rotations

    rotations = form_preserving_rotations(point_group)
    pick = rng.integers(len(rotations), size=B.shape[0])
    out = B.copy()
    for r, R in enumerate(rotations):
        rows = pick == r
        for k, sl in _rank_slices().items():
            out[rows, sl] = B[rows, sl] @ stevens_rotation_matrix(k, R).T
    return out


def _geometries(spec: dict, n: int, rng: np.random.Generator) -> np.ndarray:
    """(n, N, 3) jittered ligand positions [angstrom] (module docstring, step 1)."""
    if "polyhedron" in spec:
        d = spec["distance"] + spec["distance_jitter"] * rng.uniform(-1.0, 1.0, n)
        a = spec["angle"] + spec["angle_jitter"] * rng.uniform(-1.0, 1.0, n)
        pos = polyhedron_positions(spec["polyhedron"], d, a)
    else:
        nominal = np.asarray(spec["ligands"], dtype=float)
        mean_R = np.linalg.norm(nominal, axis=1).mean()
        breathe = 1.0 + spec["distance_jitter"] * rng.uniform(-1.0, 1.0, n) / mean_R
        pos = nominal[None] * breathe[:, None, None]
    if spec["position_jitter"]:
        pos = pos + spec["position_jitter"] * rng.standard_normal(pos.shape)
    return pos


def model_parameters(spec: dict, ion: str, point_group: str, n: int,
                     rng: np.random.Generator) -> np.ndarray:
    """(n, 27) model draws [K, TERM_NAMES order]: steps 1-4 of the module docstring, no residual."""
    pos = _geometries(spec, n, rng)
    b = {k: rng.uniform(*spec[f"b{k}"], n) for k in RANKS}
    t = {k: rng.uniform(*spec[f"t{k}"], n) for k in RANKS}
    B = project_allowed(superposition_batch(ion, pos, b, t, spec["R0"]), point_group)
    if spec["random_equivalent"]:
        B = _random_equivalents(B, point_group, rng)
    return B


def draw_structure_parameters(spec: dict, ion: str, point_group: str, names, n: int,
                              rng: np.random.Generator, width_K: float, unit: str = "K") -> np.ndarray:
    """n parameter sets (n, len(names)) in `unit` from the structure prior (module docstring):
    model draws plus a Gaussian residual of sd spec["residual"] x the scale-aware half-width
    (W = width_K [K]) of each name, redrawn until all lie inside the scale-aware box.

    spec: a checked specification (check_structure); names: the sampled Stevens names (the
    point group's allowed set). Raises ValueError when under 1 % of the draws fall in the box.
    """
    cols = [TERM_NAMES.index(name) for name in names]
    half = np.array([scale_aware_half_width(ion, name, width_K) for name in names])
    accepted, have, tried = [], 0, 0
    while have < n:
        batch = max(n - have, 16)
        B = model_parameters(spec, ion, point_group, batch, rng)[:, cols]
        B = B + spec["residual"] * half * rng.standard_normal(B.shape)
        inside = np.all(np.abs(B) <= half, axis=1)
        accepted.append(B[inside])
        have += int(inside.sum())
        tried += batch
        if tried >= 1000 and have < MIN_ACCEPTANCE * tried:
            raise ValueError(f"structure prior: only {have} of {tried} draws fall inside the "
                             f"scale-aware box (prior_width = {width_K} K); widen prior_width or "
                             f"narrow the intrinsic ranges b2/b4/b6")
    return np.concatenate(accepted)[:n] / kelvin_per(unit)
