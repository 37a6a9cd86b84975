"""Stevens parameters from a structure: tables, exact Stevens factors, point-charge and
superposition models, the XYZ reader. Every assertion is an independent number that could be
wrong: exact rationals recomputed with 3j/6j symbols, closed forms, symmetry, a published case."""
from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

import ligandml
from ligandml import racah
from ligandml.constants import KELVIN_PER_CM1, KELVIN_PER_MEV
from ligandml.ions import LANTHANIDES
from ligandml.ln_tables import RADIAL_FREEMAN_DESCLAUX, STEVENS_FACTORS
from ligandml.structure_models import (HARTREE_K, BOHR_ANGSTROM, addition_weight, coordination_factor,
                                       point_charge_intrinsic, stevens_polynomial, stevens_terms)

ALL_NAMES = [f"B{k}{q}" for k, q in stevens_terms()]


def rotation(axis, angle):
    axis = np.asarray(axis, float) / np.linalg.norm(axis)
    K = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + np.sin(angle) * K + (1 - np.cos(angle)) * K @ K


def random_directions(n, seed):
    v = np.random.default_rng(seed).normal(size=(n, 3))
    return v / np.linalg.norm(v, axis=1)[:, None]


def nonzero(params, rel=1e-12):
    scale = {k: max(abs(v) for n, v in params.items() if n[1] == str(k)) for k in (2, 4, 6)}
    return {n for n, v in params.items() if abs(v) > rel * scale[int(n[1])]}


# ---------------------------------------------------------------- Stevens factors and tables

@pytest.mark.parametrize("n_4f", range(1, 14), ids=LANTHANIDES)
def test_stevens_factors_equal_the_ls_coupled_ground_multiplet(n_4f):
    """theta_k from Hund's rules with exact 3j/6j algebra equals the published rational."""
    symbol = LANTHANIDES[n_4f - 1]
    computed = tuple(racah.stevens_factor_from_hund(n_4f, k) for k in (2, 4, 6))
    assert computed == STEVENS_FACTORS[symbol]
    assert all(isinstance(c, Fraction) for c in computed)


def test_stevens_factors_published_values():
    assert STEVENS_FACTORS["Er"] == (Fraction(4, 1575), Fraction(2, 45045), Fraction(8, 3864861))
    assert ligandml.stevens_factor("Er3+", 2) == 4 / 1575
    assert ligandml.stevens_factor("Dy", 2) == -2 / 315
    assert ligandml.stevens_factor("Ce3+", 6) == 0.0        # k = 6 > 2J = 5
    assert all(ligandml.stevens_factor(ion, k) == 0.0 for ion in ("Eu3+", "Gd3+") for k in (2, 4, 6))


def test_wigner_symbols_closed_forms_and_orthogonality():
    for j2 in range(0, 13):
        j = Fraction(j2, 2)
        for m2 in range(-j2, j2 + 1, 2):
            m = Fraction(m2, 2)
            expected = (-1) ** int(j - m) / np.sqrt(float(2 * j + 1))   # (j j 0; m -m 0)
            assert float(racah.wigner_3j(j, j, 0, m, -m, 0)) == pytest.approx(float(expected), rel=1e-14)
    # sum over m1, m2 of (j1 j2 j3; m1 m2 m3)^2 = 1/(2 j3 + 1)
    for j1, j2, j3, m3 in [(3, 3, 4, 2), (Fraction(15, 2), 6, Fraction(3, 2), Fraction(1, 2)), (7.5, 6, 4.5, -2.5)]:
        total = sum(racah.wigner_3j(j1, j2, j3, Fraction(a, 2), -Fraction(a, 2) - Fraction(m3), m3).square
                    for a in range(-int(2 * j1), int(2 * j1) + 1, 2))
        assert total == Fraction(1, int(2 * Fraction(j3)) + 1)
    # {a b c; 0 c b} = (-1)^(a+b+c) / sqrt((2b+1)(2c+1))
    for a, b, c in [(2, 3, 4), (6, Fraction(15, 2), Fraction(3, 2)), (4, 6, 6)]:
        sign = (-1) ** int(a + b + c)
        assert float(racah.wigner_6j(a, b, c, 0, c, b)) == pytest.approx(sign / np.sqrt(float((2 * b + 1) * (2 * c + 1))))


