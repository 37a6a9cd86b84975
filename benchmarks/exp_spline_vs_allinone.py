"""Indicative experiment: conditional INN of rational-quadratic spline blocks vs one of FrEIA
AllInOneBlocks (what the shipped "cinn" model uses), same embedding, same wall-clock budget.

Task: the Er3+ D, E benchmark (DESIGN.md): D ~ U(-10, 10) K, E ~ U(-20/3, 20/3) K, 128
temperatures geometric 2-300 K, zero-field powder chi, chi_dia ~ N(0, 0.002) emu/mol, relative
noise log-uniform in [0.1 %, 3 %] per curve. The network infers (D, E, chi_dia) and is told
log10(noise level) as an extra input. The clean curves of n_train parameter sets are simulated
once; chi_dia and the noise are redrawn for every batch (fresh augmentation).

Evaluation: n_test held-out parameter sets with their own chi_dia at exactly 1 % noise; per curve
n_samples posterior samples; median over curves of the median nearest-equivalent distance [K]
(ligandml.nearest_equivalent_distance); coverage of central 95 % intervals (ligandml.calibration)
of D, E, chi_dia and of the canonical D, E; TARP; test NLL.

This is an indication, not a benchmark: one seed, minutes of CPU, no tuning.

Run (two processes side by side under the same load, one thread each, then the evaluation):
    python benchmarks/exp_spline_vs_allinone.py train --flow spline --minutes 8 &
    python benchmarks/exp_spline_vs_allinone.py train --flow allinone --minutes 8 &
    wait; python benchmarks/exp_spline_vs_allinone.py evaluate
"""
from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results" / "spline_vs_allinone"
T_GRID = np.geomspace(2.0, 300.0, 128)
D_MAX, E_MAX, SIGMA_DIA = 10.0, 20.0 / 3.0, 0.002
NOISE_LO, NOISE_HI, TEST_NOISE = 1e-3, 3e-2, 1e-2


def simulate(n: int, seed: int):
    """Clean chi [emu/mol] (n, 128) and parameters D, E [K] of n prior draws."""
    import ligandml

    rng = np.random.default_rng(seed)
    D = rng.uniform(-D_MAX, D_MAX, n)
    E = rng.uniform(-E_MAX, E_MAX, n)
    chi = ligandml.powder_susceptibility("Er3+", {"D": D, "E": E}, T_GRID, backend="numpy")
    return chi, np.stack([D, E], axis=1)


def observe(rng, chi_clean, levels):
    """chi_dia draw, chiT_obs = chiT + chi_dia T with relative noise `levels`; returns
    (chiT_obs (n, 128) [emu K/mol], chi_dia (n,) [emu/mol])."""
    from ligandml.augmentation import apply_relative_noise

    chi_dia = SIGMA_DIA * rng.standard_normal(len(chi_clean))
    chiT = (chi_clean + chi_dia[:, None]) * T_GRID
    return apply_relative_noise(rng, chiT, levels), chi_dia


class Standardiser:
    def __init__(self, a):
        self.mean, self.sd = a.mean(axis=0), a.std(axis=0)

    def __call__(self, a):
        return (a - self.mean) / self.sd

    def inverse(self, a):
        return a * self.sd + self.mean


