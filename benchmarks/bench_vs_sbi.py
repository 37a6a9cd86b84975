"""Benchmark against sbi: sbi 0.27 NPE (neural spline flow, its defaults, batch 512) and our
configuration, trained on the same data for the same wall-clock minutes, evaluated side by side.

Training (two processes started together, one CPU thread each, so that they share the machine
equally; each records its wall-clock and CPU seconds):
- data: the training split of the D, E dataset (`ligandml dataset generate --out er_de.zarr`:
  57,000 sets x 11 curves, D, E uniform on the box, chi_dia ~ N(0, 0.002) emu/mol);
- the same measurement-noise augmentation for both: a relative level per curve, log-uniform in
  [0.1 %, 3 %], Gaussian noise level |chi| per point, drawn afresh for every batch (sbi: by a
  training loader that replaces sbi's; its validation set and z-scoring use one fixed draw), the
  level given to the network as log10(level) (sbi: an extra input feature); a model kind that
  is not noise-aware gets one fixed noise draw per curve and no level (said in the output);
- sbi: `NPE(prior, density_estimator="nsf")`, `train(training_batch_size=512)`, everything else
  its defaults (lr 5e-4, 10 % of the training split held out for validation, stop after 20
  epochs without improvement); prior D, E uniform on the box, chi_dia ~ N(0, 0.002); the budget
  ends the epoch that is running when it expires (the rest of that epoch is skipped), then the
  best-validation weights are kept, as sbi does at convergence;
- ours: `ligandml.training.train_model` with the configuration of --config (a train.toml; default
  the shipped cinn configuration), `time_limit_s` = the budget, epochs unbounded (the budget and
  the configuration's early stopping end it), validation on 20,000 curves of the test split.

Evaluation (in the parent process, one thread, after both have finished):
- 200 held-out curves at 1 % noise and 200 noise-free (D, E uniform on the box, chi_dia ~ N(0,
  0.002), s_m = 1; the curves of benchmarks/bench_compare.py): median over curves of the median
  nearest-equivalent distance of the samples [K] (err_median; the table of issue 12) and of the
  canonical-median point estimate (err_point); share of curves where every equivalent inside the
  box holds >= 1 % of the samples within 0.5 K (ligandml.comparison's rule); coverage of central
  68 / 95 % intervals of canonical D, E and chi_dia (ligandml.calibration, binomial sd); seconds
  per curve (1000 samples). Noise-aware models are told 1 % on noisy curves and 0.1 % (the low end
  of the trained range; the exact posterior assumes the same) on noise-free ones.
- the three benchmark curves at 1 % noise: C2ST of each posterior against the exact grid posterior
  (ligandml.grid_posterior; 2000 samples each; 5-fold random forest, sbi's default), the
  errors per curve, and the Cramer-Rao floor (ligandml.cramer_rao) beside them.
- pre-trained model folders (--reference LABEL=PATH; by default the shipped model and the
  faithful VAE-INN of studies/sigma_dia, the paper's configuration) are evaluated beside, not
  retrained; the exact grid posterior on the noisy held-out curves too (--no-grid-heldout skips it).

Run (the lead's full benchmark, about 15 + 12 minutes on 2 cores):
    ligandml dataset generate --out /work/data/sbi/er_de.zarr
    nice -n 5 python benchmarks/bench_vs_sbi.py --data /work/data/sbi/er_de.zarr --minutes 15 \\
        --config python/ligandml/configs/<flow's>.toml --out-model /work/data/sbi/ours_model
Reuse trained models: --ours-model PATH (a ligandml model folder) and/or --sbi-model PATH (the
pickled sbi posterior written by a previous run, WORK/sbi_posterior.pt).
Writes benchmarks/results/bench_vs_sbi.md and bench_vs_sbi_curves.csv (one row per curve and method).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
import warnings
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "python"))

SIGMA_DIA = 0.002          # emu/mol, the dataset's and the held-out curves' chi_dia sd
TEST_NOISE = 0.01          # relative noise of the noisy evaluation curves
NOISE_RANGE = (1e-3, 3e-2)  # trained range of relative noise levels (log-uniform)
ONE_THREAD = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}


# ============================================================================ data
def load_split(data, split: str = "train"):
    """(curves float32 (n, n_T) chi [emu/mol], params DataFrame, T [K], dataset) of one split,
    or of the whole store when split is None."""
    from ligandml.dataset import open_dataset

    ds = open_dataset(data)
    if ds.representation != "chi":
        raise ValueError(f"{data}: the benchmark needs a store of chi curves, got {ds.representation!r}")
    idx = np.arange(ds.n_curves) if split is None else np.flatnonzero(ds.split == split)
    curves = np.asarray(ds.curves[idx], dtype=np.float32)
    params = ds.params.iloc[idx].reset_index(drop=True)
    return curves, params, np.asarray(ds.T, float), ds


def theta_of(params: pd.DataFrame) -> np.ndarray:
    """(n, 3) float32: D, E [K], chi_dia [emu/mol]."""
    return params[["D", "E", "chi_dia"]].to_numpy(np.float32)


# ============================================================================ sbi side
def sbi_prior():
    """D, E uniform on the box [K], chi_dia ~ N(0, SIGMA_DIA) [emu/mol]: the dataset's prior."""
    import torch
    from torch.distributions import Normal, Uniform
    from sbi.utils import MultipleIndependent

    from ligandml.benchmark_task import DE_BOX

    t = lambda v: torch.tensor([float(v)])  # noqa: E731
    return MultipleIndependent([Uniform(t(DE_BOX["D"][0]), t(DE_BOX["D"][1])),
                                Uniform(t(DE_BOX["E"][0]), t(DE_BOX["E"][1])),
                                Normal(t(0.0), t(SIGMA_DIA))])


