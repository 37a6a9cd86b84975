"""The reports people read: the posterior report of `ligandml predict` and `ligandml demo`
(posterior.png, samples.csv, summary.md) and the comparison report of `ligandml compare`
(table.md, table.csv, solutions_<method>.csv, posteriors.png), with their markdown helpers.
Figures come from ligandml.plots; numbers from the posterior (ligandml.posterior.SampleSet) and
ligandml.comparison.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

#: units of the posterior columns, for the summaries
UNITS = {"D": "K", "E": "K", "chi_dia": "emu/mol", "s_m": ""}


def markdown_table(df: pd.DataFrame, floatfmt: str = ".4g") -> str:
    """A DataFrame as a markdown table; floats formatted with floatfmt, everything else as str."""
    cols = list(df.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for _, row in df.iterrows():
        cells = []
        for c in cols:
            v = row[c]
            cells.append(format(v, floatfmt) if isinstance(v, (float, np.floating)) else str(v))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


# ----------------------------------------------------------------------------- one posterior
def unit_of(column: str) -> str:
    """The unit of a posterior column: K for D, E and every Stevens parameter, emu/mol for chi_dia."""
    return UNITS.get(column, "K" if column.startswith("B") else "")


def posterior_summary(post, name: str = "input", truth: dict | None = None) -> str:
    """A short markdown summary of a posterior (a SampleSet): clusters, canonical median with 90 %
    interval, nuisances, and (given truth: D, E [K], chi_dia [emu/mol]) the distance to the
    nearest true equivalent [K]. Other parameter sets than D, E: summary_nd."""
    if not post.is_DE:
        return summary_nd(post, name, truth)
    info = getattr(post, "info", {}) or {}
    can = post.canonical()
    lines = [f"## {name}", "",
             f"Model: {info.get('kind')} "
             f"({len(post.samples)} samples; ion {post.ion.name}; "
             f"field {'zero' if post.field is None else f'{post.field} T'}).", ""]
    q = can.quantile([0.05, 0.5, 0.95])
    lines += ["Canonical (0 <= E <= |D|/3) posterior: median [5 %, 95 %]", ""]
    for c in can.columns:
        lines.append(f"- {c} = {q.loc[0.5, c]:.4g} [{q.loc[0.05, c]:.4g}, {q.loc[0.95, c]:.4g}] {UNITS.get(c, '')}")
    cl = post.clusters()
    lines += ["", "Distinct solutions (clusters in the D-E plane):", "",
              "| D (K) | E (K) | weight | D std (K) | E std (K) |", "|---|---|---|---|---|"]
    for _, r in cl.iterrows():
        lines.append(f"| {r['D']:.2f} | {r['E']:.2f} | {r['weight']:.2f} | {r['D_std']:.2f} | {r['E_std']:.2f} |")
    if truth is not None:
        d = post.nearest_distance(truth["D"], truth["E"])
        fr = post.equivalent_fractions(truth["D"], truth["E"])
        lines += ["", f"Truth: D = {truth['D']} K, E = {truth['E']} K, chi_dia = {truth.get('chi_dia', 0)} emu/mol.",
                  f"Median distance to the nearest true equivalent: {np.median(d):.3f} K "
                  f"(90 % of samples within {np.percentile(d, 90):.3f} K); "
                  f"equivalents holding >= 5 % of samples: {(fr >= 0.05).sum()} of 6 "
                  f"(fractions {', '.join(f'{f:.2f}' for f in fr)})."]
    return "\n".join(lines + _ood_lines(info)) + "\n"


def _ood_lines(info: dict) -> list:
    """The report's out-of-distribution warning (empty when the input was inside)."""
    if info.get("ood_excess", 0) > 0:
        return ["", f"Warning: the input lies outside the training distribution "
                    f"(excess {info['ood_excess']:.3g})."]
    return []


