"""Write the golden vectors under tests/golden/ from the NumPy reference.

Every backend is checked against these files: the Python parity tests (tests/test_golden.py)
for each backend present, and Julia's own test suite (julia/test/runtests.jl), which parses
them with the standard library only. Rerunning this script rewrites the files byte for byte
(tests/test_golden.py regenerates them into a temporary folder and compares bytes).

Format (plain text): '#' lines are comments; a block starts with '@ name rows cols' and is
followed by `rows` lines of `cols` whitespace-separated numbers, printed with 17 significant
digits (exact round trip of a double).

Files:
  constants.txt        the physical constants both backends compute (CODATA via scipy), and the
                       level-pair tolerances DEGENERACY_TOL_REL and NEAR_GAP_K of the Van Vleck sum
  stevens_J*.txt       Stevens operators O_k^q for J = 4, 9/2, 15/2, every k = 1..6 and q = -k..k:
                       block O_k_q holds Re(O) for q >= 0 (a real matrix) and Im(O) for q < 0 (a
                       purely imaginary matrix); the other part is zero
  levels_chi_*.txt     ion, Stevens terms (k, q) and coefficients [K] of a few sets, the sorted
                       energies [K] and the exact zero-field powder chi(T) [emu/mol];
                       levels_chi_tb_near_degenerate and levels_chi_er_near_crossing have level
                       pairs closer than NEAR_GAP_K (the exact per-pair path, non-Kramers and Kramers)
  moment_KErSe2_1T.txt KErSe2 (published parameters, meV -> K): zero-field chi, and at 1 T the
                       Lebedev hemisphere used, the powder moment [muB/Er] and M/B [emu/mol]
  symmetry_rotations.txt  general sets of all 27 even-k coefficients [K] and the same sets turned
                       by a few active rotations (ZYZ Euler angles and their matrices;
                       ligandml.rotations), and the allowed terms (k q) and cubic ratios of each of
                       the 32 point groups (ligandml.symmetry), groups numbered in POINT_GROUPS order
  structure_models.txt Ln3+ tables (Stevens factors, <r^k>), and the point-charge and superposition
                       Stevens coefficients [K] of a general 7-ligand site for five ions, plus
                       PyCrystalField's Yb2Ti2O7 point-charge example [meV]
  single_crystal_d3d.txt  KErSe2 and two er-d3d prior draws: the folded product grid (6 x 2, p = 3,
                       mirror) and the plane grid, M on them, the automatic powder M(H) table,
                       single-crystal M along z, x and (1, 2, -0.5), and grid_density examples;
                       3-D tables (set, field, T) stored as rows set * n_fields + field

Usage: python scripts/make_golden.py [OUTPUT_DIR]   (default: tests/golden next to this script)
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from ligandml import constants, susceptibility
from ligandml.ions import ion as make_ion
from ligandml.operators import K_MAX, stevens_operator
from ligandml.parameters import StevensBatch, to_stevens_batch
from ligandml.orientations import lebedev_hemisphere
from ligandml.susceptibility import finite_field_chi, level_scheme, powder_moment, zero_field_chi

DEFAULT_DIR = Path(__file__).resolve().parents[1] / "tests" / "golden"
#: seed of the random coefficients (fixed: the files must regenerate identically)
SEED = 20261122
#: temperatures [K] of the zero-field curves
T_GOLDEN = np.geomspace(1.5, 300.0, 24)
#: J values of the Stevens-operator files, with their file tags
STEVENS_J = ((4.0, "J4"), (4.5, "J9_2"), (7.5, "J15_2"))
#: KErSe2, Scheie et al., PRB 101, 144432 (2020), Stevens coefficients in meV
KERSE2_MEV = {"B20": -2.772780224706159e-2, "B40": -3.986791337847824e-4,
              "B43": -1.4164750780259892e-2, "B60": 3.152118222727135e-6,
              "B63": -7.615963268822789e-6, "B66": 3.2752689577855864e-5}
KERSE2_FIELD_T = 1.0
KERSE2_LEBEDEV_ORDER = 23
KERSE2_T = np.geomspace(2.0, 300.0, 20)
#: non-Kramers Tb3+ with level pairs 1e-6 .. 1e-3 K apart (below susceptibility.NEAR_GAP_K): the
#: exact per-pair sum of the Van Vleck code; the old 2 S/(E_j - E_i) form is off by up to 1e-8 here
TB_NEAR_DEGENERATE = {"D": [-3.0, -3.0, -3.0], "E": [3e-4, 0.02, 3e-5], "B44": [0.002, 0.002, 0.002]}
#: Kramers Er3+ near true crossings of two doublets of different tetragonal symmetry (gaps about
#: 2.3e-3 K and 1.1e-5 K): near pairs between doublets, merged with the Kramers weights
ER_NEAR_CROSSING = {"B20": [-1.0, -1.0], "B40": [-0.0074894, -0.00240906], "B44": [0.002, 0.002]}


def _fmt(x: float) -> str:
    return format(float(x), ".17g")


def _block(name: str, values) -> str:
    arr = np.atleast_2d(np.asarray(values, dtype=float))
    lines = [f"@ {name} {arr.shape[0]} {arr.shape[1]}"]
    lines += [" ".join(_fmt(v) for v in row) for row in arr]
    return "\n".join(lines) + "\n"


def _write(path: Path, comments: list[str], blocks: list[str]) -> None:
    text = "".join(f"# {c}\n" for c in comments) + "".join(blocks)
    path.write_text(text, encoding="utf-8", newline="\n")


def _terms_block(batch: StevensBatch) -> str:
    return _block("terms", np.array(batch.terms, dtype=float).reshape(-1, 2))


def write_constants(out: Path) -> None:
    names = ("MU_B_OVER_K_B", "CURIE_FACTOR", "MU_B_PER_ION_IN_EMU_PER_MOL", "KELVIN_PER_MEV")
    blocks = [_block(n, getattr(constants, n)) for n in names]
    blocks += [_block(n, getattr(susceptibility, n)) for n in ("DEGENERACY_TOL_REL", "NEAR_GAP_K")]
    _write(out / "constants.txt", ["physical constants from ligandml.constants (CODATA via scipy)",
                                   "and the level-pair tolerances of ligandml.susceptibility"], blocks)


def write_stevens(out: Path) -> None:
    for J, tag in STEVENS_J:
        blocks = [_block("J", J)]
        for k in range(1, K_MAX + 1):
            for q in range(-k, k + 1):
                op = stevens_operator(J, k, q)
                part = op.real if q >= 0 else op.imag
                blocks.append(_block(f"O_{k}_{q}", part))
        _write(out / f"stevens_{tag}.txt",
               [f"Stevens operators O_k^q (Hutchings), J = {J}, basis m = J, J-1, ..., -J",
                "block O_k_q: Re(O) for q >= 0, Im(O) for q < 0 (the other part is zero)"], blocks)


def _random_batch(rng, terms, n_sets: int, scale_by_rank: dict[int, float]) -> StevensBatch:
    coeffs = np.stack([rng.uniform(-1.0, 1.0, n_sets) * scale_by_rank[k] for k, _ in terms], axis=1)
    return StevensBatch(tuple(terms), np.ascontiguousarray(coeffs))


def golden_cases() -> list[tuple[str, str, StevensBatch]]:
    """(file tag, ion name, batch) of the zero-field golden cases; five have q < 0 terms."""
    rng = np.random.default_rng(SEED)
    scale = {2: 1.0, 4: 0.01, 6: 1e-4}
    all_even_k = [(k, q) for k in (2, 4, 6) for q in range(-k, k + 1)]
    cases = [
        ("er_even_q_negative", "Er3+", _random_batch(
            rng, [(2, -2), (2, 0), (4, -2), (4, 0), (4, 4), (6, -6)], 3, scale)),
        ("er_odd_q", "Er3+", _random_batch(rng, [(2, 0), (2, 2), (4, -3), (4, 3), (6, -3)], 3, scale)),
        ("tb_full", "Tb3+", _random_batch(rng, [(2, -1), (2, 0), (4, -4), (4, 0), (6, -5)], 3, scale)),
        ("ho_blocks", "Ho3+", _random_batch(rng, [(2, -2), (2, 0), (4, 0), (4, 4), (6, -4), (6, 6)], 3, scale)),
        ("dy_all_even_k", "Dy3+", _random_batch(rng, all_even_k, 2, scale)),
        ("ce_sine_terms", "Ce3+", _random_batch(rng, [(2, -1), (2, 0), (4, -3)], 2, scale)),
        ("tm_real_blocks", "Tm3+", _random_batch(rng, [(2, 0), (2, 2), (4, 0), (4, 4), (6, 6)], 2, scale)),
        ("yb_persymmetric", "Yb3+", _random_batch(rng, [(2, 0), (4, 0), (4, 4), (6, 0), (6, 4)], 2, scale)),
        ("er_DE_test_curves", "Er3+", to_stevens_batch({"D": [-6.0, 3.0, -4.0, -6.0], "E": [0.5, 1.0, 0.3, 0.0]})),
        ("tb_near_degenerate", "Tb3+", to_stevens_batch(TB_NEAR_DEGENERATE)),
        ("er_near_crossing", "Er3+", to_stevens_batch(ER_NEAR_CROSSING)),
    ]
    return cases


def write_levels_chi(out: Path) -> None:
    for tag, name, batch in golden_cases():
        ion = make_ion(name)
        energies, _ = level_scheme(ion, batch)
        chi = zero_field_chi(ion, batch, T_GOLDEN)
        blocks = [_block("J", ion.J), _block("gJ", ion.gJ), _terms_block(batch),
                  _block("coeffs", batch.coeffs), _block("T", T_GOLDEN),
                  _block("energies", np.sort(energies, axis=1)), _block("chi", chi)]
        _write(out / f"levels_chi_{tag}.txt",
               [f"{name}: {batch.n_sets} sets, Stevens terms (k q) and coefficients [K] (one row per set)",
                "energies [K] sorted per set; chi = exact zero-field powder chi(T) [emu/mol per ion]"], blocks)


def write_kerse2(out: Path) -> None:
    ion = make_ion("Er3+")
    batch = to_stevens_batch(KERSE2_MEV, unit="meV")
    directions, weights = lebedev_hemisphere(KERSE2_LEBEDEV_ORDER)
    moment = powder_moment(ion, batch, KERSE2_FIELD_T, KERSE2_T, KERSE2_LEBEDEV_ORDER)
    chi_field = finite_field_chi(ion, batch, KERSE2_FIELD_T, KERSE2_T, KERSE2_LEBEDEV_ORDER)
    energies, _ = level_scheme(ion, batch)
    blocks = [_block("J", ion.J), _block("gJ", ion.gJ), _terms_block(batch), _block("coeffs", batch.coeffs),
              _block("T", KERSE2_T), _block("energies", np.sort(energies, axis=1)),
              _block("chi_zero_field", zero_field_chi(ion, batch, KERSE2_T)),
              _block("field_T", KERSE2_FIELD_T), _block("lebedev_order", KERSE2_LEBEDEV_ORDER),
              _block("directions", directions), _block("weights", weights[None, :]),
              _block("moment", moment), _block("chi_field", chi_field)]
    _write(out / "moment_KErSe2_1T.txt",
           ["KErSe2 (Er3+), Scheie et al. PRB 101, 144432 (2020): coefficients converted meV -> K",
            "directions/weights: Lebedev hemisphere (scipy.integrate.lebedev_rule) used by both backends",
            "moment [muB/Er] and chi_field = M/B [emu/mol] at field_T; chi_zero_field [emu/mol]"], blocks)


def write_symmetry(out: Path) -> None:
    from ligandml.rotations import euler_to_matrix, rotate_batch
    from ligandml.symmetry import POINT_GROUPS, allowed_parameters

    rng = np.random.default_rng(SEED + 1)
    terms = [(k, q) for k in (2, 4, 6) for q in range(-k, k + 1)]
    batch = _random_batch(rng, terms, 3, {2: 1.0, 4: 0.01, 6: 1e-4})
    euler = np.vstack([rng.uniform(-np.pi, np.pi, (3, 3)), [[0.4, 0.0, -1.1], [0.2, np.pi, 0.7]]])
    euler[:, 1] = np.abs(euler[:, 1])
    blocks = [_terms_block(batch), _block("coeffs", batch.coeffs), _block("euler", euler)]
    for i, angles in enumerate(euler):
        blocks.append(_block(f"matrix_{i + 1}", euler_to_matrix(*angles)))
        blocks.append(_block(f"rotated_{i + 1}", rotate_batch(batch, angles).coeffs))
    for g, group in enumerate(POINT_GROUPS, start=1):
        allowed = allowed_parameters(group)
        kq = np.array([[int(n[1]), int(n[2:])] for n in allowed.names], dtype=float)
        blocks.append(_block(f"allowed_{g}", kq))
        if allowed.ratios:
            rows = [[int(d[1]), int(d[2:]), int(f[1]), int(f[2:]), r] for d, (f, r) in allowed.ratios.items()]
            blocks.append(_block(f"ratios_{g}", rows))
    _write(out / "symmetry_rotations.txt",
           ["rotations of Stevens parameters (active ZYZ: H(rotated_i) = U H(coeffs) U^dagger,",
            "U = exp(-i a Jz) exp(-i b Jy) exp(-i g Jz), (a, b, g) = row i of euler; matrix_i = R)",
            "coeffs, rotated_i [K]: one row per set, columns in the order of terms (k q)",
            "allowed_g: allowed (k q) of point group g (1..32 in the order " + " ".join(POINT_GROUPS) + ")",
            "ratios_g: rows (k q of the dependent term, k q of the free term, factor) of the cubic groups"],
           blocks)


#: structure models: a general (C1) site of 7 ligands [angstrom] with charges [|e|], the ions
#: (by 4f count: Ce, Nd, Tb, Er, Yb) and superposition parameters b [K], t, R0 [angstrom]
STRUCTURE_IONS = (1, 3, 8, 11, 13)
STRUCTURE_B = {2: 350.0, 4: 45.0, 6: 6.5}
STRUCTURE_T = {2: 6.0, 4: 9.0, 6: 11.0}
STRUCTURE_R0 = 2.35


def structure_ligands() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(SEED + 1)
    directions = rng.normal(size=(7, 3))
    directions /= np.linalg.norm(directions, axis=1)[:, None]
    return directions * rng.uniform(2.2, 2.6, (7, 1)), rng.uniform(-2.0, -0.5, 7)


def yb2ti2o7_ligands() -> np.ndarray:
    """The 8 O2- around Yb in Yb2Ti2O7 (ICSD 190689) in PyCrystalField's frame (z || [111])."""
    a, x = 10.01247, 0.33180
    o1 = np.array([[1, 1, 1], [-1, -1, -1]]) / 8
    o2 = np.array([[x - 0.5, 0.125, 0.125], [0.125, x - 0.5, 0.125], [0.125, 0.125, x - 0.5]])
    axes = np.array([[-0.5, 1, -0.5], [-1, 0, 1], [1, 1, 1]])
    return np.vstack([o1, o2, -o2]) * a @ (axes / np.linalg.norm(axes, axis=1)[:, None]).T