def noisy_inputs(curves, gen, lo: float, hi: float, sigma_m: float = 0.0):
    """Fresh augmentation of a batch of chi curves (torch, (b, n_T)): level ~ log-uniform [lo, hi]
    per curve, optional mass factor s_m ~ N(1, sigma_m), x + level |x| z; returns (b, n_T + 1)
    with log10(level) as the last column."""
    import math

    import torch

    b = curves.shape[0]
    u = torch.rand(b, 1, generator=gen)
    level = torch.exp(math.log(lo) + (math.log(hi) - math.log(lo)) * u)
    x = curves
    if sigma_m:
        x = x * (1.0 + sigma_m * torch.randn(b, 1, generator=gen)).clamp_min(1e-3)
    x = x + level * x.abs() * torch.randn(x.shape, generator=gen)
    return torch.cat([x, torch.log10(level)], dim=1)


class FreshNoiseLoader:
    """Replaces sbi's training DataLoader: shuffled batches of the training indices (drop_last,
    as sbi's), each with a fresh noise draw. The budget starts with the first batch (as ours
    starts with its training loop); once it has passed no batch is given (the epoch then ends
    early). len() is the number of batches of the last pass (sbi averages the loss by it)."""

    def __init__(self, indices, theta, clean, masks, batch_size: int, budget_s: float, gen,
                 lo: float, hi: float, sigma_m: float):
        self.indices, self.theta, self.clean, self.masks = indices, theta, clean, masks
        self.batch_size, self.budget_s, self.gen = batch_size, budget_s, gen
        self.lo, self.hi, self.sigma_m = lo, hi, sigma_m
        self.n_batches = max(1, len(indices) // batch_size)
        self.last = self.n_batches
        self.total_batches = 0
        self.started = self.cpu_started = None

    def __len__(self) -> int:
        return max(1, self.last)

    @property
    def expired(self) -> bool:
        return self.started is not None and time.perf_counter() >= self.started + self.budget_s

    def __iter__(self):
        import torch

        if self.started is None:
            self.started, self.cpu_started = time.perf_counter(), time.process_time()
        order = self.indices[torch.randperm(len(self.indices), generator=self.gen)]
        self.last = 0
        for k in range(self.n_batches):
            if self.expired:
                return
            idx = order[k * self.batch_size:(k + 1) * self.batch_size]
            self.last += 1
            self.total_batches += 1
            yield (self.theta[idx], noisy_inputs(self.clean[idx], self.gen, self.lo, self.hi, self.sigma_m),
                   self.masks[idx])


class NullTracker:
    """sbi's tracker protocol, recording the per-epoch metrics instead of writing TensorBoard files."""

    log_dir = None

    def __init__(self):
        self.rows = []

    def log_metric(self, name, value, step=None):
        self.rows.append({"name": name, "value": float(value), "step": step})

    def log_metrics(self, metrics, step=None):
        for k, v in metrics.items():
            self.log_metric(k, v, step)

    def log_params(self, params):
        pass

    def add_figure(self, name, figure, step=None):
        pass

    def flush(self):
        pass


def train_sbi(args) -> dict:
    """Train sbi NPE-nsf on the training split for args.minutes; pickle the posterior."""
    import torch
    from sbi.inference import NPE

    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    curves, params, T, _ = load_split(args.data, "train")
    theta = torch.as_tensor(theta_of(params))
    clean = torch.as_tensor(curves)
    gen = torch.Generator().manual_seed(args.seed + 17)
    # the stored x (one fixed draw): sbi z-scores on it and validates on it
    x_fixed = torch.cat([noisy_inputs(clean[i:i + 65536], gen, *args.noise_range, args.sigma_m)
                         for i in range(0, len(clean), 65536)])
    lo, hi = args.noise_range
    tracker = NullTracker()
    t_start, c_start = time.perf_counter(), time.process_time()
    budget_s = 60.0 * args.minutes

    class BudgetNPE(NPE):
        stopped_by_budget = False

        def get_dataloaders(self, *a, **k):
            train_loader, val_loader = super().get_dataloaders(*a, **k)
            theta_all, _, masks = self.get_simulations()
            self.fresh = FreshNoiseLoader(self.train_indices, theta_all, clean, masks,
                                          train_loader.batch_size, budget_s, gen, lo, hi, args.sigma_m)
            return self.fresh, val_loader

        def _converged(self, epoch, stop_after_epochs):
            converged = super()._converged(epoch, stop_after_epochs)
            if not converged and self.fresh.expired:
                self._neural_net.load_state_dict(self._best_model_state_dict)
                self.stopped_by_budget = True
                return True
            return converged

    inference = BudgetNPE(prior=sbi_prior(), density_estimator="nsf", tracker=tracker,
                          show_progress_bars=False)
    inference.append_simulations(theta, x_fixed)
    inference.train(training_batch_size=512)
    wall, cpu = time.perf_counter() - t_start, time.process_time() - c_start
    posterior = inference.build_posterior()
    torch.save({"posterior": posterior, "noise_range": list(args.noise_range)}, args.work / "sbi_posterior.pt")
    val = [r["value"] for r in tracker.rows if r["name"] == "validation_loss"]
    info = {"side": "sbi", "wall_s": wall, "cpu_s": cpu,
            "loop_s": time.perf_counter() - inference.fresh.started if inference.fresh.started else 0.0,
            "loop_cpu_s": time.process_time() - inference.fresh.cpu_started if inference.fresh.started else 0.0,
            "epochs": int(inference.epoch),
            "batches": int(inference.fresh.total_batches), "batch_size": 512,
            "n_train": int(len(inference.train_indices)), "n_validation": int(len(inference.val_indices)),
            "best_val_loss": float(inference._best_val_loss), "val_losses": val,
            "stopped_by": "budget" if inference.stopped_by_budget else "convergence",
            "noise": "fresh per batch", "n_weights": int(sum(p.numel() for p in posterior.posterior_estimator.parameters())),
            "sbi_version": __import__("sbi").__version__, "torch_threads": torch.get_num_threads()}
    return info


# ============================================================================ our side
def our_configs(config):
    """(ModelConfig, TrainConfig) of a train.toml path or a recipe name as `ligandml train --config`
    takes it ("default": the shipped model's recipe; after issue 12 also ligandml/configs/NAME)."""
    from ligandml.commands.model import train_config_path
    from ligandml.model import ModelConfig
    from ligandml.training import TrainConfig, read_train_toml

    m, t = read_train_toml(train_config_path(str(config or "default")))
    return ModelConfig.from_dict(m), TrainConfig.from_dict(t)


def noise_aware(config) -> bool:
    """Whether a model kind is told the noise level (ModelConfig.n_noise > 0, where it exists)."""
    return int(getattr(config, "n_noise", 0) or 0) > 0


class BudgetBatches:
    """Wraps ligandml.training._batches (the index batches of every epoch): the budget starts with
    the first batch, and once it has passed no batch is given, so the epoch running at the
    deadline ends early, as on the sbi side (the Trainer then validates and stops on its
    time_limit_s)."""

    def __init__(self, batches, budget_s: float):
        self.batches, self.budget_s = batches, budget_s
        self.started, self.cpu_started, self.total_batches, self.cut = None, None, 0, 0

    def __call__(self, *a, **k):
        if self.started is None:
            self.started, self.cpu_started = time.perf_counter(), time.process_time()
        for idx in self.batches(*a, **k):
            if time.perf_counter() >= self.started + self.budget_s:
                self.cut += 1
                return
            self.total_batches += 1
            yield idx


def train_ours(args) -> dict:
    """Train our configuration on the same split for args.minutes; save the model folder."""
    import dataclasses

    import torch

    from ligandml import training
    from ligandml.augmentation import add_noise_with_levels
    from ligandml.training import save_history, train_model

    torch.set_num_threads(1)
    mc, tc = our_configs(args.config)
    if mc.kind in ("faithful", "vae_cinn"):
        raise ValueError(f"kind {mc.kind!r} trains in two phases with a time limit each; the benchmark trains "
                         "single-phase kinds (evaluate a pre-trained folder with --reference instead)")
    budget = BudgetBatches(training._batches, 60.0 * args.minutes)
    training._batches = budget
    tc = dataclasses.replace(tc, time_limit_s=60.0 * args.minutes, seed=args.seed, flow_epochs=10**6,
                             noise_range=tuple(args.noise_range), sigma_m=args.sigma_m)
    curves, params, T, ds = load_split(args.data, None)
    split = np.asarray(ds.split)
    if noise_aware(mc):
        noise = "fresh per batch (the model's own augmentation)"
    else:  # one fixed draw per curve, the level not given to the network
        rng = np.random.default_rng(args.seed + 17)
        curves = add_noise_with_levels(rng, curves, *args.noise_range)[0].astype(np.float32)
        noise = "one fixed draw per curve, level not given (kind not noise-aware)"
    t_start, c_start = time.perf_counter(), time.process_time()
    model = train_model(curves, params, T, split, model_config=mc, train_config=tc, ion=ds.config.ion,
                        field=ds.config.field, quantity=ds.representation,
                        dataset_config=ds.config.to_dict(), dataset_normalizer=ds.normalizer.to_dict(),
                        progress=False, device="cpu")
    wall, cpu = time.perf_counter() - t_start, time.process_time() - c_start
    model.metrics["dataset"] = str(args.data)
    model.metrics["benchmark"] = f"bench_vs_sbi.py --minutes {args.minutes:g}"
    model.save(args.out_model)
    save_history(model, args.out_model)
    hist = model.history
    if budget.started is None:
        raise RuntimeError("the training loop did not draw its batches through ligandml.training._batches; "
                           "the budget was not enforced (update BudgetBatches)")
    out_of_time = budget.cut > 0 or float(hist["seconds"].max()) >= tc.time_limit_s
    return {"side": "ours", "wall_s": wall, "cpu_s": cpu, "loop_s": time.perf_counter() - budget.started,
            "loop_cpu_s": time.process_time() - budget.cpu_started,
            "batches": budget.total_batches, "stopped_by": "budget" if out_of_time else "early stopping",
            "kind": mc.kind,
            "config": str(args.config),
            "epochs": {p: int(g["epoch"].max()) for p, g in hist.groupby("phase")},
            "n_train": int(model.metrics["n_train"]), "n_validation": int(model.metrics["n_validation"]),
            "best_val_loss": {k: v for k, v in model.metrics.items() if k.endswith("best_val_loss")},
            "noise": noise, "n_weights": int(sum(p.numel() for p in model.net.parameters())),
            "model": str(args.out_model), "torch_threads": torch.get_num_threads()}


def run_child(args) -> int:
    """One training process (--role sbi|ours): writes WORK/train_<role>.json."""
    warnings.filterwarnings("ignore", category=UserWarning)
    info = train_sbi(args) if args.role == "sbi" else train_ours(args)
    info["minutes"] = args.minutes
    (args.work / f"train_{args.role}.json").write_text(json.dumps(info, indent=1))
    print(json.dumps({k: v for k, v in info.items() if k != "val_losses"}), flush=True)
    return 0


def train_both(args, roles) -> dict:
    """Start the training processes together (one thread each) and wait for both."""
    procs = {}
    env = {**os.environ, **ONE_THREAD, "PYTHONPATH": str(ROOT / "python")}
    for role in roles:
        cmd = [sys.executable, str(Path(__file__).resolve()), "--role", role, "--data", str(args.data),
               "--minutes", str(args.minutes), "--work", str(args.work), "--seed", str(args.seed),
               "--out-model", str(args.out_model), "--noise-range", *map(str, args.noise_range),
               "--sigma-m", str(args.sigma_m)]
        cmd += ["--config", str(args.config)]
        log = open(args.work / f"train_{role}.log", "w")
        procs[role] = (subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT), log)
        print(f"training {role}: pid {procs[role][0].pid}, log {args.work / f'train_{role}.log'}", flush=True)
    out = {}
    for role, (p, log) in procs.items():
        rc = p.wait()
        log.close()
        if rc != 0:
            tail = (args.work / f"train_{role}.log").read_text().splitlines()[-15:]
            raise RuntimeError(f"training {role} failed (exit {rc}):\n" + "\n".join(tail))
        out[role] = json.loads((args.work / f"train_{role}.json").read_text())
    return out


