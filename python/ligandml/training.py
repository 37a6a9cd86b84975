"""Training of the inverse models: the preprocessing and standardisation statistics, then the
training phases of the model kind (ligandml.nets; e.g. VAE first, then the INN on its latents),
each through one optimisation loop (Trainer.run). Fixed seeds, early stopping, per-epoch losses
saved as CSV and PNG.

train_model(curves, params, T, split, ...) works on arrays; train_from_dataset(path, out, ...)
reads a dataset written by ligandml.dataset and saves the model folder.
"""
from __future__ import annotations

import copy
import time
from dataclasses import asdict, dataclass, field as dataclass_field, fields
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from .model import NON_PARAMETER_COLUMNS, NUISANCE_COLUMNS, InverseModel, ModelConfig, build_net
from .preprocessing import CurvePreprocessor, MinMaxNormalizer


@dataclass
class TrainConfig:
    """Training hyperparameters (saved with the model)."""
    seed: int = 0
    batch_size: int = 512
    lr: float = 1e-3
    weight_decay: float = 0.0
    vae_epochs: int = 20
    inn_epochs: int = 20
    flow_epochs: int = 20
    patience: int = 4                      # epochs without validation improvement before stopping
    samples_per_epoch: int = 0             # 0: the whole training split each epoch
    inn_samples_per_epoch: int = 0         # latent-INN phase only (its steps cost most); 0: as above
    n_validation: int = 20000              # validation curves (from the dataset's test split)
    time_limit_s: float = 0.0              # per training phase; 0 = none
    lr_final_factor: float = 0.02          # cosine decay to lr * this over the epochs
    # noise-aware models (ModelConfig.n_noise > 0) on a dataset without stored noise levels:
    noise_range: tuple = (1e-3, 3e-2)      # relative noise levels, log-uniform per curve and batch
    sigma_m: float = 0.0                   # on-the-fly molar-mass error sd (where the data have none)

    def __post_init__(self):
        from .nets.noise import check_noise_range
        self.noise_range = check_noise_range(self.noise_range)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["noise_range"] = list(self.noise_range)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        known = {f.name for f in fields(cls)}
        if set(d) - known:
            raise ValueError(f"unknown TrainConfig keys: {sorted(set(d) - known)}")
        return cls(**d)


def read_train_toml(path) -> tuple[dict, dict]:
    """Read a train.toml with optional [model] and [training] tables -> (model dict, training dict)."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python < 3.11
        import tomli as tomllib
    with open(path, "rb") as fh:
        d = tomllib.load(fh)
    unknown = set(d) - {"model", "training"}
    if unknown:
        raise ValueError(f"{path}: unknown tables {sorted(unknown)} (expected [model], [training])")
    return d.get("model", {}), d.get("training", {})


def write_train_toml(path, model_config: ModelConfig | None = None,
                     train_config: TrainConfig | None = None) -> None:
    """Write every hyperparameter as a train.toml ([model] and [training] tables)."""
    import tomli_w
    d = {"model": (model_config or ModelConfig()).to_dict(), "training": (train_config or TrainConfig()).to_dict()}
    with open(path, "wb") as fh:
        tomli_w.dump(d, fh)


def parameter_columns(params: pd.DataFrame) -> list[str]:
    """The model's x: physical parameters, then the nuisances chi_dia/s_m if they vary."""
    names = [c for c in params.columns if c not in NON_PARAMETER_COLUMNS + NUISANCE_COLUMNS]
    for c in NUISANCE_COLUMNS:
        if c in params.columns and float(np.std(params[c].to_numpy())) > 0:
            names.append(c)
    return names


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


# ----------------------------------------------------------------------------- generic loop
def _batches(n: int, batch: int, rng: np.random.Generator, limit: int = 0):
    order = rng.permutation(n)
    if limit:
        order = order[:limit]
    for i in range(0, len(order) - batch + 1 if len(order) >= batch else 1, batch):
        yield order[i:i + batch]


