"""Golden vectors: the files under tests/golden regenerate to 1e-12, Julia's test suite names
every one of them, and every backend present reproduces them (the Julia cases skip, with the
reason, where Julia cannot be had)."""
from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import numpy as np
import pytest

import ligandml
from ligandml import julia_backend, julia_setup
from ligandml.parameters import StevensBatch

REPO = Path(__file__).resolve().parents[1]
GOLDEN = REPO / "tests" / "golden"
RUNTESTS = REPO / "julia" / "test" / "runtests.jl"


def read_golden(path: Path) -> dict[str, np.ndarray]:
    """Blocks of a golden file by name ('@ name rows cols' followed by rows of numbers)."""
    blocks, lines, i = {}, path.read_text().splitlines(), 0
    while i < len(lines):
        line = lines[i].strip()
        if not line or line.startswith("#"):
            i += 1
            continue
        marker, name, rows, cols = line.split()
        assert marker == "@", f"{path.name}:{i + 1}: {line!r}"
        rows, cols = int(rows), int(cols)
        data = np.array([[float(v) for v in lines[i + 1 + r].split()] for r in range(rows)]).reshape(rows, cols)
        blocks[name] = data
        i += rows + 1
    return blocks


def golden_files(prefix: str) -> list[Path]:
    return sorted(GOLDEN.glob(f"{prefix}*.txt"))


def load_batch(blocks):
    ion = ligandml.ion(J=float(blocks["J"][0, 0]), gJ=float(blocks["gJ"][0, 0]))
    terms = tuple((int(k), int(q)) for k, q in blocks["terms"])
    return ion, StevensBatch(terms, np.ascontiguousarray(blocks["coeffs"]))