# ============================================================================ evaluation
class Method:
    """A posterior sampler: label, sample(chi (n_T,) [emu/mol], level) -> (n, 3) D, E, chi_dia."""

    def __init__(self, label, sample, note=""):
        self.label, self.sample, self.note = label, sample, note


def ligandml_method(label, path, T):
    from ligandml.model import load_model

    model = load_model(path)
    aware = noise_aware(model.config)

    def sample(chi, level, n, seed):
        kw = {"noise": level} if aware else {}
        post = model.predict(T, chi, n_samples=n, seed=seed, force=True, **kw)
        return post.samples[["D", "E", "chi_dia"]].to_numpy(float)

    return Method(label, sample, f"{model.config.kind}, {'told the noise level' if aware else 'not told the noise'}")


def sbi_method(label, path):
    import torch

    saved = torch.load(path, weights_only=False)
    posterior = saved["posterior"]

    def sample(chi, level, n, seed):
        torch.manual_seed(seed)
        x = torch.as_tensor(np.append(chi, np.log10(level)), dtype=torch.float32)
        s = posterior.sample((n,), x=x, show_progress_bars=False)
        return s.numpy().astype(float)

    return Method(label, sample, "sbi NPE, nsf, told log10(noise level)")


def held_out(n, seed):
    """Truths of bench_compare.py: D, E uniform on the box [K], chi_dia ~ N(0, 0.002) [emu/mol]."""
    from ligandml.benchmark_task import DE_BOX

    rng = np.random.default_rng(seed)
    return pd.DataFrame({"D": rng.uniform(*DE_BOX["D"], n), "E": rng.uniform(*DE_BOX["E"], n),
                         "chi_dia": rng.normal(0.0, SIGMA_DIA, n)})