def write_structure_models(out: Path) -> None:
    from ligandml.ions import LANTHANIDES
    from ligandml.ln_tables import radial_integral, stevens_factor
    from ligandml.structure_models import (BOHR_ANGSTROM, HARTREE_K, point_charge_parameters,
                                           stevens_terms, superposition_parameters)

    ions = [f"{LANTHANIDES[n - 1]}3+" for n in STRUCTURE_IONS]
    ligands, charges = structure_ligands()
    rows = lambda f: [list(f(ion).values()) for ion in ions]  # noqa: E731
    blocks = [
        _block("hartree_K", HARTREE_K), _block("bohr_angstrom", BOHR_ANGSTROM),
        _block("stevens_factors", [[stevens_factor(s, k) for k in (2, 4, 6)] for s in LANTHANIDES]),
        _block("radial_freeman_desclaux", [[radial_integral(s, k) for k in (2, 4, 6)] for s in LANTHANIDES]),
        _block("radial_edvardsson_klintenberg",
               [[radial_integral(s, k, "edvardsson-klintenberg") for k in (2, 4, 6)] for s in LANTHANIDES]),
        _block("terms", np.array(stevens_terms(), dtype=float)),
        _block("ions_n4f", np.array(STRUCTURE_IONS, dtype=float)[None, :]),
        _block("ligands", ligands), _block("charges", charges[None, :]),
        _block("point_charge", rows(lambda ion: point_charge_parameters(ion, ligands, charges=charges))),
        _block("point_charge_ek", rows(lambda ion: point_charge_parameters(
            ion, ligands, charges=charges, radial_table="edvardsson-klintenberg"))),
        _block("sp_b", [STRUCTURE_B[k] for k in (2, 4, 6)]), _block("sp_t", [STRUCTURE_T[k] for k in (2, 4, 6)]),
        _block("sp_R0", STRUCTURE_R0),
        _block("superposition", rows(lambda ion: superposition_parameters(
            ion, ligands, b=STRUCTURE_B, t=STRUCTURE_T, R0=STRUCTURE_R0))),
        _block("yto_ligands", yb2ti2o7_ligands()),
        _block("yto_point_charge_meV", list(point_charge_parameters(
            "Yb3+", yb2ti2o7_ligands(), charges=-2, unit="meV", radial_table="edvardsson-klintenberg").values())),
    ]
    _write(out / "structure_models.txt",
           ["structure models (ligandml.structure_models): Stevens factors (alpha, beta, gamma) and <r^k>",
            "[a0^k] of Ce..Yb; terms (k q) in the column order of every B block; ligands [angstrom] relative",
            "to the ion, charges [|e|]; point_charge / point_charge_ek / superposition [K], one row per ion",
            "of ions_n4f; yto: PyCrystalField's Yb2Ti2O7 example, charges -2, Edvardsson-Klintenberg, [meV]"],
           blocks)