@dataclass
class Trainer:
    """The optimisation loop every training phase of every model kind goes through (see run).

    config: the TrainConfig; progress: tqdm bars (else one printed line per epoch); history: one
    dict per epoch and phase, filled by run."""

    config: TrainConfig
    progress: bool = True
    history: list = dataclass_field(default_factory=list)

    def run(self, phase: str, module: torch.nn.Module, step_loss, val_loss, n_train: int, epochs: int,
            samples_per_epoch: int = 0) -> float:
        """Adam on module's parameters with cosine learning-rate decay and early stopping on
        val_loss(); restores the module's best state and returns its validation loss.
        step_loss(batch indices) -> (loss tensor, parts); val_loss() -> (float, parts dict). The
        decay follows max(epoch progress, elapsed / time_limit_s), so a run cut by its time limit
        still ends at the low learning rate."""
        cfg, progress, history = self.config, self.progress, self.history
        module_params = list(module.parameters())
        opt = torch.optim.Adam(module_params, lr=cfg.lr, weight_decay=cfg.weight_decay)
        rng = np.random.default_rng([cfg.seed, sum(map(ord, phase))])
        best, best_state, bad, t0 = np.inf, None, 0, time.perf_counter()
        per_epoch = samples_per_epoch or cfg.samples_per_epoch
        n_batches = max(1, (min(n_train, per_epoch or n_train)) // cfg.batch_size)

        def set_lr(epoch_progress: float) -> None:
            frac = epoch_progress / max(epochs, 1)
            if cfg.time_limit_s:
                frac = max(frac, (time.perf_counter() - t0) / cfg.time_limit_s)
            frac = min(frac, 1.0)
            lr_min = cfg.lr * cfg.lr_final_factor
            for g in opt.param_groups:
                g["lr"] = lr_min + (cfg.lr - lr_min) * 0.5 * (1 + np.cos(np.pi * frac))

        bar = tqdm(range(epochs), desc=phase, disable=not progress)
        for epoch in bar:
            train_sum, count = 0.0, 0
            for idx in _batches(n_train, cfg.batch_size, rng, per_epoch):
                if count % 20 == 0:
                    set_lr(epoch + count / n_batches)
                loss, _ = step_loss(idx)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(module_params, 10.0)
                opt.step()
                train_sum += float(loss.detach())
                count += 1
            vl, parts = val_loss()
            row = {"phase": phase, "epoch": epoch + 1, "train_loss": train_sum / max(count, 1), "val_loss": vl,
                   "seconds": time.perf_counter() - t0, "lr": opt.param_groups[0]["lr"], **parts}
            history.append(row)
            bar.set_postfix(train=f"{row['train_loss']:.4g}", val=f"{vl:.4g}")
            if not progress:
                print(f"[{phase}] epoch {epoch + 1}: train {row['train_loss']:.5g} val {vl:.5g} "
                      f"({row['seconds']:.0f} s)", flush=True)
            if vl < best:
                best, bad, best_state = vl, 0, copy.deepcopy(module.state_dict())
            else:
                bad += 1
            if bad >= cfg.patience or (cfg.time_limit_s and row["seconds"] > cfg.time_limit_s):
                break
        if best_state is not None:
            module.load_state_dict(best_state)
        return best


# ----------------------------------------------------------------------------- public API
def train_model(curves, params: pd.DataFrame, T, split=None, *, model_config: ModelConfig | None = None,
                train_config: TrainConfig | None = None, ion: str = "Er3+", field=None,
                quantity: str = "chi", dataset_config: dict | None = None,
                dataset_normalizer: dict | None = None, progress: bool = True, device=None,
                pretrained_vae: InverseModel | None = None, noise_levels=None,
                noise_columns=None) -> InverseModel:
    """Train a model on curves (N, n_T) in `quantity` units (emu/mol or emu K/mol, per ion) with
    their parameters (DataFrame: parameter columns, chi_dia, s_m, set_index...).

    split: array of "train"/"test" per curve (None: all train, validation from a 10% hold-out).
    dataset_normalizer: the MinMaxNormalizer description stored with the dataset; "minmax"
    preprocessing then uses its numbers (the min and max of the dataset's training split) instead
    of refitting them on `curves`.
    pretrained_vae: for kinds with a VAE, reuse this model's VAE and preprocessing (same T grid)
    and train only the INN/flow on its latents.
    Noise-aware models (model_config.n_noise > 0, see ligandml.nets.noise): noise_levels (N,
    n_noise) relative levels stored with the curves (they already carry that noise; none is
    added, and the trained range is that of the stored positive levels), or None: every batch
    draws a level per curve and noise input log-uniformly in train_config.noise_range and applies
    it, with a molar-mass factor s_m ~ N(1, train_config.sigma_m) unless the parameters carry s_m.
    noise_columns: the (start, stop) curve columns of each noise input (default for n_noise = 1:
    the whole curve).
    Returns the trained InverseModel (metrics and history in model.metrics / model.history).
    """
    mc = model_config or ModelConfig()
    tc = train_config or TrainConfig()
    torch.manual_seed(tc.seed)
    np.random.seed(tc.seed)
    dev = torch.device(device) if device is not None else default_device()
    curves = np.asarray(curves, dtype=np.float32)
    T = np.asarray(T, dtype=float)
    if curves.ndim != 2 or curves.shape[1] != T.size:
        raise ValueError(f"curves must be (N, len(T)) = (N, {T.size}), got {curves.shape}")
    if len(params) != len(curves):
        raise ValueError(f"{len(params)} parameter rows for {len(curves)} curves")
    names = parameter_columns(params)
    x_all = np.array(params[names].to_numpy(dtype=np.float32))
    rng = np.random.default_rng(tc.seed)
    if split is None:
        split = np.where(rng.random(len(curves)) < 0.9, "train", "test")
    split = np.asarray(split)
    tr, te = np.flatnonzero(split == "train"), np.flatnonzero(split == "test")
    if tr.size == 0 or te.size == 0:
        raise ValueError("need both training and validation ('test') curves")
    te = rng.permutation(te)[: tc.n_validation]

    net = build_net(mc, T.size, len(names)).to(dev)
    normalizer = MinMaxNormalizer.from_dict(dataset_normalizer) if dataset_normalizer else None
    net.set_preprocessor(CurvePreprocessor.fit(curves[tr], mc.preprocessing, normalizer))
    net.x_mean.copy_(torch.as_tensor(x_all[tr].mean(0)))
    net.x_std.copy_(torch.as_tensor(x_all[tr].std(0) + 1e-12))
    if pretrained_vae is not None:
        if not net.has_vae or pretrained_vae.config.preprocessing != mc.preprocessing:
            raise ValueError("pretrained_vae needs a model kind with a VAE and the same preprocessing")
        net.reuse_vae(pretrained_vae.net)
    curves_t = torch.as_tensor(curves, device=dev)
    with torch.no_grad():
        feats = torch.cat([net.features(curves_t[i:i + 65536]) for i in range(0, len(curves_t), 65536)])
    del curves_t
    net.feat_lo.copy_(feats[tr].min(0).values)
    net.feat_hi.copy_(feats[tr].max(0).values)
    x_std = (torch.as_tensor(x_all, device=dev) - net.x_mean) / net.x_std
    f_tr, f_te = feats[tr], feats[te]
    if net.n_noise:
        del feats
        f_tr, f_te = _noisy_sources(net, torch.as_tensor(curves, device=dev), tr, te, tc, noise_levels,
                                    noise_columns, sigma_m=0.0 if "s_m" in names else tc.sigma_m)
    elif noise_levels is not None:
        raise ValueError("noise_levels given for a model without noise input (ModelConfig.n_noise = 0)")
    trainer = Trainer(tc, progress)
    t_start = time.perf_counter()
    net.train_networks(trainer, f_tr, x_std[tr], f_te, x_std[te],
                       vae_ready=pretrained_vae is not None)
    _store_reference(net, f_tr, x_all[tr], mc.n_reference, rng)
    hist = pd.DataFrame(trainer.history)
    metrics = {"train_seconds": time.perf_counter() - t_start, "n_train": int(tr.size),
               "n_validation": int(te.size), "device": str(dev)}
    for phase, g in hist.groupby("phase"):
        metrics[f"{phase}_best_val_loss"] = float(g["val_loss"].min())
        metrics[f"{phase}_epochs"] = int(g["epoch"].max())
    model = InverseModel(net.cpu().eval(), T=T, ion=ion, field=field, quantity=quantity, param_names=names,
                         dataset_config=dataset_config, dataset_normalizer=dataset_normalizer,
                         train_config=tc.to_dict(), metrics=metrics)
    model.history = hist
    return model


def _noisy_sources(net, curves_t, tr, te, tc: TrainConfig, noise_levels, noise_columns, sigma_m):
    """The training source (fresh noise every batch, or the stored levels) and a fixed validation
    draw (ligandml.nets.noise.NoisyCurveBatches) of a noise-aware model; sets its trained noise
    range and widens the per-temperature feature range (OOD check) by one noisy draw."""
    from .nets.noise import NoisyCurveBatches
    n = net.n_noise
    noise_range = tc.noise_range
    if noise_levels is not None:
        levels = np.asarray(noise_levels, dtype=float).reshape(len(curves_t), -1)
        if levels.shape[1] != n:
            raise ValueError(f"the model has n_noise = {n} noise inputs but the stored noise levels have "
                             f"{levels.shape[1]} column(s)")
        pos = np.where(levels[tr] > 0, levels[tr], np.nan)
        lo, hi = np.nanmin(pos, axis=0), np.nanmax(pos, axis=0)
        if not np.all(hi > lo):
            raise ValueError("the stored noise levels do not span a range (all equal or all 0); a "
                             "noise-aware model needs curves of different noise levels")
        noise_range = (float(lo.min()), float(hi.max()))
        net.noise_log_lo.copy_(torch.as_tensor(np.log10(lo), dtype=torch.float32))
        net.noise_log_hi.copy_(torch.as_tensor(np.log10(hi), dtype=torch.float32))
        lev_tr, lev_te = levels[tr], levels[te]
    else:
        net.noise_log_lo.fill_(float(np.log10(noise_range[0])))
        net.noise_log_hi.fill_(float(np.log10(noise_range[1])))
        lev_tr = lev_te = None
    kw = dict(noise_range=noise_range, columns=noise_columns, sigma_m=sigma_m)
    tr_t, te_t = torch.as_tensor(tr, device=curves_t.device), torch.as_tensor(te, device=curves_t.device)
    f_tr = NoisyCurveBatches(curves_t[tr_t], net.features, net.noise_log_lo, net.noise_log_hi,
                             levels=lev_tr, seed=tc.seed + 11, **kw)
    f_te = NoisyCurveBatches(curves_t[te_t], net.features, net.noise_log_lo, net.noise_log_hi,
                             levels=lev_te, seed=tc.seed + 12, fixed=True, **kw)
    with torch.no_grad():  # the OOD range: clean training features and one noisy draw of them
        for i in range(0, len(f_tr), 65536):
            noisy = f_tr[np.arange(i, min(i + 65536, len(f_tr)))][0]
            net.feat_lo.copy_(torch.minimum(net.feat_lo, noisy.min(0).values))
            net.feat_hi.copy_(torch.maximum(net.feat_hi, noisy.max(0).values))
    return f_tr, f_te


def _store_reference(net, f_tr, x_tr_phys, n_ref, rng):
    """Latents + physical parameters of n_ref training curves (for the VAE plot); f_tr: features
    or a source of (features, noise features) batches."""
    idx = np.sort(rng.permutation(len(f_tr))[: n_ref])
    with torch.no_grad():
        inputs = f_tr[idx]
        lat = net.latent(*inputs) if isinstance(inputs, tuple) else net.latent(inputs)
    net.ref_latent = lat.detach().cpu().float()
    net.ref_params = torch.as_tensor(x_tr_phys[idx], dtype=torch.float32)


def save_history(model: InverseModel, out) -> None:
    """Write history.csv and losses.png (validation and training loss per epoch, per phase)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    out = Path(out)
    hist = getattr(model, "history", None)
    if hist is None or hist.empty:
        return
    hist.to_csv(out / "history.csv", index=False)
    phases = list(hist["phase"].unique())
    fig, axes = plt.subplots(1, len(phases), figsize=(4.5 * len(phases), 3.5), squeeze=False)
    for ax, phase in zip(axes[0], phases):
        g = hist[hist["phase"] == phase]
        ax.plot(g["epoch"], g["train_loss"], "o-", label="train")
        ax.plot(g["epoch"], g["val_loss"], "s-", label="validation")
        if (g["val_loss"] > 0).all() and (g["train_loss"] > 0).all():
            ax.set_yscale("log")
        ax.set_xlabel("epoch")
        ax.set_ylabel(f"{phase} loss")
        ax.set_title(phase)
        ax.legend()
    fig.tight_layout()
    fig.savefig(out / "losses.png", dpi=110)
    plt.close(fig)


def _has_array(ds, name: str) -> bool:
    try:
        ds.array(name)
    except (KeyError, LookupError):
        return False
    return True


def train_from_dataset(data, out, *, model_config: ModelConfig | None = None,
                       train_config: TrainConfig | None = None, progress: bool = True,
                       device=None, max_curves: int = 0) -> InverseModel:
    """Train on a dataset folder written by ligandml.dataset and save the model folder `out`
    (weights.safetensors, model.json, history.csv, losses.png). max_curves > 0 uses a random subset
    of that many curves (for quick runs)."""
    from .dataset import open_dataset
    ds = open_dataset(data)
    curves = np.asarray(ds.curves, dtype=np.float32)
    params = ds.params.reset_index(drop=True)
    split = np.asarray(ds.split)
    if max_curves and max_curves < len(curves):
        sel = np.sort(np.random.default_rng(0).permutation(len(curves))[:max_curves])
        curves, params, split = curves[sel], params.iloc[sel].reset_index(drop=True), split[sel]
    cfg = ds.config
    levels = None
    if model_config is not None and model_config.n_noise:
        if _has_array(ds, "noise_level"):
            levels = np.asarray(ds.array("noise_level")[:], dtype=float)
            if len(levels) != len(curves):
                levels = levels[sel]
        elif cfg.noise_rel:
            raise ValueError(f"{data}: the curves carry a fixed relative noise of {cfg.noise_rel:g} and no "
                             "per-curve levels; a noise-aware model needs clean curves (noise added while "
                             "training) or stored per-curve levels")
    model = train_model(curves, params, np.asarray(ds.T), split, model_config=model_config,
                        train_config=train_config, ion=cfg.ion, field=cfg.field,
                        quantity=ds.representation, dataset_config=cfg.to_dict(),
                        dataset_normalizer=ds.normalizer.to_dict(), progress=progress, device=device,
                        noise_levels=levels)
    model.metrics["dataset"] = str(data)
    model.save(out)
    save_history(model, out)
    return model