def simulate(truths: pd.DataFrame, T, noise_rel, rng):
    """chi_obs per ion [emu/mol] of each truth, relative Gaussian noise noise_rel."""
    from ligandml import powder_susceptibility

    chi = powder_susceptibility("Er3+", {"D": truths["D"].to_numpy(), "E": truths["E"].to_numpy()}, T,
                                backend="numpy")
    chi = chi + truths["chi_dia"].to_numpy()[:, None]
    if noise_rel > 0:
        chi = chi * (1 + noise_rel * rng.standard_normal(chi.shape))
    return chi


def curve_sets(n, seed, T, clean_level):
    """{name: (truths, curves, level told)}: the noisy and noise-free held-out sets and the three
    benchmark curves at 1 % noise (the same draws as benchmarks/bench_compare.py)."""
    from ligandml.benchmark_task import BENCHMARK_CURVES

    noisy = held_out(n, 1000 + seed + 1)
    clean = held_out(n, 1000 + seed)
    bench = pd.DataFrame([{"name": k, "D": c.D, "E": c.E, "chi_dia": c.chi_dia} for k, c in BENCHMARK_CURVES.items()])
    rng = np.random.default_rng(seed + 1)
    bench_curves = np.stack([simulate(bench.iloc[[i]], T, TEST_NOISE, rng)[0] for i in range(len(bench))])
    return {"held-out, 1 % noise": (noisy, simulate(noisy, T, TEST_NOISE, np.random.default_rng(2001)), TEST_NOISE),
            "held-out, noise-free": (clean, simulate(clean, T, 0.0, None), clean_level),
            "benchmark curves, 1 % noise": (bench, bench_curves, TEST_NOISE)}


