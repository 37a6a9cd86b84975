"""Reading measured curves (ligandml.curves): invalid rows, repeats, size limits, encodings."""
from __future__ import annotations

import tracemalloc
import warnings

import numpy as np
import pytest

from ligandml.curves import CurveFileError, read_curve, read_curve_data

T8 = np.geomspace(2, 300, 12)


def write_csv(path, rows, header="T,chi"):
    path.write_text(header + "\n" + "\n".join(rows) + "\n")
    return path


def good_rows():
    return [f"{t!r},{1 / t!r}" for t in map(float, T8)]


def test_text_nan_and_inf_rows_are_one_error_naming_the_lines(tmp_path):
    rows = good_rows()
    rows[3], rows[5], rows[7] = "5.0,nan", "6.0,inf", "7.0,--"
    path = write_csv(tmp_path / "c.csv", rows)
    with pytest.raises(ValueError, match=r"3 row\(s\) hold text, NaN or inf .*lines 5, 7, 9\).*"
                                         r"drop_invalid=True") as err:
        read_curve(path)
    assert "\n" not in str(err.value)
    with pytest.warns(UserWarning, match="dropped 3 invalid row"):
        data = read_curve_data(path, drop_invalid=True)
    assert data.n_dropped == 3 and data.dropped_lines == (5, 7, 9) and data.T.size == 9


def test_header_lines_are_not_invalid_rows(tmp_path):
    path = tmp_path / "h.txt"
    path.write_text("sample X\nT (K)\tchi (emu/mol)\n" + "\n".join(r.replace(",", "\t") for r in good_rows()))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        T, chi = read_curve(path)
    assert np.allclose(T, T8) and np.allclose(chi, 1 / T8)


def test_repeated_temperatures_error_or_average(tmp_path):
    rows = good_rows() + ["2.0,0.6", "2.004,0.7"]
    path = write_csv(tmp_path / "r.csv", rows)
    with pytest.raises(ValueError, match=r"1 temperatures are repeated \(2 extra points within "
                                         r"0.01 K; e.g. 2 K x3\).*average_repeats=True"):
        read_curve(path)
    data = read_curve_data(path, average_repeats=True, repeat_tol_K=0.01)
    assert data.n_merged == 2 and data.T.size == T8.size
    assert data.values[0] == pytest.approx((0.5 + 0.6 + 0.7) / 3)
    assert data.T[0] == pytest.approx((2.0 + 2.0 + 2.004) / 3)


def test_a_huge_file_is_refused_early_and_reading_streams(tmp_path):
    n = 1_500_000  # ~ 20 MB of text: above the row limit
    path = tmp_path / "big.csv"
    with open(path, "w") as fh:
        fh.write("T,chi\n")
        fh.writelines(f"{i + 1},{1.0 / (i + 1):.6g}\n" for i in range(n))
    tracemalloc.start()
    with pytest.raises(CurveFileError, match=r"a susceptibility curve has hundreds of points, this "
                                             r"file has more than 1,000,000 rows"):
        read_curve(path)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 60e6  # two float arrays of 1e6 rows are 16 MB; a list of rows would be ~200 MB
    with pytest.raises(CurveFileError, match=r"this file has \d+ MB \(limit 1 MB\)"):
        read_curve(path, max_bytes=1024**2)


def test_utf16_binary_directory_and_missing_files(tmp_path):
    text = "T,chi\n" + "\n".join(good_rows()) + "\n"
    (tmp_path / "u16.csv").write_text(text, encoding="utf-16")
    with pytest.raises(CurveFileError, match="file is UTF-16; save as UTF-8"):
        read_curve(tmp_path / "u16.csv")
    (tmp_path / "u16le.csv").write_bytes(text.encode("utf-16-le"))  # no byte-order mark
    with pytest.raises(CurveFileError, match="UTF-16"):
        read_curve(tmp_path / "u16le.csv")
    (tmp_path / "bin.dat").write_bytes(bytes(range(256)) * 8)
    with pytest.raises(CurveFileError, match="binary file"):
        read_curve(tmp_path / "bin.dat")
    with pytest.raises(CurveFileError, match="is a directory, not a curve file"):
        read_curve(tmp_path)
    with pytest.raises(FileNotFoundError, match="no such curve file"):
        read_curve(tmp_path / "missing.csv")
    assert issubclass(CurveFileError, ValueError)
    (tmp_path / "bom.csv").write_text(text, encoding="utf-8-sig")  # a UTF-8 BOM is fine
    assert np.allclose(read_curve(tmp_path / "bom.csv")[0], T8)


def test_measured_kerse2_file_needs_both_options_and_matches_pandas(real_data):
    from conftest import read_kerse2_powder_chi

    path = real_data / "KErSe2_chi_T.dat"
    with pytest.raises(ValueError, match="680 row"):
        read_curve(path)
    with pytest.warns(UserWarning):
        data = read_curve_data(path, drop_invalid=True, average_repeats=True)
    T_ref, chi_ref = read_kerse2_powder_chi(real_data)
    assert data.T.size + data.n_merged == T_ref.size
    # averaging keeps every point's weight: the sums agree
    assert np.sum(chi_ref) == pytest.approx(np.sum(data.values * _group_sizes(T_ref, data.T)), rel=1e-12)


def _group_sizes(T_ref, T_means, tol=0.01):
    Ts = np.sort(T_ref)
    sizes, start, k = [], Ts[0], 1
    for t in Ts[1:]:
        if t - start <= tol:
            k += 1
        else:
            sizes.append(k)
            start, k = t, 1
    sizes.append(k)
    assert len(sizes) == T_means.size
    return np.array(sizes)
