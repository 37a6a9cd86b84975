"""Quantum Design .dat files (ligandml.instruments): MPMS3 / PPMS-VSM and MPMS-XL layouts."""
from __future__ import annotations

import numpy as np
import pytest

import ligandml as lm
from ligandml.constants import MU_B_PER_ION_IN_EMU_PER_MOL, curie_constant

MPMS3_COLUMNS = ["Comment", "Time Stamp (sec)", "Temperature (K)", "Magnetic Field (Oe)",
                 "Moment (emu)", "M. Std. Err. (emu)", "Transport Action", "Averaging Time (sec)"]


def write_mpms3(path, T, field_oe, moment, *, mass_mg=None, molar_mass=None, extra_rows=()):
    """An MPMS3-style .dat file (layout of Quantum Design's documented format, synthetic values):
    [Header] with INFO records, [Data] with a column title line and one record per point."""
    lines = ["[Header]", "; synthetic test file written by tests/test_instruments.py",
             "TITLE,test sample", "BYAPP,MPMS3,1.0 test", "FILEOPENTIME,0,01/01/2025,00:00"]
    if mass_mg is not None:
        lines.append(f"INFO,{mass_mg!r},SAMPLE_MASS")
    if molar_mass is not None:
        lines.append(f"INFO,{molar_mass!r},SAMPLE_MOLECULAR_WEIGHT")
    lines += ["DATATYPE,COMMENT,1", "DATATYPE,TIME,2", "[Data]", ",".join(MPMS3_COLUMNS)]
    field_oe = np.broadcast_to(field_oe, np.shape(T))
    for i, (t, h, m) in enumerate(zip(T, field_oe, moment)):
        lines.append(f",{1.7e9 + 10 * i:.1f},{float(t)!r},{float(h)!r},{float(m)!r},{abs(float(m)) * 1e-3!r},1,1.0")
    lines += list(extra_rows)
    path.write_text("\r\n".join(lines) + "\r\n")
    return path


def moment_from_chi(chi_per_formula, field_oe, mass_mg, molar_mass):
    """moment [emu] = chi [emu/mol] x H [Oe] x n [mol]."""
    return chi_per_formula * field_oe * (mass_mg * 1e-3 / molar_mass)


@pytest.fixture
def er2_curve():
    """An Er2 compound: chi per formula = 2 x Curie-Weiss per Er (values known exactly)."""
    T = np.geomspace(2.0, 300.0, 40)
    chi_ion = curie_constant(1.2, 7.5) / (T + 0.7)
    return T, chi_ion


def test_mpms3_file_reads_back_to_chi_per_ion_within_1e12(tmp_path, er2_curve):
    T, chi_ion = er2_curve
    mw, mass = 1271.37, 12.3
    path = write_mpms3(tmp_path / "er2.dat", T, 1000.0, moment_from_chi(2 * chi_ion, 1000.0, mass, mw))
    curve = lm.read_mpms(path, mass_mg=mass, molar_mass=mw, ions_per_formula=2)
    assert curve.per == "ion" and curve.quantity == "chi" and curve.n_repeats_averaged == 0
    assert curve.field_T == pytest.approx(0.1, rel=1e-15)
    assert np.allclose(curve.T, T, rtol=0, atol=0)
    assert np.max(np.abs(curve.values / chi_ion - 1)) < 1e-12
    per_formula = lm.read_mpms(path, mass_mg=mass, molar_mass=mw, ions_per_formula=2, per="formula",
                               quantity="chiT")
    assert np.max(np.abs(per_formula.values / (2 * chi_ion * T) - 1)) < 1e-12
    assert curve.source["columns"]["moment"] == "Moment (emu)"
    assert curve.source["application"].startswith("MPMS3")


def test_mass_and_molar_mass_from_header_or_formula(tmp_path, er2_curve):
    T, chi_ion = er2_curve
    formula = "Er(NO3)3(H2O)5"  # 443.347 g/mol with IUPAC 2021 abridged weights
    mw = lm.molar_mass(formula)
    assert mw == pytest.approx(443.347, abs=1e-3)
    path = write_mpms3(tmp_path / "h.dat", T, 5000.0, moment_from_chi(chi_ion, 5000.0, 4.2, mw),
                       mass_mg=4.2, molar_mass=mw)
    from_header = lm.read_mpms(path)
    from_formula = lm.read_mpms(path, mass_mg=4.2, formula=formula)
    for c in (from_header, from_formula):
        assert np.max(np.abs(c.values / chi_ion - 1)) < 1e-12
    assert from_header.source["mass_from"] == "file header SAMPLE_MASS"
    assert from_formula.source["molar_mass_from"] == f"formula {formula}"
    bare = write_mpms3(tmp_path / "bare.dat", T, 5000.0, np.ones_like(T))
    with pytest.raises(ValueError, match="sample mass"):
        lm.read_mpms(bare, molar_mass=mw)
    with pytest.raises(ValueError, match="molar mass"):
        lm.read_mpms(bare, mass_mg=1.0)


def test_diamagnetic_correction_is_subtracted_per_formula_before_per_ion(tmp_path, er2_curve):
    T, chi_ion = er2_curve
    chi_d = -6.0e-4  # emu/mol per formula unit
    path = write_mpms3(tmp_path / "d.dat", T, 1000.0,
                       moment_from_chi(2 * chi_ion + chi_d, 1000.0, 10.0, 1000.0))
    curve = lm.read_mpms(path, mass_mg=10.0, molar_mass=1000.0, ions_per_formula=2, diamagnetic=chi_d)
    assert np.max(np.abs(curve.values / chi_ion - 1)) < 1e-10