def sample_all(method: Method, curves, level, n_samples, seed):
    """(samples (n_curves, n_samples, 3), seconds per curve (n_curves,))."""
    out, secs = np.empty((len(curves), n_samples, 3)), np.empty(len(curves))
    for i, chi in enumerate(curves):
        t0 = time.perf_counter()
        out[i] = method.sample(chi, level, n_samples, seed + i)
        secs[i] = time.perf_counter() - t0
    return out, secs


def grid_samples(T, curves, level, n_samples, seed, cache: Path):
    """Exact grid posterior samples (n_curves, n_samples, 3) and seconds, cached in `cache`."""
    from ligandml.grid_posterior import grid_posterior

    key = f"{len(curves)}_{n_samples}_{seed}_{level:g}_{abs(hash(curves.round(12).tobytes())) % 10**12}"
    if cache.exists():
        d = np.load(cache)
        if str(d["key"]) == key:
            return d["samples"], d["seconds"]
    out, secs = np.empty((len(curves), n_samples, 3)), np.empty(len(curves))
    for i, chi in enumerate(curves):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            post = grid_posterior(T, chi, "Er3+", noise_rel=level, prior={"sigma_dia": SIGMA_DIA},
                                  n_samples=n_samples, seed=seed + i, force=True)
        out[i] = post.samples[["D", "E", "chi_dia"]].to_numpy(float)
        secs[i] = post.seconds
    np.savez_compressed(cache, key=key, samples=out, seconds=secs)
    return out, secs


def per_curve_metrics(samples, truths: pd.DataFrame):
    """DataFrame per curve: err_median, err_point [K], all_in_box_found (bool)."""
    from ligandml.benchmark_task import inside_box
    from ligandml.comparison import FOUND_MIN_FRACTION, FOUND_RADIUS
    from ligandml.metrics import distinct_equivalents, equivalents_found, nearest_equivalent_error
    from ligandml.parameters import canonical_DE

    rows = []
    for s, (_, t) in zip(samples, truths.iterrows()):
        err = nearest_equivalent_error(s[:, 0], s[:, 1], t["D"], t["E"])
        Dc, Ec = canonical_DE(s[:, 0], s[:, 1])
        point = nearest_equivalent_error(np.median(Dc), np.median(Ec), t["D"], t["E"])
        found = equivalents_found(s[:, 0], s[:, 1], t["D"], t["E"], FOUND_RADIUS, FOUND_MIN_FRACTION)
        eq = distinct_equivalents(t["D"], t["E"])
        rows.append({"err_median": float(np.median(err)), "err_point": float(point),
                     "all_in_box_found": bool(found[inside_box(eq[:, 0], eq[:, 1])].all()),
                     "chi_dia_err": float(np.median(s[:, 2]) - t["chi_dia"])})
    return pd.DataFrame(rows)


def coverage_row(samples, truths: pd.DataFrame) -> dict:
    """Central 68 / 95 % coverage of canonical D, E and chi_dia (ligandml.calibration)."""
    from ligandml.calibration import coverage
    from ligandml.parameters import canonical_DE

    Dc, Ec = canonical_DE(samples[..., 0], samples[..., 1])
    Dt, Et = canonical_DE(truths["D"].to_numpy(), truths["E"].to_numpy())
    cov = coverage(np.stack([Dc, Ec, samples[..., 2]], -1), np.column_stack([Dt, Et, truths["chi_dia"]]),
                   levels=(0.68, 0.95))
    return {f"cov{int(100 * lv)} {n}": float(c[j]) for lv, c in cov.items() for j, n in enumerate(("D", "E", "chi_dia"))}


def cramer_rao_rows(truths: pd.DataFrame, T, names=None) -> pd.DataFrame:
    """Cramer-Rao floor at 1 % noise per truth: sd of D, E [K], chi_dia [emu/mol] (chi_dia free),
    the median distance of an efficient estimate to the truth (point floor) and of a sample of
    the bound's Gaussian posterior around it (sample floor = sqrt(2) x point floor) [K]."""
    from ligandml.cramer_rao import curve_cramer_rao

    rows = []
    for i, (_, t) in enumerate(truths.iterrows()):
        cr = curve_cramer_rao(T, {"D": t["D"], "E": t["E"]}, chi_dia=t["chi_dia"], noise_rel=TEST_NOISE)
        row = {"curve": names[i] if names is not None else i}
        row.update({f"sd {k}": v for k, v in cr.as_dict().items()})
        row["floor err_point"] = cr.median_distance(scale=1.0)
        row["floor err_median"] = cr.median_distance(scale=2.0)
        rows.append(row)
    return pd.DataFrame(rows)


