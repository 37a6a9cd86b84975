"""Site symmetry, equivalent sets and the refusal of odd k.

The allowed parameters are checked against the tables of Mantid's crystal-field documentation and
the textbooks (written out below, independent of the code), the Hamiltonians they build against
the symmetry operations (rotation operators by matrix exponentials), the cubic ratios against the
cubic level degeneracies, and the equivalent sets against energies, powder chi and equivalent_DE.
"""
from __future__ import annotations

import numpy as np
import pytest
from scipy.linalg import expm
from scipy.spatial.transform import Rotation

import ligandml
from ligandml.hamiltonian import ligand_field_hamiltonians
from ligandml.operators import spin_matrices
from ligandml.parameters import StevensBatch, to_stevens_batch
from ligandml.symmetry import (POINT_GROUPS, allowed_parameters, canonical_parameters, check_symmetry,
                               equivalent_parameters, form_preserving_rotations, proper_rotations)

T = np.geomspace(2.0, 300.0, 30)
ALL = [f"B{k}{q}" for k in (2, 4, 6) for q in range(-k, k + 1)]
MONOCLINIC = ["B20", "B22", "B2-2", "B40", "B42", "B4-2", "B44", "B4-4", "B60", "B62", "B6-2", "B64", "B6-4",
              "B66", "B6-6"]
ORTHORHOMBIC = ["B20", "B22", "B40", "B42", "B44", "B60", "B62", "B64", "B66"]
TETRAGONAL_LOW = ["B20", "B40", "B44", "B4-4", "B60", "B64", "B6-4"]
TETRAGONAL = ["B20", "B40", "B44", "B60", "B64"]
TRIGONAL_LOW = ["B20", "B40", "B43", "B4-3", "B60", "B63", "B6-3", "B66", "B6-6"]
TRIGONAL = ["B20", "B40", "B43", "B60", "B63", "B66"]
HEXAGONAL_LOW = ["B20", "B40", "B60", "B66", "B6-6"]
HEXAGONAL = ["B20", "B40", "B60", "B66"]
TETRAHEDRAL = ["B40", "B44", "B60", "B62", "B64", "B66"]
CUBIC = ["B40", "B44", "B60", "B64"]
#: Mantid's symmetry table (CrystalField documentation) and the textbook lists (Walter 1984;
#: Hutchings 1964), in the settings of ligandml.symmetry
TEXTBOOK = {
    **dict.fromkeys(["C1", "Ci"], ALL), **dict.fromkeys(["C2", "Cs", "C2h"], MONOCLINIC),
    **dict.fromkeys(["D2", "C2v", "D2h"], ORTHORHOMBIC), **dict.fromkeys(["C4", "S4", "C4h"], TETRAGONAL_LOW),
    **dict.fromkeys(["D4", "C4v", "D2d", "D4h"], TETRAGONAL), **dict.fromkeys(["C3", "C3i"], TRIGONAL_LOW),
    **dict.fromkeys(["D3", "C3v", "D3d"], TRIGONAL), **dict.fromkeys(["C6", "C3h", "C6h"], HEXAGONAL_LOW),
    **dict.fromkeys(["D6", "C6v", "D3h", "D6h"], HEXAGONAL), **dict.fromkeys(["T", "Th"], TETRAHEDRAL),
    **dict.fromkeys(["O", "Td", "Oh"], CUBIC),
}
CUBIC_RATIOS = {"B44": ("B40", 5.0), "B64": ("B60", -21.0)}
TETRAHEDRAL_RATIOS = {**CUBIC_RATIOS, "B66": ("B62", -1.0)}
#: Mantid's counts of independent parameters
MANTID_COUNTS = {"C1": 27, "Ci": 27, "C2h": 15, "D2h": 9, "C4h": 7, "D4h": 5, "C3i": 9, "D3d": 6, "C6h": 5,
                 "D6h": 4, "Th": 3, "Oh": 2}
SCALE = {2: 1.0, 4: 1e-2, 6: 1e-4}


def random_allowed(point_group: str, seed: int) -> dict[str, float]:
    """A random set of the group's form: free names uniform at a ligand-field scale [K], the
    dependent ones from the fixed ratios."""
    rng = np.random.default_rng(seed)
    allowed = allowed_parameters(point_group)
    params = {n: float(rng.uniform(-1, 1) * SCALE[int(n[1])]) for n in allowed.free}
    params.update({dep: factor * params[free] for dep, (free, factor) in allowed.ratios.items()})
    return params