def summary_nd(post, name: str = "input", truth: dict | None = None) -> str:
    """The markdown summary of a posterior over any parameters (Stevens names, [K]): observables,
    canonical (folded) median with 90 % interval, the distinct solutions (clusters standardised
    by the prior box width), the prior-box share, and with truth (a dict of the parameters [K])
    the distance to its nearest equivalent in box widths and the share of samples per equivalent."""
    info = getattr(post, "info", {}) or {}
    names = post.parameter_names
    can = post.canonical()
    lines = [f"## {name}", "",
             f"Model: {info.get('kind')} ({len(post.samples)} samples; ion {post.ion.name}; "
             f"parameters {', '.join(names)})."]
    if post.observable_index:
        from .model_observables import describe
        lines.append(f"Observables: {describe(post.observable_index)}.")
    else:
        lines.append(f"Observable: powder chi(T), field {'zero' if post.field is None else f'{post.field} T'}.")
    if "noise" in info:
        lines.append(f"Noise level told to the network: {', '.join(f'{v:.3g}' for v in info['noise'])}"
                     + (" (assumed)" if info.get("noise_assumed") else "") + ".")
    q = can.quantile([0.05, 0.5, 0.95])
    lines += ["", "Canonical (folded to one member of each class of equivalent sets) posterior: "
              "median [5 %, 95 %]", ""]
    for c in can.columns:
        lines.append(f"- {c} = {q.loc[0.5, c]:.4g} [{q.loc[0.05, c]:.4g}, {q.loc[0.95, c]:.4g}] {unit_of(c)}")
    cl = post.clusters_nd()
    cols = names + ["weight"]
    lines += ["", "Distinct solutions (clusters of the samples as drawn, standardised by the prior box "
                  "width; medians in K):", "", markdown_table(cl[cols].head(10))]
    lines += ["", f"Prior box: {post.prior_box_report().message}."]
    if truth is not None:
        t = {n: float(truth[n]) for n in names}
        d = post.nearest_distance(t)
        fr = post.equivalent_fractions(t)
        lines += ["", "Truth: " + ", ".join(f"{n} = {t[n]:.4g}" for n in names) + " K.",
                  f"Median distance to the nearest true equivalent: {np.median(d):.3f} prior-box widths "
                  f"(90 % of samples within {np.percentile(d, 90):.3f}); share of samples nearest to each of "
                  f"the {len(fr)} equivalent set(s): {', '.join(f'{f:.2f}' for f in fr)}."]
    return "\n".join(lines + _ood_lines(info)) + "\n"


def write_posterior_report(post, out, name: str = "input", truth: dict | None = None,
                           fold: bool = False) -> Path:
    """Write posterior.png, samples.csv and summary.md for one network posterior into folder `out`.
    truth: D, E [K] (chi_dia) for the D, E form, else a dict of the parameters [K] (the published
    set, say), marked in the corner plot; fold: draw the canonical samples (N parameters)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if not post.is_DE:
        post.plot(truth=truth, path=out / "posterior.png", title=name, fold=fold)
        post.samples.to_csv(out / "samples.csv", index=False)
        (out / "summary.md").write_text(posterior_summary(post, name, truth))
        return out
    truth_DE = (truth["D"], truth["E"]) if truth is not None else None
    post.plot(truth=truth_DE, path=out / "posterior.png", title=name)
    post.samples.to_csv(out / "samples.csv", index=False)
    (out / "summary.md").write_text(posterior_summary(post, name, truth))
    return out


def demo_table_markdown(table: pd.DataFrame) -> list:
    """Markdown lines of the demo's closing table (columns curve, median_distance_K [K],
    equivalents_ge_5pct)."""
    lines = ["## all curves", "", "| curve | median distance to nearest equivalent (K) | equivalents >= 5 % |",
             "|---|---|---|"]
    return lines + [f"| {r.curve} | {r.median_distance_K:.3f} | {r.equivalents_ge_5pct} |"
                    for r in table.itertuples()]


# ----------------------------------------------------------------------------- comparison
def write_comparison_report(results: list, directory, truth: dict | None = None,
                            title: str = "ligandml compare") -> Path:
    """Write table.md, table.csv, solutions_<method>.csv and a D-E scatter figure (posteriors.png)
    for the MethodResults of ligandml.comparison into directory."""
    from .comparison import results_table
    from .plots import comparison_figure

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    table = results_table(results, truth)
    table.to_csv(directory / "table.csv", index=False)
    (directory / "table.md").write_text("\n".join([f"# {title}", "", markdown_table(table), ""]))
    for r in results:
        slug = "".join(ch if ch.isalnum() else "_" for ch in r.method).strip("_")
        if r.solutions is not None:
            r.solutions.to_csv(directory / f"solutions_{slug}.csv", index=False)
    comparison_figure(results, directory / "posteriors.png", truth)
    return directory