def evaluate(args, methods, training) -> str:
    """Every method on every curve set; returns the markdown report (also printed and written)."""
    import torch

    from ligandml.benchmark_task import temperature_grid
    from ligandml.calibration import coverage_sd
    from ligandml.metrics import c2st
    from ligandml.report import markdown_table

    torch.set_num_threads(1)
    T = temperature_grid()
    sets = curve_sets(args.n_curves, args.seed, T, args.noise_range[0])
    per_curve, summary, c2st_rows, bench_err = [], [], [], []
    samples_by = {}
    t_eval = time.perf_counter()
    grid_sets = ["benchmark curves, 1 % noise"] + ([] if args.no_grid_heldout else ["held-out, 1 % noise"])
    for set_name, (truths, curves, level) in sets.items():
        rows = []
        entries = [(m.label, m) for m in methods]
        if set_name in grid_sets:
            entries.append(("exact grid posterior", None))
        for label, m in entries:
            if m is None:
                slug = "bench" if set_name.startswith("benchmark") else "heldout"
                s, secs = grid_samples(T, curves, level, 2 * args.n_samples, args.seed,
                                       args.work / f"grid_{slug}.npz")
            else:
                s, secs = sample_all(m, curves, level, (2 if set_name.startswith("benchmark") else 1) * args.n_samples,
                                     args.seed)
            samples_by[(set_name, label)] = s
            pc = per_curve_metrics(s, truths)
            pc.insert(0, "curve", truths["name"] if "name" in truths else np.arange(len(truths)))
            pc.insert(0, "method", label)
            pc.insert(0, "set", set_name)
            pc["seconds"] = secs
            per_curve.append(pc)
            row = {"set": set_name, "method": label, "curves": len(pc),
                   "median err_median [K]": pc["err_median"].median(),
                   "median err_point [K]": pc["err_point"].median(),
                   "all in-box found": pc["all_in_box_found"].mean(),
                   "s/curve": float(np.median(secs))}
            if set_name == "held-out, 1 % noise":
                row.update(coverage_row(s, truths))
            rows.append(row)
            print(f"{set_name:28s} {label:40s} err_median {row['median err_median [K]']:.3f} K, "
                  f"all found {row['all in-box found']:.3f}, {row['s/curve']:.3f} s/curve "
                  f"({time.perf_counter() - t_eval:.0f} s)", flush=True)
        summary += rows
    # C2ST against the exact posterior on the benchmark curves
    bname = "benchmark curves, 1 % noise"
    btruths = sets[bname][0]
    exact = samples_by[(bname, "exact grid posterior")]
    for m in methods:
        s = samples_by[(bname, m.label)]
        for i, name in enumerate(btruths["name"]):
            c2st_rows.append({"method": m.label, "curve": name,
                              "C2ST": c2st(s[i], exact[i], seed=args.seed, classifier="rf")})
    c2 = pd.DataFrame(c2st_rows)
    pcs = pd.concat(per_curve, ignore_index=True)
    # Cramer-Rao floors: the benchmark curves and the noisy held-out truths
    crb_bench = cramer_rao_rows(btruths, T, list(btruths["name"]))
    crb_held = cramer_rao_rows(sets["held-out, 1 % noise"][0], T)
    bench_table = pcs[pcs["set"] == bname].pivot(index="curve", columns="method", values="err_median")
    bench_table = bench_table.loc[list(btruths["name"])].reset_index()
    bench_table = bench_table.merge(crb_bench, on="curve")
    summ = pd.DataFrame(summary)
    args.results.mkdir(parents=True, exist_ok=True)
    pcs.to_csv(args.results / "bench_vs_sbi_curves.csv", index=False)
    return report(args, training, methods, summ, c2, bench_table, crb_held, coverage_sd(0.95, args.n_curves),
                  time.perf_counter() - t_eval, markdown_table)