def build(flow: str, n_features: int, n_cond: int = 32, n_blocks: int = 6, hidden: int = 128):
    import FrEIA.framework as Ff
    import FrEIA.modules as Fm
    import torch
    from torch import nn

    from ligandml.nets.spline_coupling import spline_inn, spline_subnet

    embed = nn.Sequential(nn.Linear(n_features, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(),
                          nn.Linear(256, n_cond))
    if flow == "spline":
        inn = spline_inn(3, n_blocks=n_blocks, n_cond=n_cond + 1, hidden=hidden, bins=8, tail_bound=4.0)
    elif flow == "allinone":
        inn = Ff.SequenceINN(3)
        for _ in range(n_blocks):
            inn.append(Fm.AllInOneBlock, cond=0, cond_shape=(n_cond + 1,),
                       subnet_constructor=spline_subnet(hidden, 2), affine_clamping=2.0,
                       permute_soft=True)
    else:
        raise ValueError(f"flow must be 'spline' or 'allinone', got {flow!r}")
    return torch.nn.ModuleDict({"embed": embed, "inn": inn})


def condition(net, features, log_level):
    """Embedding of the curve features with log10(level) appended (also fed to the embedding)."""
    import torch

    return torch.cat([net["embed"](torch.cat([features, log_level], 1)), log_level], 1)


def train(args):
    import torch

    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed + 1)
    chi_clean, DE = simulate(args.n_train, seed=args.seed)
    # standardisers from one noisy pass over the training set
    chiT0, dia0 = observe(rng, chi_clean, np.full(len(chi_clean), TEST_NOISE))
    f_std = Standardiser(chiT0)
    x_std = Standardiser(np.column_stack([DE, dia0]))
    log_lo, log_hi = np.log10(NOISE_LO), np.log10(NOISE_HI)
    mid, half = 0.5 * (log_lo + log_hi), 0.5 * (log_hi - log_lo)

    net = build(args.flow, n_features=len(T_GRID) + 1)
    opt = torch.optim.Adam(net.parameters(), lr=args.lr)
    budget = 60.0 * args.minutes
    start, step, running, log = time.perf_counter(), 0, None, []
    while (elapsed := time.perf_counter() - start) < budget:
        for g in opt.param_groups:  # cosine decay over the wall-clock budget
            g["lr"] = args.lr * 0.5 * (1 + math.cos(math.pi * elapsed / budget))
        idx = rng.integers(0, len(chi_clean), args.batch)
        levels = np.exp(rng.uniform(np.log(NOISE_LO), np.log(NOISE_HI), args.batch))
        chiT, dia = observe(rng, chi_clean[idx], levels)
        feats = torch.as_tensor(f_std(chiT), dtype=torch.float32)
        ll = torch.as_tensor((np.log10(levels)[:, None] - mid) / half, dtype=torch.float32)
        x = torch.as_tensor(x_std(np.column_stack([DE[idx], dia])), dtype=torch.float32)
        z, logdet = net["inn"](x, c=[condition(net, feats, ll)])
        loss = (0.5 * (z ** 2).sum(1) - logdet).mean()
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 10.0)
        opt.step()
        step += 1
        running = loss.item() if running is None else 0.98 * running + 0.02 * loss.item()
        if step % 200 == 0:
            log.append((round(elapsed, 1), step, round(running, 4)))
            print(f"{args.flow}: {elapsed:6.0f} s step {step} nll {running:.3f}", flush=True)

    # held-out curves at exactly 1 % noise
    chi_test, DE_test = simulate(args.n_test, seed=args.seed + 1000)
    test_rng = np.random.default_rng(args.seed + 2000)  # the same test curves for every flow
    chiT_test, dia_test = observe(test_rng, chi_test, np.full(args.n_test, TEST_NOISE))
    truths = np.column_stack([DE_test, dia_test])
    net.eval()
    with torch.no_grad():
        feats = torch.as_tensor(f_std(chiT_test), dtype=torch.float32)
        ll = torch.full((args.n_test, 1), (np.log10(TEST_NOISE) - mid) / half)
        cond = condition(net, feats, ll)
        x = torch.as_tensor(x_std(truths), dtype=torch.float32)
        z, logdet = net["inn"](x, c=[cond])
        # NLL per curve in the original units (nats; + log prod sd of the standardisation)
        nll = 0.5 * (z ** 2).sum(1) - logdet + 1.5 * math.log(2 * math.pi) + np.log(x_std.sd).sum()
        gen = torch.Generator().manual_seed(args.seed + 3000)
        samples = np.empty((args.n_test, args.n_samples, 3))
        for i in range(args.n_test):
            zs = torch.randn(args.n_samples, 3, generator=gen)
            xs = net["inn"](zs, c=[cond[i:i + 1].expand(args.n_samples, -1)], rev=True)[0]
            samples[i] = x_std.inverse(xs.double().numpy())
    RESULTS.mkdir(parents=True, exist_ok=True)
    n_params = sum(p.numel() for p in net.parameters())
    np.savez_compressed(RESULTS / f"{args.flow}.npz", samples=samples, truths=truths,
                        nll=nll.double().numpy())
    meta = dict(flow=args.flow, minutes=args.minutes, steps=step, batch=args.batch, lr=args.lr,
                n_train=args.n_train, n_test=args.n_test, n_samples=args.n_samples,
                n_weights=n_params, seed=args.seed, loss_log=log)
    (RESULTS / f"{args.flow}.json").write_text(json.dumps(meta, indent=1))
    print(json.dumps({k: v for k, v in meta.items() if k != "loss_log"}))


def evaluate(args):
    from ligandml import calibration
    from ligandml.parameters import canonical_DE, nearest_equivalent_distance

    rows = []
    for flow in ("spline", "allinone"):
        path = RESULTS / f"{flow}.npz"
        if not path.exists():
            print(f"{flow}: no results at {path}")
            continue
        data = np.load(path)
        samples, truths = data["samples"], data["truths"]
        meta = json.loads((RESULTS / f"{flow}.json").read_text())
        err = np.array([np.median(nearest_equivalent_distance(s[:, 0], s[:, 1], t[0], t[1]))
                        for s, t in zip(samples, truths)])
        cov = calibration.coverage(samples, truths, levels=(0.68, 0.95))
        Dc, Ec = canonical_DE(samples[..., 0], samples[..., 1])
        Dt, Et = canonical_DE(truths[:, 0], truths[:, 1])
        canon = calibration.coverage(np.stack([Dc, Ec], -1), np.column_stack([Dt, Et]), levels=(0.95,))
        tarp = calibration.tarp(samples, truths, seed=0)
        sbc = calibration.sbc_ranks(samples, truths)
        rows.append(dict(flow=flow, steps=meta["steps"], minutes=meta["minutes"], weights=meta["n_weights"],
                         median_err_K=float(np.median(err)), mean_err_K=float(np.mean(err)),
                         test_nll=float(np.mean(data["nll"])),
                         cov95_D=cov[0.95][0], cov95_E=cov[0.95][1], cov95_dia=cov[0.95][2],
                         cov68_D=cov[0.68][0], cov68_E=cov[0.68][1], cov68_dia=cov[0.68][2],
                         cov95_Dcan=canon[0.95][0], cov95_Ecan=canon[0.95][1],
                         tarp_atc=tarp.atc, tarp_ks_p=tarp.ks_pvalue,
                         sbc_p=[round(p, 4) for p in calibration.sbc_uniformity(sbc.ranks, sbc.n_samples)]))
        calibration.calibration_plot(samples, truths, RESULTS / f"calibration_{flow}.png",
                                     names=("D", "E", "chi_dia"), title=f"{flow} flow, 1 % noise")
    for r in rows:
        print(json.dumps(r))
    (RESULTS / "summary.json").write_text(json.dumps(rows, indent=1))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("what", choices=("train", "evaluate"))
    p.add_argument("--flow", choices=("spline", "allinone"), default="spline")
    p.add_argument("--minutes", type=float, default=8.0)
    p.add_argument("--n-train", type=int, default=20000)
    p.add_argument("--n-test", type=int, default=200)
    p.add_argument("--n-samples", type=int, default=1000)
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    train(args) if args.what == "train" else evaluate(args)


if __name__ == "__main__":
    main()