def rotation_operator(J: float, R: np.ndarray) -> np.ndarray:
    """exp(-i theta n.J) for the proper rotation R (axis n, angle theta), by expm."""
    rotvec = Rotation.from_matrix(R).as_rotvec()
    jx, jy, jz = spin_matrices(J)
    return expm(-1j * (rotvec[0] * jx + rotvec[1] * jy + rotvec[2] * jz))


def energies(params, ion="Er3+") -> np.ndarray:
    return ligandml.CrystalField(ion, params).energies()


# --------------------------------------------------------------------------------------------
# allowed parameters
# --------------------------------------------------------------------------------------------
def test_all_32_point_groups_with_mantid_names():
    assert len(POINT_GROUPS) == 32 and set(POINT_GROUPS) == set(TEXTBOOK)
    orders = {"C1": 1, "C2h": 2, "D2h": 4, "D4h": 8, "D3d": 6, "D6h": 12, "Th": 12, "Oh": 24}
    for group, order in orders.items():  # proper parts of the group: |G| / 2 for centrosymmetric ones
        assert len(proper_rotations(group)) == order, group


@pytest.mark.parametrize("group", sorted(TEXTBOOK))
def test_allowed_names_match_the_tables(group):
    allowed = allowed_parameters(group)
    assert sorted(allowed.names) == sorted(TEXTBOOK[group])
    expected_ratios = {"T": TETRAHEDRAL_RATIOS, "Th": TETRAHEDRAL_RATIOS}.get(
        group, CUBIC_RATIOS if group in ("O", "Td", "Oh") else {})
    assert allowed.ratios == expected_ratios
    assert allowed.n_independent == len(allowed.names) - len(allowed.ratios)


def test_independent_counts_match_mantid():
    for group, count in MANTID_COUNTS.items():
        assert allowed_parameters(group).n_independent == count, group
    assert list(allowed_parameters("D3d")) == ["B20", "B40", "B43", "B60", "B63", "B66"]
    assert "B4-3" not in allowed_parameters("D3d")
    assert allowed_parameters("D6h").names == ("B20", "B40", "B60", "B66")


@pytest.mark.parametrize("group", ["C2h", "D2h", "C4h", "D4h", "D2d", "C3i", "D3d", "C3v", "D3h", "D6h", "Th", "Td"])
def test_hamiltonians_of_the_allowed_form_are_invariant(group):
    """U(g) H U(g)^dagger = H for every proper part g of the group (U by expm in the J = 15/2
    basis), and each allowed name alone is invariant unless a ratio ties it to another."""
    ion = ligandml.ion("Er3+")
    H = ligand_field_hamiltonians(ion, to_stevens_batch(random_allowed(group, 1)), real=False)[0]
    for R in proper_rotations(group):
        U = rotation_operator(ion.J, R)
        assert np.abs(U @ H @ U.conj().T - H).max() <= 1e-11 * np.abs(H).max()
    # a forbidden term is not invariant (the list is not too short by accident)
    forbidden = [n for n in ALL if n not in allowed_parameters(group)]
    for name in forbidden[:4]:
        H1 = ligand_field_hamiltonians(ion, to_stevens_batch({name: 1.0}), real=False)[0]
        moved = max(np.abs(rotation_operator(ion.J, R) @ H1 @ rotation_operator(ion.J, R).conj().T - H1).max()
                    for R in proper_rotations(group))
        assert moved > 1e-3, name


def test_cubic_ratios_give_the_cubic_degeneracies():
    """Er3+ (J = 15/2) in a cubic field: Gamma6 + Gamma7 + 3 Gamma8, i.e. levels of degeneracy
    2, 2, 4, 4, 4; Ho3+ (J = 8): 17 = 1 + 2 + 3*3 + ... with no level more than triply degenerate.
    Breaking B44 = 5 B40 lifts the quartets."""
    cubic = random_allowed("Oh", 3)
    e = energies(cubic)
    _, counts = np.unique(np.round(e, 8), return_counts=True)
    assert sorted(counts) == [2, 2, 4, 4, 4]
    broken = dict(cubic, B44=cubic["B44"] * 1.1)
    _, counts = np.unique(np.round(energies(broken), 8), return_counts=True)
    assert max(counts) == 2
    _, counts = np.unique(np.round(energies(cubic, "Ho3+"), 8), return_counts=True)
    assert max(counts) == 3 and sum(counts) == 17