def _fmt(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    for c in out.columns:
        if out[c].dtype.kind == "f":
            out[c] = out[c].map(lambda v: "" if pd.isna(v) else (f"{v:.3g}" if abs(v) >= 1e-3 or v == 0 else f"{v:.2e}"))
    return out


def report(args, training, methods, summ, c2, bench_table, crb_held, cov_sd, eval_s, markdown_table) -> str:
    load = os.getloadavg() if hasattr(os, "getloadavg") else ("?",) * 3
    cmd = "python benchmarks/bench_vs_sbi.py " + " ".join(sys.argv[1:])
    held = summ[summ["set"] == "held-out, 1 % noise"]
    clean = summ[summ["set"] == "held-out, noise-free"]
    main = pd.DataFrame({"method": held["method"].to_numpy()}).merge(
        clean[["method", "median err_median [K]", "median err_point [K]", "all in-box found"]].rename(
            columns={"median err_median [K]": "noise-free err_median [K]", "median err_point [K]": "noise-free err_point [K]",
                     "all in-box found": "noise-free all found"}), on="method", how="left").merge(
        held[["method", "median err_median [K]", "median err_point [K]", "all in-box found",
              "cov95 D", "cov95 E", "cov95 chi_dia", "s/curve"]].rename(
            columns={"median err_median [K]": "1 % err_median [K]", "median err_point [K]": "1 % err_point [K]",
                     "all in-box found": "1 % all found"}), on="method", how="left")
    train_rows = []
    for side, info in training.items():
        train_rows.append({"side": side, "training loop wall [s]": info.get("loop_s"),
                           "training loop CPU [s]": info.get("loop_cpu_s"),
                           "after loading: wall [s]": info.get("wall_s"), "CPU [s]": info.get("cpu_s"),
                           "batches of 512": info.get("batches"),
                           "epochs": info.get("epochs"), "training / validation curves":
                           f"{info.get('n_train')} / {info.get('n_validation')}",
                           "weights": info.get("n_weights"), "stopped by": info.get("stopped_by"),
                           "noise augmentation": info.get("noise")})
    c2s = c2.groupby("method", sort=False)[["C2ST"]].agg(["median", "max"]) if len(c2) else c2
    if len(c2):
        c2s.columns = [f"{a} {b}" for a, b in c2s.columns]
        c2s = c2s.reset_index()
    floor_held = {"floor err_point": float(np.median(crb_held["floor err_point"])),
                  "floor err_median": float(np.median(crb_held["floor err_median"])),
                  "singular": int(np.isinf(crb_held["floor err_point"]).sum())}
    main.loc[len(main)] = {"method": "Cramer-Rao floor at 1 % noise (median over the noisy curves)",
                           "1 % err_median [K]": floor_held["floor err_median"],
                           "1 % err_point [K]": floor_held["floor err_point"]}
    md = [
        "# Benchmark against sbi: NPE (neural spline flow) and ligandml at equal training budget",
        "",
        f"Command: `{cmd}`  ",
        *([f"**A debug-size run ({args.minutes:g} min, {args.n_curves} curves), not the benchmark of issue 12 "
           "(15 min, 200 curves): its numbers say only that the harness works.**  "]
          if args.minutes < 15 or args.n_curves < 200 else []),
        f"Date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; machine: {platform.machine()}, "
        f"{os.cpu_count()} cores shared with other jobs (load average at the end {load[0]:.1f}); "
        f"torch {__import__('torch').__version__}, one thread per process; evaluation {eval_s:.0f} s.  ",
        f"Budget: {args.minutes:g} min of training each, the two trainings run at the same time as two "
        "processes of one thread each (so they share the machine equally). Each budget starts with its first "
        "training batch and ends the epoch running at the deadline early (validation and the choice of the best "
        "weights follow); the training-loop CPU seconds say what each process got of the shared machine.",
        "",
        "## Training",
        "",
        markdown_table(_fmt(pd.DataFrame(train_rows))) if train_rows else
        "(both models pre-trained: --ours-model / --sbi-model)",
        "",
        "Same data: the training split of the D, E dataset (" + str(args.data) + "); sbi holds out 10 % of it "
        "for validation (its default), ours validates on 20,000 curves of the dataset's test split. Same "
        f"noise: relative level log-uniform in [{args.noise_range[0]:g}, {args.noise_range[1]:g}] per curve"
        + (f", mass factor s_m ~ N(1, {args.sigma_m:g})" if args.sigma_m else "") + ", "
        "log10(level) an input of the network (see the noise column for any difference).",
        "",
        f"## Held-out curves ({args.n_curves} noisy at 1 %, {args.n_curves} noise-free; 1000 samples per curve)",
        "",
        "err_median: median over curves of the median distance [K] of the samples to the nearest of the six true "
        "equivalents (the metric of issue 12's table); err_point: the same for the canonical median. all found: share "
        "of curves where every equivalent inside the box holds >= 1 % of the samples within 0.5 K. cov95: coverage of "
        f"central 95 % intervals of canonical D, E and chi_dia on the noisy curves (binomial sd {cov_sd:.3f} for a "
        "calibrated posterior). s/curve: median wall time for 1000 samples (the grid: its own time, 2000 samples).",
        "",
        markdown_table(_fmt(main)),
        "",
        "Cramer-Rao floor at 1 % noise over the noisy held-out truths (chi_dia free; ligandml.cramer_rao): median over "
        f"curves of the point floor {floor_held['floor err_point']:.3f} K (median distance of an efficient unbiased "
        f"estimate to the truth) and of the sample floor {floor_held['floor err_median']:.3f} K (a sample of the "
        "bound's Gaussian posterior around it: sqrt(2) x); "
        f"{floor_held['singular']} curves singular. The bound is local and for unbiased estimators: near E = 0 or "
        "E = +-D, where equivalents merge, the curve changes only to second order, and an error measured to the "
        "nearest equivalent can fall below it.",
        "",
        "## The three benchmark curves at 1 % noise",
        "",
        "C2ST of each posterior against the exact grid posterior (D, E, chi_dia; 2000 samples each, standardised; "
        "5-fold CV accuracy of a random forest, sbi's default classifier; 0.5 = indistinguishable), median and worst "
        "of the three curves:",
        "",
        markdown_table(_fmt(c2s)) if len(c2s) else "(none)",
        "",
        "Per curve: err_median [K] of each method beside the Cramer-Rao floor (sd of D, E [K] and chi_dia [emu/mol]; "
        "floor err_point = median |estimate - truth| of an efficient estimate, floor err_median = the same for a "
        "sample of the Gaussian posterior at the bound, both in the D-E plane):",
        "",
        markdown_table(_fmt(bench_table)),
        "",
        "C2ST per curve:",
        "",
        markdown_table(_fmt(c2)) if len(c2) else "(none)",
        "",
        "## All held-out metrics",
        "",
        markdown_table(_fmt(summ)),
        "",
        "Methods: " + "; ".join(f"{m.label}: {m.note}" for m in methods) + ".",
        "",
    ]
    text = "\n".join(md)
    return text


# ============================================================================ main
def parse(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=Path("/work/data/sbi/er_de.zarr"),
                    help="the D, E dataset (ligandml dataset generate --out ...)")
    ap.add_argument("--minutes", type=float, default=15.0, help="training budget of each side [min]")
    ap.add_argument("--config", default="default", metavar="TOML|NAME",
                    help="our recipe, as `ligandml train --config` takes it: a train.toml ([model], [training]) "
                         "or a name (default: 'default', the shipped model's recipe)")
    ap.add_argument("--work", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "ligandml_bench_vs_sbi",
                    help="folder for the trained sbi posterior, logs and cached grid posteriors")
    ap.add_argument("--out-model", type=Path, default=None, help="where our trained model folder goes (default WORK/ours_model)")
    ap.add_argument("--ours-model", type=Path, default=None, help="evaluate this trained model folder instead of training ours")
    ap.add_argument("--sbi-model", type=Path, default=None, help="evaluate this pickled sbi posterior instead of training sbi")
    ap.add_argument("--reference", action="append", default=None, metavar="LABEL=PATH",
                    help="a pre-trained model folder evaluated beside (repeatable); default: the shipped model "
                         "and the faithful VAE-INN of studies/sigma_dia/models/sigma_0.002; 'none' for none")
    ap.add_argument("--n-curves", type=int, default=200, help="held-out curves per set")
    ap.add_argument("--n-samples", type=int, default=1000, help="posterior samples per held-out curve")
    ap.add_argument("--no-grid-heldout", action="store_true", help="skip the exact posterior on the held-out curves")
    ap.add_argument("--noise-range", type=float, nargs=2, default=None, metavar=("LO", "HI"),
                    help="relative noise levels of the augmentation of both sides (default: our configuration's "
                         "noise_range, else 0.001 0.03)")
    ap.add_argument("--sigma-m", type=float, default=None,
                    help="sd of an on-the-fly molar-mass factor for both sides (default: our configuration's)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--results", type=Path, default=ROOT / "benchmarks" / "results")
    ap.add_argument("--role", choices=("sbi", "ours"), default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    args.out_model = args.out_model or args.work / "ours_model"
    resolve_noise(args)
    return args


def resolve_noise(args) -> None:
    """The augmentation both sides share: --noise-range / --sigma-m when given, else those of our
    configuration (of the pre-trained folder with --ours-model), else NOISE_RANGE and 0."""
    rng, sm = NOISE_RANGE, 0.0
    if args.ours_model is not None:
        d = json.loads((Path(args.ours_model) / "model.json").read_text())
        tc = d.get("train_config") or {}
        if noise_aware_dict(d.get("model_config") or {}):
            rng, sm = tuple(tc.get("noise_range", rng)), float(tc.get("sigma_m", sm))
    else:
        mc, tc = our_configs(args.config)
        if noise_aware(mc):
            rng, sm = tuple(getattr(tc, "noise_range", rng)), float(getattr(tc, "sigma_m", sm))
    args.noise_range = tuple(float(v) for v in (args.noise_range or rng))
    args.sigma_m = float(sm if args.sigma_m is None else args.sigma_m)
    if not 0 < args.noise_range[0] < args.noise_range[1]:
        raise SystemExit(f"--noise-range needs 0 < LO < HI, got {args.noise_range}")


def noise_aware_dict(model_config: dict) -> bool:
    return int(model_config.get("n_noise", 0) or 0) > 0


def references(args):
    if args.reference == ["none"]:
        return {}
    if args.reference is None:
        from ligandml.model import DEFAULT_MODEL_DIR

        cand = {"shipped cinn (pre-trained, 28 min, no noise)": DEFAULT_MODEL_DIR,
                "faithful VAE-INN (pre-trained, sigma_dia study, reduced budget)":
                    ROOT / "studies/sigma_dia/models/sigma_0.002"}
        return {k: v for k, v in cand.items() if (Path(v) / "model.json").is_file()}
    out = {}
    for item in args.reference:
        label, _, path = item.partition("=")
        if not path:
            raise SystemExit(f"--reference needs LABEL=PATH, got {item!r}")
        out[label] = Path(path)
    return out


def main(argv=None) -> int:
    args = parse(argv)
    if args.role:
        return run_child(args)
    for k, v in ONE_THREAD.items():
        os.environ.setdefault(k, v)
    warnings.filterwarnings("ignore", category=UserWarning)
    roles = [r for r, given in (("sbi", args.sbi_model), ("ours", args.ours_model)) if given is None]
    if roles and not args.data.exists():
        raise SystemExit(f"{args.data} not found: run `ligandml dataset generate --out {args.data}` first")
    t0 = time.perf_counter()
    training = train_both(args, roles) if roles else {}
    from ligandml.benchmark_task import temperature_grid

    T = temperature_grid()
    mins = f"{args.minutes:g} min"
    sbi_path = args.sbi_model or args.work / "sbi_posterior.pt"
    ours_path = args.ours_model or args.out_model
    ours_label = f"ours ({ligandml_kind(ours_path)}), " + (mins if args.ours_model is None else "pre-trained")
    methods = [sbi_method("sbi NPE nsf, " + (mins if args.sbi_model is None else "pre-trained"), sbi_path),
               ligandml_method(ours_label, ours_path, T)]
    methods += [ligandml_method(label, path, T) for label, path in references(args).items()]
    text = evaluate(args, methods, training)
    text += f"\nTotal wall time of the run: {time.perf_counter() - t0:.0f} s.\n"
    (args.results / "bench_vs_sbi.md").write_text(text)
    print(text)
    return 0


def ligandml_kind(path) -> str:
    d = json.loads((Path(path) / "model.json").read_text())
    return d["model_config"]["kind"]


if __name__ == "__main__":
    sys.exit(main())
