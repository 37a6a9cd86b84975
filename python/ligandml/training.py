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

    def to_dict(self) -> dict:
        return asdict(self)

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
                pretrained_vae: InverseModel | None = None, observables: dict | None = None) -> InverseModel:
    """Train a model on curves (N, n_T) in `quantity` units (emu/mol or emu K/mol, per ion) with
    their parameters (DataFrame: parameter columns, chi_dia, s_m, set_index...).

    split: array of "train"/"test" per curve (None: all train, validation from a 10% hold-out).
    dataset_normalizer: the MinMaxNormalizer description stored with the dataset; "minmax"
    preprocessing then uses its numbers (the min and max of the dataset's training split) instead
    of refitting them on `curves`.
    pretrained_vae: for kinds with a VAE, reuse this model's VAE and preprocessing (same T grid)
    and train only the INN/flow on its latents.
    observables: for a multi-observable model, the store's observable index (curves then hold
    every observable concatenated, T their grids; see ligandml.model_observables).
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
    trainer = Trainer(tc, progress)
    t_start = time.perf_counter()
    net.train_networks(trainer, feats[tr], x_std[tr], feats[te], x_std[te],
                       vae_ready=pretrained_vae is not None)
    _store_reference(net, feats[tr], x_all[tr], mc.n_reference, rng)
    hist = pd.DataFrame(trainer.history)
    metrics = {"train_seconds": time.perf_counter() - t_start, "n_train": int(tr.size),
               "n_validation": int(te.size), "device": str(dev)}
    for phase, g in hist.groupby("phase"):
        metrics[f"{phase}_best_val_loss"] = float(g["val_loss"].min())
        metrics[f"{phase}_epochs"] = int(g["epoch"].max())
    model = InverseModel(net.cpu().eval(), T=T, ion=ion, field=field, quantity=quantity, param_names=names,
                         dataset_config=dataset_config, dataset_normalizer=dataset_normalizer,
                         train_config=tc.to_dict(), metrics=metrics, observables=observables)
    model.history = hist
    return model


def _store_reference(net, f_tr, x_tr_phys, n_ref, rng):
    """Latents + physical parameters of n_ref training curves (for the VAE plot)."""
    idx = np.sort(rng.permutation(len(f_tr))[: n_ref])
    with torch.no_grad():
        lat = net.latent(f_tr[idx])
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


def train_from_dataset(data, out, *, model_config: ModelConfig | None = None,
                       train_config: TrainConfig | None = None, progress: bool = True,
                       device=None, max_curves: int = 0) -> InverseModel:
    """Train on a dataset folder written by ligandml.dataset and save the model folder `out`
    (weights.safetensors, model.json, history.csv, losses.png). max_curves > 0 uses a random subset
    of that many curves (for quick runs). A multi-observable store (config.observables) gives a
    model that sees all of its observables at once (model.json records their index)."""
    from .dataset import open_dataset
    ds = open_dataset(data)
    curves = np.asarray(ds.curves, dtype=np.float32)
    params = ds.params.reset_index(drop=True)
    split = np.asarray(ds.split)
    if max_curves and max_curves < len(curves):
        sel = np.sort(np.random.default_rng(0).permutation(len(curves))[:max_curves])
        curves, params, split = curves[sel], params.iloc[sel].reset_index(drop=True), split[sel]
    cfg = ds.config
    model = train_model(curves, params, np.asarray(ds.T), split, model_config=model_config,
                        train_config=train_config, ion=cfg.ion, field=cfg.field,
                        quantity=ds.representation, dataset_config=cfg.to_dict(),
                        dataset_normalizer=ds.normalizer.to_dict(), progress=progress, device=device,
                        observables=ds.attrs.get("observables") if cfg.observables is not None else None)
    model.metrics["dataset"] = str(data)
    model.save(out)
    save_history(model, out)
    return model