# --------------------------------------------------------------------------------------------
# refusing what a site symmetry forbids
# --------------------------------------------------------------------------------------------
def test_crystal_field_refuses_forbidden_parameters_by_name():
    with pytest.raises(ValueError, match=r"B22 \(E in the D, E form\) is forbidden by site symmetry D3d"):
        ligandml.CrystalField("Er3+", {"D": -3.0, "E": 0.5}, symmetry="D3d")
    with pytest.raises(ValueError, match="B4-3 is forbidden by site symmetry D3d"):
        ligandml.CrystalField("Er3+", {"B20": -1.0, "B4-3": 0.01}, symmetry="D3d")
    with pytest.raises(ValueError, match=r"Oh fixes B44 = 5 \* B40"):
        ligandml.CrystalField("Er3+", {"B40": 0.01, "B44": 0.04}, symmetry="Oh")
    with pytest.raises(ValueError, match=r"Oh fixes B64 = -21 \* B60"):
        ligandml.CrystalField("Er3+", {"B40": 0.01, "B44": 0.05, "B60": 1e-4}, symmetry="Oh")
    with pytest.raises(ValueError, match="unknown point group 'D3h2'"):
        ligandml.CrystalField("Er3+", {"B20": 1.0}, symmetry="D3h2")
    # allowed sets pass and change nothing; an explicit zero of a forbidden name is accepted
    kerse2 = random_allowed("D3d", 4)
    cf = ligandml.CrystalField("Er3+", kerse2, symmetry="D3d")
    np.testing.assert_array_equal(cf.energies(), energies(kerse2))
    ligandml.CrystalField("Er3+", {"D": -3.0, "E": 0.0}, symmetry="D4h")
    ligandml.CrystalField("Er3+", {"B40": 0.01, "B44": 0.05, "B60": 1e-4, "B64": -21e-4}, symmetry="Oh")


def test_batched_calls_refuse_forbidden_parameters():
    batch = {"B20": np.array([-1.0, 0.5]), "B22": np.array([0.0, 0.3])}
    with pytest.raises(ValueError, match="B22 .* forbidden by site symmetry D4h"):
        ligandml.powder_susceptibility("Er3+", batch, T, symmetry="D4h", backend="numpy")
    with pytest.raises(ValueError, match="B22 .* forbidden by site symmetry D6h"):
        ligandml.powder_magnetization("Er3+", batch, [1.0], [2.0], symmetry="D6h", backend="numpy")
    with pytest.raises(ValueError, match="B22 .* forbidden by site symmetry D3d"):
        check_symmetry(to_stevens_batch(batch), "D3d")
    ok = ligandml.powder_susceptibility("Er3+", batch, T, symmetry="D2h", backend="numpy")
    np.testing.assert_array_equal(ok, ligandml.powder_susceptibility("Er3+", batch, T, backend="numpy"))


# --------------------------------------------------------------------------------------------
# odd k
# --------------------------------------------------------------------------------------------
def test_odd_k_is_refused_everywhere_but_stevens_operator_builds_it():
    for params in ({"B20": -1.0, "B30": 0.05}, {"B1-1": 0.1}, {"B5-3": 1e-3}):
        name = next(n for n in params if int(n[1]) % 2)
        with pytest.raises(ValueError, match=f"parameter '{name}' has odd rank .* time reversal"):
            ligandml.CrystalField("Er3+", params)
        with pytest.raises(ValueError, match=f"'{name}' has odd rank"):
            ligandml.powder_susceptibility("Er3+", params, T, backend="numpy")
        with pytest.raises(ValueError, match=f"'{name}' has odd rank"):
            ligandml.powder_magnetization("Er3+", params, [1.0], [2.0], backend="numpy")
    with pytest.raises(ValueError, match="'B30' has odd rank"):
        StevensBatch(((2, 0), (3, 0)), np.zeros((1, 2)))
    # the operators themselves are still there: O_1^q are Jx, Jy, Jz, and O_3^0 is Hermitian and odd
    # under time reversal (T O T^-1 = -O, with T = Y K: <m|Y|m'> = (-1)^(J-m) delta_{m,-m'})
    J = 7.5
    _, _, jz = spin_matrices(J)
    np.testing.assert_allclose(ligandml.stevens_operator(J, 1, 0), jz)
    o30 = ligandml.stevens_operator(J, 3, 0)
    np.testing.assert_allclose(o30, o30.conj().T)
    m = np.arange(J, -J - 1, -1)
    Y = np.fliplr(np.diag((-1.0) ** (J - m)))
    np.testing.assert_allclose(Y @ o30.conj() @ np.linalg.inv(Y), -o30, atol=1e-9)


# --------------------------------------------------------------------------------------------
# equivalent sets and the canonical one
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("group,count", [("D2h", 6), ("C2v", 6), ("D3d", 2), ("C3v", 2), ("D4h", 2), ("D2d", 2),
                                         ("D6h", 2), ("D3h", 2), ("Th", 2), ("Oh", 1), ("Td", 1)])