def test_wigner_symbols_against_sympy():
    wigner = pytest.importorskip("sympy.physics.wigner")
    for six in ([6, Fraction(15, 2), Fraction(3, 2), Fraction(15, 2), 6, 4], [Fraction(7, 2), 3, Fraction(1, 2), 2, Fraction(5, 2), 4]):
        assert float(racah.wigner_6j(*six)) == pytest.approx(float(wigner.wigner_6j(*six)), abs=1e-14)
    rng = np.random.default_rng(3)
    for _ in range(40):
        j1, j2 = rng.integers(0, 9, 2) / 2
        j3 = abs(j1 - j2) + rng.integers(0, int(j1 + j2 - abs(j1 - j2)) + 1)
        m1 = j1 - rng.integers(0, int(2 * j1) + 1)
        m2 = j2 - rng.integers(0, int(2 * j2) + 1)
        args = [Fraction(float(v)).limit_denominator(2) for v in (j1, j2, j3, m1, m2, -m1 - m2)]
        assert float(racah.wigner_3j(*args)) == pytest.approx(float(wigner.wigner_3j(*args)), abs=1e-14)
        six = [int(v) for v in rng.integers(0, 8, 6)]
        assert float(racah.wigner_6j(*six)) == pytest.approx(float(wigner.wigner_6j(*six)), abs=1e-14)


@pytest.mark.parametrize("J", [Fraction(5, 2), Fraction(4), Fraction(15, 2), Fraction(8)])
def test_o_k0_closed_forms_match_the_operators(J):
    for k in (2, 4, 6):
        top = ligandml.stevens_operator(float(J), k, 0)[0, 0].real
        assert float(racah.stevens_o_k0_at_top(k, J)) == pytest.approx(top, rel=1e-12, abs=1e-9)


