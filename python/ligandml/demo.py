"""The demo: the benchmark curves of DESIGN.md (ligandml.benchmark_task, computed from the physics)
run through a trained model, with a report per curve (ligandml.report)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .benchmark_task import BENCHMARK_CURVES, benchmark_curve
from .report import demo_table_markdown, posterior_summary, write_posterior_report


def _truth(name: str) -> dict:
    c = BENCHMARK_CURVES[name]
    return {"D": c.D, "E": c.E, "chi_dia": c.chi_dia, "s_m": c.s_m}


def run_demo(out, model=None, n_samples: int = 1000, seed: int = 0) -> pd.DataFrame:
    """Predict the three benchmark curves with `model` (default: the shipped model) and write a report
    per curve under out/<name>/ plus out/summary.md. Returns a table of median distances [K] and
    the number of equivalents holding >= 5 % of the samples."""
    from .julia_import import torch_safe_backend
    from .model import load_model
    model = load_model() if model is None else model
    out = Path(out)
    rows, parts = [], ["# ligandml demo: the three benchmark curves of DESIGN.md", ""]
    for name in BENCHMARK_CURVES:
        truth = _truth(name)
        T, chi = benchmark_curve(name, model.T, backend=torch_safe_backend())
        post = model.predict(T, chi, n_samples=n_samples, seed=seed)
        write_posterior_report(post, out / name, name, truth)
        d = post.nearest_distance(truth["D"], truth["E"])
        fr = post.equivalent_fractions(truth["D"], truth["E"])
        rows.append({"curve": name, "median_distance_K": float(np.median(d)),
                     "equivalents_ge_5pct": int((fr >= 0.05).sum())})
        parts.append(posterior_summary(post, name, truth))
    table = pd.DataFrame(rows)
    parts += demo_table_markdown(table)
    (out / "summary.md").write_text("\n".join(parts) + "\n")
    return table


# ----------------------------------------------------------------------------- er-d3d
#: the er-d3d test sets of DESIGN.md [K] ("kerse2": the published KErSe2 set converted from meV)
ER_D3D_TEST_SETS = {
    "kerse2": {n: v * 11.604518 for n, v in
               {"B20": -2.772780224706159e-2, "B40": -3.986791337847824e-4, "B43": -1.4164750780259892e-2,
                "B60": 3.152118222727135e-6, "B63": -7.615963268822789e-6,
                "B66": 3.2752689577855864e-5}.items()},
    "d3d-a": {"B20": 0.8, "B40": 6e-3, "B43": -0.12, "B60": -6e-5, "B63": 1.2e-3, "B66": -9e-4},
    "d3d-b": {"B20": -1.2, "B40": -2e-3, "B43": 0.05, "B60": 8e-5, "B63": -5e-4, "B66": 1.0e-3},
}
#: the errors of the er-d3d test curves (DESIGN.md): chi_dia [emu/mol], s_m, relative noise
ER_D3D_CHI_DIA, ER_D3D_NOISE = 0.001, 0.005


def read_kerse2_crystal(folder) -> dict:
    """{observable name: (x, y)} of the measured KErSe2 crystal data (Scheie et al. 2020) in
    `folder` (../shared/data/real): chi(T) [emu/mol Er] for H in the ab plane and along c from
    KErSe2_chi_T.dat (the authors' comparison field, 1 T) and M(H) [muB/Er] at 2 K along ab and
    c from KErSe2_M_H_2K.txt; each sorted, non-finite rows dropped, repeated x averaged.
    FileNotFoundError when a file is absent."""
    folder = Path(folder)

    def clean(x, y):
        ok = np.isfinite(x) & np.isfinite(y)
        ux, inv = np.unique(np.round(x[ok], 3), return_inverse=True)
        return ux, np.bincount(inv, weights=y[ok]) / np.bincount(inv)

    rows = []
    for line in (folder / "KErSe2_chi_T.dat").read_text().splitlines()[2:]:
        cells = [c.strip() for c in line.split("\t")[:9]]
        rows.append([float(c) if c not in ("", "--") else np.nan for c in cells] + [np.nan] * (9 - len(cells)))
    a = np.array(rows)
    m = np.loadtxt(folder / "KErSe2_M_H_2K.txt")
    return {"chi_plane_1T": clean(a[:, 3], a[:, 4]), "chi_z_1T": clean(a[:, 6], a[:, 7]),
            "M_plane_2K": clean(m[0], m[1]), "M_z_2K": clean(m[2], m[3])}


def er_d3d_test_observables(model, name: str, seed: int = 0) -> dict:
    """{observable name: (x, y)} of an er-d3d test set (ER_D3D_TEST_SETS) on the model's grids:
    the physics with chi_dia = 0.001 emu/mol, s_m = 1 and 0.5 % relative Gaussian noise per
    point (seeded), chi [emu/mol], M [muB/ion]."""
    from .model_observables import simulate_observables, split_row
    truth = ER_D3D_TEST_SETS[name]
    pars = {n: np.array([truth[n]]) for n in model.param_names if n in truth}
    row = simulate_observables(model.ion, pars, model.observables, ER_D3D_CHI_DIA, 1.0,
                               model.point_group)[0]
    rng = np.random.default_rng([seed, sum(map(ord, name))])
    row = row * (1 + ER_D3D_NOISE * rng.standard_normal(row.shape))
    return {n: (np.asarray(model.observables[n]["grid"]), y) for n, y in split_row(row, model.observables).items()}


def run_er_d3d_demo(out, model=None, n_samples: int = 2000, seed: int = 0, measured: dict | None = None) -> pd.DataFrame:
    """The er-d3d model (default: the shipped one) on the three test sets of DESIGN.md
    (er_d3d_test_observables) and, given `measured` ({observable name: (x, y)}, e.g. the
    KErSe2 crystal data), on measured data: a report per case under out/<name>/ (corner plot,
    folded, with the truth or published set marked) and out/summary.md. Returns a table:
    median distance of the samples to the nearest equivalent of the truth [prior-box widths],
    share of samples within 0.05 box widths of it, and the share of each equivalent."""
    from .model import load_model
    model = load_model("er-d3d") if model is None else model
    out = Path(out)
    cases = {name: (er_d3d_test_observables(model, name, seed), ER_D3D_TEST_SETS[name], ER_D3D_NOISE)
             for name in ER_D3D_TEST_SETS}
    if measured is not None:
        cases["kerse2-measured"] = (measured, ER_D3D_TEST_SETS["kerse2"], 0.02)
    rows, parts = [], ["# ligandml demo: the er-d3d model (Er3+, D3d, six Stevens parameters)", ""]
    for name, (obs, truth, noise) in cases.items():
        post = model.predict(observables=obs, n_samples=n_samples, seed=seed, noise=noise, force=True)
        write_posterior_report(post, out / name, name, truth, fold=True)
        d = post.nearest_distance(truth)
        fr = post.equivalent_fractions(truth)
        rows.append({"case": name, "median_distance_box_widths": float(np.median(d)),
                     "within_0.05": float(np.mean(d < 0.05)),
                     "equivalent_shares": ", ".join(f"{f:.2f}" for f in fr)})
        parts.append(posterior_summary(post, name, truth))
    table = pd.DataFrame(rows)
    parts += ["## all cases", "", "| case | median distance to nearest equivalent (box widths) | "
              "samples within 0.05 | share per equivalent |", "|---|---|---|---|"]
    parts += [f"| {r.case} | {r.median_distance_box_widths:.3f} | {r._3:.2f} | {r.equivalent_shares} |"
              for r in table.itertuples()]
    (out / "summary.md").write_text("\n".join(parts) + "\n")
    return table