#: single-crystal golden case: fields [T], temperatures [K], two er-d3d prior draws [K]
SINGLE_CRYSTAL_FIELDS = np.array([0.6, 2.0, 5.4])
SINGLE_CRYSTAL_T = np.array([2.0, 5.0, 20.0, 100.0])
D3D_DRAWS_K = {"B20": [0.8, -1.2], "B40": [6e-3, -2e-3], "B43": [-0.12, 0.05],
               "B60": [-6e-5, 8e-5], "B63": [1.2e-3, -5e-4], "B66": [-9e-4, 1.0e-3]}


def _table_block(name: str, table: np.ndarray) -> str:
    return _block(name, table.reshape(-1, table.shape[-1]))


def write_single_crystal(out: Path) -> None:
    from ligandml import finite_field, orientations

    ion = make_ion("Er3+")
    kerse2 = to_stevens_batch(KERSE2_MEV, unit="meV").as_dict()
    batch = to_stevens_batch({k: np.concatenate([kerse2[k], v]) for k, v in D3D_DRAWS_K.items()})
    B, T = SINGLE_CRYSTAL_FIELDS, SINGLE_CRYSTAL_T
    sym = finite_field.batch_symmetry(batch)
    folded = orientations.reduced_product_grid(sym, (0, 3, 6), 6, 2)
    plane = finite_field.crystal_grid(batch, "plane")
    density = [(b, t, *finite_field.grid_density(ion, b, t, 3)) for b in (0.5, 1.0, 3.0, 5.4) for t in (2.0, 10.0)]
    blocks = [_block("J", ion.J), _block("gJ", ion.gJ), _terms_block(batch), _block("coeffs", batch.coeffs),
              _block("fields", B), _block("T", T),
              _block("folded_directions", folded.directions), _block("folded_weights", folded.weights[None, :]),
              _table_block("moment_folded", finite_field.grid_moments(ion, batch, B, T, folded)),
              _table_block("powder_table", finite_field.powder_magnetization_table(ion, batch, B, T)),
              _block("plane_directions", plane.directions), _block("plane_weights", plane.weights[None, :]),
              _table_block("moment_plane", finite_field.crystal_magnetization_table(ion, batch, B, T, "plane")),
              _table_block("moment_z", finite_field.crystal_magnetization_table(ion, batch, B, T, "z")),
              _table_block("moment_x", finite_field.crystal_magnetization_table(ion, batch, B, T, "x")),
              _table_block("moment_vector", finite_field.crystal_magnetization_table(
                  ion, batch, B, T, (1.0, 2.0, -0.5))),
              _block("density", np.array(density, dtype=float))]
    _write(out / "single_crystal_d3d.txt",
           ["Er3+ KErSe2 (meV -> K) and two er-d3d draws [K]; moments [muB/Er], fields [T], T [K]",
            "tables (set, field, T) stored as rows set * n_fields + field, one column per T",
            "density rows: field [T], T_min [K], n_theta, n_phi of finite_field.grid_density"], blocks)


def write_golden(out_dir: Path | str = DEFAULT_DIR) -> list[Path]:
    """Write every golden file into `out_dir` (created if needed); return the paths written."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    write_constants(out)
    write_stevens(out)
    write_levels_chi(out)
    write_kerse2(out)
    write_symmetry(out)
    write_structure_models(out)
    write_single_crystal(out)
    return sorted(out.glob("*.txt"))


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    paths = write_golden(argv[0] if argv else DEFAULT_DIR)
    for p in paths:
        print(p)
    return 0


if __name__ == "__main__":
    sys.exit(main())