@pytest.mark.parametrize("k", [2, 4, 6])
def test_radial_integrals_follow_the_lanthanide_contraction(k):
    """<r^k> falls from Ce to Yb, and every interior value lies within 2 % of the geometric mean
    of its neighbours: a transposed digit (Mantid's Tb <r^6> = 6.582 for 6.852) fails this."""
    values = np.array([ligandml.radial_integral(f"{s}3+", k) for s in LANTHANIDES])
    assert np.all(np.diff(values) < 0)
    smooth = np.sqrt(values[:-2] * values[2:])
    assert np.max(np.abs(values[1:-1] / smooth - 1)) < 0.02
    assert ligandml.radial_integral("Er3+", k) == RADIAL_FREEMAN_DESCLAUX["Er"][k // 2 - 1]
    shifted = values.copy()
    shifted[7] = 6.582 if k == 6 else shifted[7] * 0.95
    assert np.max(np.abs(shifted[1:-1] / np.sqrt(shifted[:-2] * shifted[2:]) - 1)) > 0.02


def test_shielded_radial_integrals_are_pycrystalfields():
    # Yb3+: Edvardsson & Klintenberg (1998) <r^2> = 0.71, sigma_2 = 0.571
    assert ligandml.radial_integral("Yb3+", 2, table="edvardsson-klintenberg") == pytest.approx(0.71 * 0.429)
    assert ligandml.radial_integral("Yb3+", 6, table="edvardsson-klintenberg") == pytest.approx(7.003 * 1.03)


# ---------------------------------------------------------------- harmonics

def test_stevens_polynomials_are_hutchings():
    n = random_directions(20, 0)
    x, y, z = n.T
    closed = {(2, 0): 3 * z**2 - 1, (2, 2): x**2 - y**2, (2, -2): 2 * x * y, (2, 1): x * z,
              (4, 0): 35 * z**4 - 30 * z**2 + 3, (4, 3): z * (x**3 - 3 * x * y**2),
              (4, -4): 4 * (x**3 * y - x * y**3), (4, 2): (x**2 - y**2) * (7 * z**2 - 1),
              (6, 0): 231 * z**6 - 315 * z**4 + 105 * z**2 - 5,
              (6, 2): (x**2 - y**2) * (33 * z**4 - 18 * z**2 + 1),
              (6, -3): (3 * x**2 * y - y**3) * (11 * z**3 - 3 * z),
              (6, 6): x**6 - 15 * x**4 * y**2 + 15 * x**2 * y**4 - y**6}
    for (k, q), expected in closed.items():
        np.testing.assert_allclose(stevens_polynomial(k, q, n), expected, atol=1e-12, err_msg=f"f_{k}{q}")


def test_addition_theorem():
    n1, n2 = random_directions(30, 1), random_directions(30, 2)
    for k in (2, 4, 6):
        total = sum(addition_weight(k, q) * stevens_polynomial(k, q, n1) * stevens_polynomial(k, q, n2)
                    for q in range(-k, k + 1))
        legendre = np.polynomial.legendre.Legendre.basis(k)(np.sum(n1 * n2, axis=1))
        np.testing.assert_allclose(total, legendre, atol=1e-13)
    assert addition_weight(2, 0) == pytest.approx(0.25) and addition_weight(2, 2) == pytest.approx(0.75)


def test_newman_coordination_factors():
    n = random_directions(10, 4)
    theta, phi = np.arccos(n[:, 2]), np.arctan2(n[:, 1], n[:, 0])
    np.testing.assert_allclose(coordination_factor(2, 0, n), (3 * np.cos(theta)**2 - 1) / 2, atol=1e-13)
    np.testing.assert_allclose(coordination_factor(2, 2, n), 1.5 * np.sin(theta)**2 * np.cos(2 * phi), atol=1e-13)
    np.testing.assert_allclose(coordination_factor(4, 3, n),
                               35 * np.sin(theta)**3 * np.cos(theta) * np.cos(3 * phi), atol=1e-12)
    np.testing.assert_allclose(coordination_factor(6, 0, n),
                               np.polynomial.legendre.Legendre.basis(6)(np.cos(theta)), atol=1e-13)


# ---------------------------------------------------------------- point charge

def test_single_charge_on_z_closed_form():
    R, q = 2.3, -1.5
    B = ligandml.point_charge_parameters("Er3+", [[0, 0, R]], charges=q)
    for k, a_k in ((2, 2), (4, 8), (6, 16)):
        expected = (-HARTREE_K * q * ligandml.stevens_factor("Er3+", k) * ligandml.radial_integral("Er3+", k)
                    * (BOHR_ANGSTROM / R) ** (k + 1) / a_k)
        assert B[f"B{k}0"] == pytest.approx(expected, rel=1e-13)
    assert nonzero(B) == {"B20", "B40", "B60"}
    assert HARTREE_K == pytest.approx(315775.0, rel=1e-5)


def test_axial_anions_prolate_vs_oblate():
    """Two anions on +-z: Er3+ (prolate) gets B20 > 0 and an m = +-1/2 ground doublet, Dy3+
    (oblate) B20 < 0 and m = +-15/2: the sign convention of the charges."""
    ligands = [[0, 0, 2.3], [0, 0, -2.3]]
    er = ligandml.point_charge_parameters("Er3+", ligands, charges=-1)
    dy = ligandml.point_charge_parameters("Dy3+", ligands, charges=-1)
    assert er["B20"] > 0 and dy["B20"] < 0
    for ion, params, m_ground in (("Er3+", er, 0.5), ("Dy3+", dy, 7.5)):
        cf = ligandml.CrystalField(ion, params)
        _, vecs = np.linalg.eigh(cf.hamiltonian())
        m = cf.ion.J - np.arange(cf.ion.dim)
        assert abs(m[np.argmax(np.abs(vecs[:, 0]))]) == m_ground


def test_axial_arrangement_has_only_q0_terms():
    """Anions on +-z plus a regular ring of 7 (C7 about z, more than the rank 6 can see)."""
    ring = [[2.4 * np.cos(t) * np.sin(1.1), 2.4 * np.sin(t) * np.sin(1.1), 2.4 * np.cos(1.1)]
            for t in 2 * np.pi * np.arange(7) / 7 + 0.3]
    ligands = np.vstack([[[0, 0, 2.2], [0, 0, -2.5]], ring])
    for ion in ("Er3+", "Dy3+", "Pr3+"):
        B = ligandml.point_charge_parameters(ion, ligands, charges=-1)
        assert nonzero(B) == {"B20", "B40", "B60"}


OCTAHEDRON = 2.3 * np.array([[1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1], [0, 0, -1]], float)


@pytest.mark.parametrize("ion", ["Er3+", "Dy3+", "Yb3+", "Tb3+"])
def test_octahedron_gives_the_cubic_ratios(ion):
    B = ligandml.point_charge_parameters(ion, OCTAHEDRON, charges=-2)
    assert nonzero(B) == {"B40", "B44", "B60", "B64"}
    assert B["B44"] == pytest.approx(5 * B["B40"], rel=1e-12)
    assert B["B64"] == pytest.approx(-21 * B["B60"], rel=1e-12)
    # Hutchings' sixfold coordination: A_4^0 = (7/16) |q| e^2 / R^5 for anions of charge q
    expected = (7 / 16 * HARTREE_K * 2 * (BOHR_ANGSTROM / 2.3) ** 5
                * ligandml.stevens_factor(ion, 4) * ligandml.radial_integral(ion, 4))
    assert B["B40"] == pytest.approx(expected, rel=1e-12)


def trigonal_octahedron(stretch):
    """An octahedron stretched along [111] by `stretch`, in the frame z || [111], x in the mirror
    plane through [001] (x along [-1,-1,2]), y = z x x along [1,-1,0] (a twofold axis)."""
    z = np.array([1, 1, 1]) / np.sqrt(3)
    x = np.array([-1, -1, 2]) / np.sqrt(6)
    frame = np.array([x, np.cross(z, x), z])
    ligands = OCTAHEDRON @ frame.T
    ligands[:, 2] *= stretch
    return ligands


@pytest.mark.parametrize("stretch", [0.9, 1.15])
def test_trigonal_octahedron_gives_exactly_the_d3d_set(stretch):
    for ion in ("Er3+", "Tb3+"):
        B = ligandml.point_charge_parameters(ion, trigonal_octahedron(stretch), charges=-2)
        assert nonzero(B) == {"B20", "B40", "B43", "B60", "B63", "B66"}
    cubic = ligandml.point_charge_parameters("Er3+", trigonal_octahedron(1.0), charges=-2)
    assert abs(cubic["B20"]) < 1e-12 * abs(cubic["B40"])  # undistorted: no second-order term


def test_rotating_the_ligands_leaves_the_levels_unchanged():
    rng = np.random.default_rng(7)
    ligands = random_directions(7, 8) * rng.uniform(2.2, 2.6, (7, 1))
    charges = rng.uniform(-2, -0.5, 7)
    for ion in ("Er3+", "Tb3+", "Nd3+"):
        B = ligandml.point_charge_parameters(ion, ligands, charges=charges)
        assert len(nonzero(B)) == 27  # a general site: every term, negative q included
        reference = ligandml.CrystalField(ion, B).energies()
        for seed in range(3):
            R = rotation(rng.normal(size=3), rng.uniform(0, 2 * np.pi))
            rotated = ligandml.point_charge_parameters(ion, ligands @ R.T, charges=charges)
            assert max(abs(rotated[n] - B[n]) for n in B) > 1e-3 * max(abs(v) for v in B.values())
            np.testing.assert_allclose(ligandml.CrystalField(ion, rotated).energies(), reference,
                                       rtol=0, atol=1e-9 * reference.max())


# PyCrystalField's published example examples/YTO_importCIF/YTO.ipynb (asche1/PyCrystalField):
# Yb2Ti2O7 from ICSD 190689 (Ross et al., PRB 86, 174424 (2012)): a = 10.01247 A, Yb at 16d
# (1/2,1/2,1/2), O1 at 8b (3/8,3/8,3/8), O2 at 48f (0.33180, 1/8, 1/8); 8 O2- ligands of charge
# -2; axes x = [-1/2, 1, -1/2], y = [-1, 0, 1], z = [1, 1, 1]; Edvardsson-Klintenberg <r^k> with
# shielding. Printed output (meV) and the eigenvalues it prints:
YTO_B_MEV = {"B20": 0.53552196, "B40": -0.04430884, "B43": 0.33472584, "B60": 0.00032957,
             "B63": 0.00302494, "B66": 0.00313667}
YTO_LEVELS_MEV = [0.0, 38.61543, 47.10950, 75.14028]


def yto_ligands():
    a, x = 10.01247, 0.33180
    o1 = np.array([[1, 1, 1], [-1, -1, -1]]) / 8
    o2 = np.array([[x - 0.5, 0.125, 0.125], [0.125, x - 0.5, 0.125], [0.125, 0.125, x - 0.5]])
    cubic = np.vstack([o1, o2, -o2]) * a
    axes = np.array([[-0.5, 1, -0.5], [-1, 0, 1], [1, 1, 1]])
    return cubic @ (axes / np.linalg.norm(axes, axis=1)[:, None]).T


def test_reproduces_pycrystalfield_yb2ti2o7_point_charge_example():
    B = ligandml.point_charge_parameters("Yb3+", yto_ligands(), charges=-2, unit="meV",
                                         radial_table="edvardsson-klintenberg")
    assert nonzero(B) == set(YTO_B_MEV)
    for name, value in YTO_B_MEV.items():  # agreement to their printed digits and constants
        assert B[name] == pytest.approx(value, rel=1e-5), name
    levels = ligandml.CrystalField("Yb3+", B, unit="meV").energies("meV")[::2]
    np.testing.assert_allclose(levels, YTO_LEVELS_MEV, rtol=1e-5, atol=1e-6)


def test_units_round_trip():
    ligands = trigonal_octahedron(1.1)
    K = ligandml.point_charge_parameters("Er3+", ligands, charges=-2)
    meV = ligandml.point_charge_parameters("Er3+", ligands, charges=-2, unit="meV")
    cm = ligandml.point_charge_parameters("Er3+", ligands, charges=-2, unit="cm-1")
    assert list(K) == list(meV) == ALL_NAMES
    for name in K:
        assert meV[name] * KELVIN_PER_MEV == pytest.approx(K[name], rel=1e-14, abs=1e-300)
        assert cm[name] * KELVIN_PER_CM1 == pytest.approx(K[name], rel=1e-14, abs=1e-300)
    back = ligandml.CrystalField("Er3+", meV, unit="meV").params
    assert all(back[n] == pytest.approx(K[n], rel=1e-13, abs=1e-300) for n in K)


# ---------------------------------------------------------------- superposition

def test_point_charge_is_the_superposition_special_case():
    rng = np.random.default_rng(11)
    ligands = random_directions(6, 12) * rng.uniform(2.2, 2.7, (6, 1))
    for ion, charge, R0 in (("Er3+", -1.0, 2.4), ("Pr3+", -0.7, 2.2)):
        pc = ligandml.point_charge_parameters(ion, ligands, charges=charge)
        b = point_charge_intrinsic(ion, charge, R0)
        sp = ligandml.superposition_parameters(ion, ligands, b=b, t={2: 3, 4: 5, 6: 7}, R0=R0)
        scale = max(abs(v) for v in pc.values())
        for name in pc:
            assert sp[name] == pytest.approx(pc[name], rel=1e-12, abs=1e-14 * scale)
        # another power law is not the point-charge model
        other = ligandml.superposition_parameters(ion, ligands, b=b, t={2: 3, 4: 6, 6: 7}, R0=R0)
        assert abs(other["B40"] - pc["B40"]) > 1e-3 * abs(pc["B40"])


def test_superposition_single_ligand_on_z_and_per_element_values(tmp_path):
    b, t = {2: 400.0, 4: 60.0, 6: 8.0}, {2: 7, 4: 10, 6: 12}
    B = ligandml.superposition_parameters("Er3+", [[0, 0, 2.5]], b=b, t=t, R0=2.4)
    for k in (2, 4, 6):
        assert B[f"B{k}0"] == pytest.approx(ligandml.stevens_factor("Er3+", k) * b[k] * (2.4 / 2.5) ** t[k])
    path = tmp_path / "two.xyz"
    path.write_text("3\nEr with O and N\nEr 1 1 1\nO 1 1 3.4\nN 1 1 -1.6\n")
    sphere = ligandml.read_xyz(path)
    by_element = ligandml.superposition_parameters(
        "Er3+", sphere, b={2: {"O": 400.0, "N": 250.0}, 4: 60.0, 6: 8.0}, t=t, R0={"O": 2.4, "N": 2.5})
    per_ligand = ligandml.superposition_parameters(
        "Er3+", [[0, 0, 2.4], [0, 0, -2.6]], b={2: [400.0, 250.0], 4: 60.0, 6: 8.0}, t=t, R0=[2.4, 2.5])
    assert by_element == pytest.approx(per_ligand)
    in_mev = ligandml.superposition_parameters("Er3+", [[0, 0, 2.5]], b={k: v / KELVIN_PER_MEV for k, v in b.items()},
                                               t=t, R0=2.4, b_unit="meV")
    assert in_mev == pytest.approx(B)


# ---------------------------------------------------------------- XYZ files and bad input

def test_read_xyz_centres_on_the_named_ion(tmp_path):
    path = tmp_path / "er.xyz"
    path.write_text("7\nErO6 test\nEr 1.0 2.0 3.0\n" + "".join(
        f"O{i + 1} {1 + p[0]} {2 + p[1]} {3 + p[2]}\n" for i, p in enumerate(OCTAHEDRON)))
    sphere = ligandml.read_xyz(path)
    assert sphere.center == "Er" and sphere.elements == ("O",) * 6 and sphere.comment == "ErO6 test"
    np.testing.assert_allclose(sphere.positions, OCTAHEDRON, atol=1e-12)
    from_file = ligandml.point_charge_parameters("Er3+", sphere, charges={"O": -2})
    assert from_file == pytest.approx(ligandml.point_charge_parameters("Er3+", OCTAHEDRON, charges=-2))
    # no header, no lanthanide: the ion is at the origin; spherical input gives the same
    bare = tmp_path / "bare.xyz"
    bare.write_text("# comment\nCl 0 0 2.6\n\nN 2.5 0 0\n")
    sphere = ligandml.read_xyz(bare)
    assert sphere.center is None and sphere.elements == ("Cl", "N")
    spherical = ligandml.point_charge_parameters("Dy3+", [[2.6, 0, 0], [2.5, 90, 0]], charges=[-1, -0.5],
                                                 coordinates="spherical")
    assert spherical == pytest.approx(ligandml.point_charge_parameters("Dy3+", sphere,
                                                                       charges={"Cl": -1, "N": -0.5}))
    assert len(ligandml.read_xyz(path, max_distance=2.4).elements) == 6
    with pytest.raises(ValueError, match="no ligands"):
        ligandml.read_xyz(path, max_distance=2.0)


@pytest.mark.parametrize("text, message", [
    ("2\n\nEr 0 0 0\nXx 0 0 2\n", "unknown element 'Xx'"),
    ("2\n\nEr 0 0 0\nO 0 0 two\n", "coordinates must be numbers"),
    ("3\n\nEr 0 0 0\nO 0 0 2\n", "header says 3 atoms"),
    ("Er 0 0 0\nDy 0 0 4\nO 0 0 2\n", "2 lanthanide atoms"),
    ("Er 0 0 0\n", "no ligands"),
    ("O 0 0 0\nO 0 0 2\n", "sits at the origin"),
])
def test_read_xyz_refuses_bad_files(tmp_path, text, message):
    path = tmp_path / "bad.xyz"
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        ligandml.read_xyz(path)


@pytest.mark.parametrize("call, message", [
    (lambda: ligandml.point_charge_parameters("Er3+", np.zeros((0, 3)), charges=-1), "no ligands"),
    (lambda: ligandml.point_charge_parameters("Er3+", [[0, 0, 0], [0, 0, 2]], charges=-1), "origin"),
    (lambda: ligandml.point_charge_parameters("Xx3+", [[0, 0, 2]], charges=-1), "unknown ion"),
    (lambda: ligandml.point_charge_parameters(ligandml.ion(J=7.5, gJ=1.2), [[0, 0, 2]], charges=-1), "custom ion"),
    (lambda: ligandml.point_charge_parameters("Er3+", [[0, 0, 2]]), "needs charges"),
    (lambda: ligandml.point_charge_parameters("Er3+", [[0, 0, 2]], charges={"O": -2}), "by element"),
    (lambda: ligandml.point_charge_parameters("Er3+", [[0, 0, 2]], charges=[-1, -1]), "one value per ligand"),
    (lambda: ligandml.point_charge_parameters("Er3+", [[0, 2]], charges=-1), r"\(N, 3\)"),
    (lambda: ligandml.point_charge_parameters("Er3+", [[0, 0, 2]], charges=-1, unit="eV"), "unknown energy unit"),
    (lambda: ligandml.point_charge_parameters("Er3+", [[0, 0, 2]], charges=-1, radial_table="x"), "radial-integral"),
    (lambda: ligandml.superposition_parameters("Er3+", [[0, 0, 2]], b={2: 1, 4: 1}, t={2: 3, 4: 5, 6: 7}, R0=2),
     "ranks 2, 4, 6"),
    (lambda: ligandml.superposition_parameters("Er3+", [[0, 0, 2]], b={2: 1, 4: 1, 6: 1}, t={2: 3, 4: 5, 6: 7},
                                               R0=-1), "R0 must be a positive"),
    (lambda: ligandml.radial_integral("Er3+", 3), "rank k must be 2, 4 or 6"),
])
def test_bad_input_is_refused(call, message):
    with pytest.raises(ValueError, match=message):
        call()