def _make_golden_module():
    spec = importlib.util.spec_from_file_location("make_golden", REPO / "scripts" / "make_golden.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(params=["numpy", "julia"])
def backend(request):
    """Every backend; "julia" skips with the reason where it cannot be used."""
    if request.param == "julia":
        try:
            julia_setup.require()
        except RuntimeError as exc:
            pytest.skip(str(exc).split(". To use Julia")[0])
    return request.param


def test_golden_files_regenerate(tmp_path):
    """The reference regenerates every golden block: the same names and shapes, the same numbers to
    1e-12 relative (the last printed digit of an eigenvalue depends on the LAPACK build, so bytes
    are not the contract; values are)."""
    written = _make_golden_module().write_golden(tmp_path)
    assert sorted(p.name for p in written) == sorted(p.name for p in GOLDEN.glob("*.txt"))
    for path in written:
        fresh, stored = read_golden(path), read_golden(GOLDEN / path.name)
        assert list(fresh) == list(stored), f"{path.name}: blocks differ: rerun scripts/make_golden.py"
        for name, values in stored.items():
            scale = max(np.abs(values).max(), 1e-300)
            np.testing.assert_allclose(fresh[name], values, rtol=1e-12, atol=1e-13 * scale,
                                       err_msg=f"{path.name}:{name} differs: rerun scripts/make_golden.py")


def test_golden_files_cover_what_the_issue_asks():
    assert [p.name for p in golden_files("stevens_")] == ["stevens_J15_2.txt", "stevens_J4.txt", "stevens_J9_2.txt"]
    for path in golden_files("stevens_"):
        names = set(read_golden(path))
        assert {f"O_{k}_{q}" for k in range(1, 7) for q in range(-k, k + 1)} <= names
    chi_files = golden_files("levels_chi_")
    with_negative_q = [p for p in chi_files if (read_golden(p)["terms"][:, 1] < 0).any()]
    assert len(with_negative_q) >= 5
    kerse2 = read_golden(GOLDEN / "moment_KErSe2_1T.txt")
    assert kerse2["field_T"][0, 0] == 1.0 and kerse2["moment"].shape == kerse2["T"].shape


def test_golden_cases_exercise_the_near_pair_path():
    """Level pairs closer than NEAR_GAP_K (summed exactly, pair by pair) occur in every set of the
    two near-pair files, for a non-Kramers and a Kramers ion, down to gaps below 1e-4 K."""
    from ligandml.susceptibility import NEAR_GAP_K, curie_and_van_vleck_terms, level_scheme

    kramers_seen = set()
    for name in ("levels_chi_tb_near_degenerate.txt", "levels_chi_er_near_crossing.txt"):
        ion, batch = load_batch(read_golden(GOLDEN / name))
        terms = curie_and_van_vleck_terms(*level_scheme(ion, batch), ion.kramers)
        assert set(terms.near_set.tolist()) == set(range(batch.n_sets)), name
        gaps = np.abs(terms.near_gap)
        assert gaps.min() < 1e-4 and gaps.max() < NEAR_GAP_K, name
        kramers_seen.add(ion.kramers)
    assert kramers_seen == {False, True}


def test_julia_test_suite_names_every_golden_file():
    named = set(re.findall(r'"([\w.-]+\.txt)"', RUNTESTS.read_text()))
    present = {p.name for p in GOLDEN.glob("*.txt")}
    assert present - named == set(), f"golden files Julia's tests do not read: {present - named}"
    assert named - present == set(), f"runtests.jl names missing files: {named - present}"


@pytest.mark.parametrize("path", golden_files("stevens_"), ids=lambda p: p.stem)
def test_stevens_operators(path, backend):
    blocks = read_golden(path)
    J = float(blocks["J"][0, 0])
    make = ligandml.stevens_operator if backend == "numpy" else julia_backend.stevens_operator
    for k in range(1, 7):
        for q in range(-k, k + 1):
            op = make(J, k, q)
            part, other = (op.real, op.imag) if q >= 0 else (op.imag, op.real)
            expected = blocks[f"O_{k}_{q}"]
            scale = max(1.0, np.abs(expected).max())
            np.testing.assert_allclose(part, expected, rtol=0, atol=1e-12 * scale, err_msg=f"O_{k}^{q}")
            assert np.abs(other).max() <= 1e-12 * scale


@pytest.mark.parametrize("path", golden_files("levels_chi_"), ids=lambda p: p.stem)
def test_zero_field_chi(path, backend):
    blocks = read_golden(path)
    ion, batch = load_batch(blocks)
    chi = ligandml.powder_susceptibility(ion, batch, blocks["T"][0], backend=backend)
    np.testing.assert_allclose(chi, blocks["chi"], rtol=1e-10, atol=0)


def test_energies_match_the_reference_levels():
    from ligandml.susceptibility import level_scheme

    for path in golden_files("levels_chi_"):
        blocks = read_golden(path)
        ion, batch = load_batch(blocks)
        energies, _ = level_scheme(ion, batch)
        scale = max(1.0, np.abs(blocks["energies"]).max())
        np.testing.assert_allclose(np.sort(energies, axis=1), blocks["energies"], rtol=0, atol=1e-10 * scale)


def test_kerse2_moment_and_chi_at_one_tesla(backend):
    blocks = read_golden(GOLDEN / "moment_KErSe2_1T.txt")
    ion, batch = load_batch(blocks)
    T = blocks["T"][0]
    field = float(blocks["field_T"][0, 0])
    order = int(blocks["lebedev_order"][0, 0])
    from ligandml.orientations import lebedev_hemisphere

    directions, weights = lebedev_hemisphere(order)  # the grid both backends use
    np.testing.assert_array_equal(directions, blocks["directions"])
    np.testing.assert_array_equal(weights, blocks["weights"][0])
    chi0 = ligandml.powder_susceptibility(ion, batch, T, backend=backend)
    np.testing.assert_allclose(chi0, blocks["chi_zero_field"], rtol=1e-10)
    chi1 = ligandml.powder_susceptibility(ion, batch, T, field=field, backend=backend, lebedev_order=order)
    np.testing.assert_allclose(chi1, blocks["chi_field"], rtol=1e-9)
    moment = ligandml.powder_magnetization(ion, batch, [field], T, backend=backend, lebedev_order=order)
    np.testing.assert_allclose(moment[:, 0, :], blocks["moment"], rtol=1e-9)
    # physics sanity independent of the reference: at 1 T and 2 K the field has bent the curve
    # below the zero-field value, and by 300 K the two agree to a few parts in 1e4
    assert chi1[0, 0] < 0.95 * chi0[0, 0]
    assert abs(chi1[0, -1] / chi0[0, -1] - 1) < 1e-3