def test_equivalent_sets_have_the_same_physics(group, count):
    params = random_allowed(group, 5)
    sets = equivalent_parameters(params, group)
    assert len(sets) == count
    assert all(set(s) == set(allowed_parameters(group).names) for s in sets)
    assert all(abs(sets[0][n] - params.get(n, 0.0)) <= 1e-15 for n in sets[0])
    e0 = energies(params)
    chi0 = ligandml.powder_susceptibility("Er3+", params, T, backend="numpy")
    for s in sets:
        check_symmetry(s, group)  # the same form: allowed names, fixed ratios kept
        np.testing.assert_allclose(energies(s), e0, rtol=0, atol=1e-10 * max(1.0, e0.max()))
        np.testing.assert_allclose(ligandml.powder_susceptibility("Er3+", s, T, backend="numpy"), chi0, rtol=1e-10)
    # distinct: a non-trivial equivalent differs from the start by far more than rounding
    for s in sets[1:]:
        assert max(abs(s[n] - sets[0][n]) for n in s) > 1e-6


def test_d3d_equivalent_flips_b43_and_b63():
    params = {"B20": 0.8, "B40": 6e-3, "B43": -0.12, "B60": -6e-5, "B63": 1.2e-3, "B66": -9e-4}  # d3d-a
    first, other = equivalent_parameters(params, "D3d")
    expected = dict(params, B43=0.12, B63=-1.2e-3)
    assert all(abs(other[n] - expected[n]) <= 1e-15 for n in expected)
    assert all(abs(first[n] - params[n]) <= 1e-15 for n in params)
    canonical = canonical_parameters(params, "D3d")
    assert canonical["B43"] == pytest.approx(0.12, abs=1e-15) and canonical["B63"] == pytest.approx(-1.2e-3, abs=1e-15)
    assert canonical_parameters(expected, "D3d")["B43"] > 0


def test_d2h_second_order_reproduces_equivalent_DE():
    rng = np.random.default_rng(9)
    for D, E in [(-6.0, 0.5), (3.0, 1.0 - 0.2), (-4.0, 0.3)] + [tuple(rng.uniform(-8, 8, 2)) for _ in range(5)]:
        sets = equivalent_parameters({"D": D, "E": E}, "D2h")
        general = sorted((round(3 * s["B20"], 9), round(s["B22"], 9)) for s in sets)
        assert all(abs(s[n]) < 1e-14 for s in sets for n in s if n not in ("B20", "B22"))
        reference = sorted((round(d, 9), round(e, 9)) for d, e in ligandml.equivalent_DE(D, E))
        assert general == reference


def test_canonical_matches_canonical_DE_and_is_idempotent():
    rng = np.random.default_rng(10)
    D = np.concatenate([rng.uniform(-10, 10, 200), [3.0, -3.0, 6.0, 6.0, -4.5]])
    E = np.concatenate([rng.uniform(-20 / 3, 20 / 3, 200), [1.0, 1.0, 0.0, -2.0, -1.5]])
    canonical = canonical_parameters({"D": D, "E": E}, "D2h")
    D_c, E_c = ligandml.canonical_DE(D, E)
    np.testing.assert_allclose(3 * canonical["B20"], D_c, atol=1e-12)
    np.testing.assert_allclose(canonical["B22"], E_c, atol=1e-12)
    assert np.all(canonical["B22"] >= -1e-12) and np.all(canonical["B22"] <= np.abs(canonical["B20"]) + 1e-12)
    for group in ("D2h", "D3d", "D4h", "D6h", "Th"):
        params = random_allowed(group, 11)
        once = canonical_parameters(params, group)
        twice = canonical_parameters(once, group)
        assert all(abs(once[n] - twice[n]) <= 1e-14 for n in once), group
        # every equivalent has the same canonical member, and it is one of them
        for s in equivalent_parameters(params, group):
            other = canonical_parameters(s, group)
            assert all(abs(other[n] - once[n]) <= 1e-12 * max(1e-4, abs(once[n])) for n in once), group
        assert any(all(abs(s[n] - once[n]) <= 1e-14 for n in s) for s in equivalent_parameters(params, group))


def test_equivalents_refused_for_groups_with_a_continuous_family():
    for group in ("C1", "C2h", "C4h", "C3i", "C6h"):
        with pytest.raises(ValueError, match=f"point group {group} has no finite list"):
            equivalent_parameters({"B20": 1.0}, group)
    for group in ("D2h", "D3d", "D4h", "D6h", "Th", "Oh"):
        assert form_preserving_rotations(group)
    with pytest.raises(ValueError, match="B22 .* forbidden"):
        equivalent_parameters({"D": 1.0, "E": 0.2}, "D3d")
