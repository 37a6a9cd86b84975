"""The shipped er-d3d model on the measured KErSe2 crystal data (../shared/data/real).

python benchmarks/er_d3d_kerse2_predict.py [MODEL] [--out DIR] [--noise 0.02]

Reads chi(T) for H in the ab plane and along c (KErSe2_chi_T.dat, emu/mol Er; the authors'
comparison field is 1 T) and M(H) at 2 K along ab and c (KErSe2_M_H_2K.txt, muB/Er), predicts
with ligandml.load_model("er-d3d") (or MODEL), and prints the canonical posterior with 95 %
intervals next to the published set (meV -> K, folded to B43 >= 0), whether each published value
lies inside its interval, the time of predict, and the misfit of the canonical median. With --out
it writes the report (corner plot with the published set marked, predictive curves).
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "real"
PUBLISHED_MEV = {"B20": -2.772780224706159e-2, "B40": -3.986791337847824e-4, "B43": -1.4164750780259892e-2,
                 "B60": 3.152118222727135e-6, "B63": -7.615963268822789e-6, "B66": 3.2752689577855864e-5}


def main() -> None:
    import torch

    import ligandml
    from ligandml.constants import kelvin_per
    from ligandml.folding import fold

    torch.set_num_threads(1)
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("model", nargs="?", default="er-d3d")
    p.add_argument("--out", default=None)
    p.add_argument("--noise", default="0.02", help="relative noise told to the model (default 2 %%)")
    p.add_argument("--n-samples", type=int, default=5000)
    args = p.parse_args()
    model = ligandml.load_model(args.model)
    from ligandml.demo import read_kerse2_crystal
    measured = read_kerse2_crystal(DATA)
    measured = {k: v for k, v in measured.items() if k in model.observables}
    t0 = time.perf_counter()
    post = model.predict(observables=measured, n_samples=args.n_samples, seed=0, noise=args.noise, force=True)
    seconds = time.perf_counter() - t0
    names = post.parameter_names
    pub = np.array([PUBLISHED_MEV[n] * kelvin_per("meV") for n in names])
    pub_c = fold(pub[None], names, post.observables)[0]
    can = post.canonical()
    print(f"predict: {seconds:.3f} s for {args.n_samples} samples; noise told: {post.info.get('noise')}")
    print(f"{'name':6s} {'published (canonical) K':>24s} {'median':>12s} {'2.5 %':>12s} {'97.5 %':>12s} inside")
    inside = []
    for j, n in enumerate(names):
        lo, med, hi = np.percentile(can[n], [2.5, 50, 97.5])
        inside.append(lo <= pub_c[j] <= hi)
        print(f"{n:6s} {pub_c[j]:24.5g} {med:12.5g} {lo:12.5g} {hi:12.5g} {inside[-1]}")
    print(f"published set inside every marginal 95 % interval: {all(inside)}")
    print(f"prior box: {post.prior_box_report().message}")
    print(f"fit of the canonical median at 5 %: {post.misfit(noise_rel=0.05).message}")
    if args.out:
        from ligandml.report import write_posterior_report
        write_posterior_report(post, args.out, "KErSe2 (measured, crystal)", dict(zip(names, pub)), fold=True)
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
