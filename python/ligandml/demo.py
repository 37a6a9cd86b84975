"""The demo: the benchmark curves of DESIGN.md (ligandml.benchmark_task, computed from the physics)
run through a trained model, with a report per curve (ligandml.report)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from . import real_data as _real_data
from .benchmark_task import BENCHMARK_CURVES, benchmark_curve
from .report import demo_table_markdown, posterior_summary, write_posterior_report


def _truth(name: str) -> dict:
    c = BENCHMARK_CURVES[name]
    return {"D": c.D, "E": c.E, "chi_dia": c.chi_dia, "s_m": c.s_m}


def _noise_free_level(model):
    """The noise level to tell a noise-aware model for the demo's noise-free benchmark curves: the
    low end of its trained range (relative); None for a model without a noise input."""
    if not getattr(model.net, "n_noise", 0):
        return None
    return float(model.noise_range[0][0])


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
        post = model.predict(T, chi, n_samples=n_samples, seed=seed, noise=_noise_free_level(model))
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
#: the er-d3d test sets of DESIGN.md [K] and their errors (one definition: ligandml.real_data)
ER_D3D_TEST_SETS = _real_data.ER_D3D_TEST_SETS
ER_D3D_CHI_DIA, ER_D3D_NOISE = _real_data.ER_D3D_TEST_ERRORS["chi_dia"], _real_data.ER_D3D_TEST_ERRORS["noise"]


def read_kerse2_crystal(folder) -> dict:
    """{observable name: (x, y)} of the measured KErSe2 crystal data (Scheie et al. 2020) in
    `folder` (../shared/data/real), read by ligandml.real_data: chi(T) [emu/mol Er] for H in the
    ab plane and along c (the authors' comparison field, 1 T) and M(H) [muB/Er] at 2 K along ab
    and c; each sorted, non-finite rows dropped, repeated x (to 1e-3) averaged.
    FileNotFoundError when a file is absent."""
    from .curves import merge_repeats
    from .real_data import read_kerse2_chi, read_kerse2_magnetization

    def clean(x, y):  # real_data gives them sorted and finite; average x repeated within 1e-3
        return merge_repeats(x, y, 1e-3, average=True)[:2]

    chi, mag = read_kerse2_chi(folder), read_kerse2_magnetization(folder)
    return {"chi_plane_1T": clean(*chi["plane"]), "chi_z_1T": clean(*chi["z"]),
            "M_plane_2K": clean(*mag["plane"]), "M_z_2K": clean(*mag["z"])}


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


def run_er_d3d_demo(out, model=None, n_samples: int = 2000, seed: int = 0, measured: dict | None = None,
                    laplace: bool = True) -> pd.DataFrame:
    """The er-d3d model (default: the shipped one) on the three test sets of DESIGN.md
    (er_d3d_test_observables) and, given `measured` ({observable name: (x, y)}, e.g. the
    KErSe2 crystal data), on measured data: a report per case under out/<name>/ (corner plot,
    folded, with the truth or published set marked) and out/summary.md. Returns a table:
    median distance of the samples to the nearest equivalent of the truth [prior-box widths],
    share of samples within 0.05 box widths of it, and the share of each equivalent; with
    laplace, on the three test sets (known noise) also the posterior sharpened by
    ligandml.laplace (its report under out/<name>-laplace/, its median distance and seconds)."""
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
        row = {"case": name, "median_distance_box_widths": float(np.median(d)),
               "within_0.05": float(np.mean(d < 0.05)),
               "equivalent_shares": ", ".join(f"{f:.2f}" for f in fr)}
        parts.append(posterior_summary(post, name, truth))
        if laplace and name in ER_D3D_TEST_SETS:  # known noise: sharpen to the exact likelihood
            sharp = post.laplace(noise_rel=noise, seed=seed)
            write_posterior_report(sharp, out / f"{name}-laplace", f"{name}, network + least squares + "
                                   "Laplace", truth, fold=True)
            d = sharp.nearest_distance(truth)
            row.update({"laplace_median_distance": float(np.median(d)),
                        "laplace_seconds": float(sharp.info["seconds"])})
            parts.append(f"Sharpened (network + least squares + Laplace, {sharp.info['seconds']:.0f} s): "
                         f"{sharp.info['n_minima']} minima with twins, median distance to the nearest "
                         f"equivalent of the truth {np.median(d):.2g} box widths; report in "
                         f"{name}-laplace/.\n")
        rows.append(row)
    table = pd.DataFrame(rows)
    parts += ["## all cases", "", "| case | median distance to nearest equivalent (box widths) | "
              "samples within 0.05 | share per equivalent | the same, sharpened (Laplace) |",
              "|---|---|---|---|---|"]
    parts += [f"| {r['case']} | {r['median_distance_box_widths']:.3f} | {r['within_0.05']:.2f} | "
              f"{r['equivalent_shares']} | "
              + (f"{r['laplace_median_distance']:.2g} ({r['laplace_seconds']:.0f} s)"
                 if pd.notna(r.get("laplace_median_distance", np.nan)) else "-") + " |"
              for _, r in table.iterrows()]
    (out / "summary.md").write_text("\n".join(parts) + "\n")
    return table