def test_mpms_xl_column_titles_are_found(tmp_path, er2_curve):
    T, chi_ion = er2_curve
    m = moment_from_chi(chi_ion, 2000.0, 5.0, 500.0)
    rows = ["[Header]", "; MPMS-XL layout", "TITLE,xl", "BYAPP,MPMS,MPMSR2 test", "[Data]",
            "Time,Comment,Field (Oe),Temperature (K),Long Moment (emu),Long Scan Std Dev,"
            "Long Algorithm,Long Reg Fit"]
    rows += [f"{i},,2000.0,{float(t)!r},{float(mm)!r},1e-8,1,0.99" for i, (t, mm) in enumerate(zip(T, m))]
    path = tmp_path / "xl.dat"
    path.write_text("\n".join(rows) + "\n")
    curve = lm.read_mpms(path, mass_mg=5.0, molar_mass=500.0)
    assert curve.source["columns"]["moment"] == "Long Moment (emu)"
    assert curve.source["columns"]["moment error"] == "Long Scan Std Dev"
    assert np.max(np.abs(curve.values / chi_ion - 1)) < 1e-12


def test_records_without_a_moment_are_skipped_and_counted(tmp_path, er2_curve):
    T, chi_ion = er2_curve
    path = write_mpms3(tmp_path / "e.dat", T, 1000.0, moment_from_chi(chi_ion, 1000.0, 1.0, 100.0),
                       extra_rows=[",1.8e9,5.0,1000.0,,,1,1.0", "comment row,1.8e9,,,,,,"])
    curve = lm.read_mpms(path, mass_mg=1.0, molar_mass=100.0)
    assert curve.source["records_without_moment"] == 2 and curve.T.size == T.size


def test_text_in_a_numeric_cell_is_an_error_naming_the_line(tmp_path, er2_curve):
    T, chi_ion = er2_curve
    path = write_mpms3(tmp_path / "t.dat", T, 1000.0, moment_from_chi(chi_ion, 1000.0, 1.0, 100.0),
                       extra_rows=[",1.8e9,5.0,1000.0,overflow,,1,1.0"])
    with pytest.raises(ValueError, match=r"1 record\(s\) hold text.*lines 50\b.*drop_invalid") as err:
        lm.read_mpms(path, mass_mg=1.0, molar_mass=100.0)
    assert "\n" not in str(err.value)
    assert lm.read_mpms(path, mass_mg=1.0, molar_mass=100.0, drop_invalid=True).source["records_dropped"] == 1


def test_repeated_temperatures_are_an_error_unless_averaged(tmp_path):
    T = np.array([2.0, 2.003, 2.0, 5.0, 10.0, 10.001, 20.0, 50.0, 100.0, 300.0])
    chi = 1.0 / T
    path = write_mpms3(tmp_path / "r.dat", T, 1000.0, moment_from_chi(chi, 1000.0, 1.0, 100.0))
    with pytest.raises(ValueError, match=r"2 temperatures are repeated \(3 extra points.*"
                                         r"average_repeats=True") as err:
        lm.read_mpms(path, mass_mg=1.0, molar_mass=100.0)
    assert "\n" not in str(err.value)
    curve = lm.read_mpms(path, mass_mg=1.0, molar_mass=100.0, average_repeats=True, repeat_tol_K=0.01)
    assert curve.n_repeats_averaged == 3 and curve.T.size == 7
    assert curve.T[0] == pytest.approx((2.0 + 2.003 + 2.0) / 3, rel=1e-14)
    assert curve.values[0] == pytest.approx((0.5 + 1 / 2.003 + 0.5) / 3, rel=1e-12)


def test_a_field_sweep_is_refused_as_chi_and_read_as_magnetisation(tmp_path):
    B = np.linspace(0.2, 5.4, 27)  # T
    M_muB = 9.0 * np.tanh(B)  # muB per Er, any smooth curve
    mw, mass = 700.0, 3.0
    moment = M_muB * MU_B_PER_ION_IN_EMU_PER_MOL * 2 * (mass * 1e-3 / mw)  # 2 Er per formula
    path = write_mpms3(tmp_path / "mh.dat", np.full(B.size, 2.0) + 1e-3 * np.sin(B), B * 1e4, moment)
    with pytest.raises(ValueError, match="the field varies from 2000 to 54000 Oe.*read_mpms_mh"):
        lm.read_mpms(path, mass_mg=mass, molar_mass=mw)
    mh = lm.read_mpms_mh(path, mass_mg=mass, molar_mass=mw, ions_per_formula=2)
    assert np.max(np.abs(mh.M / M_muB - 1)) < 1e-12
    assert np.allclose(mh.B, B, rtol=1e-15) and mh.T == pytest.approx(2.0, abs=2e-3)
    chi_T_path = write_mpms3(tmp_path / "chiT.dat", np.geomspace(2, 300, 20), 1e4, np.ones(20))
    with pytest.raises(ValueError, match="the temperature varies .* use read_mpms"):
        lm.read_mpms_mh(chi_T_path, mass_mg=1.0, molar_mass=1.0)


def test_not_a_quantum_design_file(tmp_path):
    p = tmp_path / "plain.dat"
    p.write_text("T,chi\n1,2\n")
    with pytest.raises(ValueError, match=r"no \[Data\] section"):
        lm.read_mpms(p, mass_mg=1.0, molar_mass=1.0)
    q = tmp_path / "nomoment.dat"
    q.write_text("[Header]\n[Data]\nTemperature (K),Magnetic Field (Oe),Resistance (Ohm)\n1,2,3\n")
    with pytest.raises(ValueError, match="no moment column"):
        lm.read_mpms(q, mass_mg=1.0, molar_mass=1.0)
