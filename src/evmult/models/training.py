"""The training loop the torch generators share: AdamW, cosine learning rate, early
stopping on a validation split, seeded, NaN-refusing, with a progress bar; the device
it runs on and the event weights a conditional model learns."""

from __future__ import annotations

import contextlib
import contextvars
import copy
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from evmult.encoding import Mirror
from evmult.errors import InputError, TrainingError

__all__ = [
    "TrainSettings",
    "autocast",
    "epoch_hook",
    "per_label_weights",
    "pick_device",
    "reflections",
    "train",
]


_EPOCH_HOOK: contextvars.ContextVar[Callable[[str, int, float], None] | None] = (
    contextvars.ContextVar("evmult_epoch_hook", default=None)
)


@contextlib.contextmanager
def epoch_hook(hook: Callable[[str, int, float], None]) -> Iterator[None]:
    """Within the block, every :func:`train` calls ``hook(label, epoch, loss)`` after
    each epoch with its validation loss (the training loss without a validation
    split); an exception the hook raises stops the training and propagates (how a
    hyper-parameter search prunes a trial, :mod:`evmult.tune`)."""
    token = _EPOCH_HOOK.set(hook)
    try:
        yield
    finally:
        _EPOCH_HOOK.reset(token)


def per_label_weights(weights: np.ndarray, index: np.ndarray) -> np.ndarray:
    """Event weights scaled to a mean of 1 within every label.

    A conditional model learns each label's distribution (the weights within a label
    shape it) and keeps each label's yield apart (``Generator.info``); scaled so, a
    label of small weights (a process with a small cross-section) is not learned less
    carefully than the others. A label whose weights do not sum to a positive number
    counts its events.

    Args:
        weights: event weights.
        index: each event's label index.

    Example:
        >>> per_label_weights(np.array([10.0, 30.0, 1.0]), np.array([0, 0, 1])).tolist()
        [0.5, 1.5, 1.0]
    """
    out = np.asarray(weights, np.float64).copy()
    for k in np.unique(index):
        members = index == k
        total = out[members].sum()
        out[members] = out[members] * members.sum() / total if total > 0 else 1.0
    return out


def pick_device(device: str = "auto") -> torch.device:
    """The torch device to train on: ``"auto"`` takes CUDA when present, else the CPU.

    Raises:
        InputError: if a CUDA device is asked for and none is available.
    """
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        msg = f"device {device!r} requested but torch sees no CUDA device"
        raise InputError(msg)
    return dev


@dataclass(frozen=True)
class TrainSettings:
    """How to train.

    Args:
        epochs: maximum number of passes over the training split.
        batch_size: events per step.
        lr: peak learning rate (AdamW), annealed to 0 on a cosine over ``epochs``.
        weight_decay: AdamW weight decay.
        patience: stop after this many epochs without a better validation loss.
        val_fraction: share of the events held out for early stopping.
        min_steps: at least this many optimiser steps: small samples get more epochs
            (3,000 events in batches of 512 make only 6 steps an epoch).
        device: ``"auto"`` (CUDA when present), ``"cpu"`` or ``"cuda[:i]"``.
        amp: mixed precision (bfloat16 autocast) in the forward pass.
    """

    epochs: int = 100
    batch_size: int = 512
    lr: float = 1e-3
    weight_decay: float = 1e-4
    patience: int = 10
    val_fraction: float = 0.1
    min_steps: int = 3000
    device: str = "auto"
    amp: bool = False


@contextlib.contextmanager
def autocast(device: torch.device, enabled: bool) -> Iterator[None]:
    """bfloat16 autocast on ``device`` when ``enabled`` (CPU and CUDA both support it)."""
    if not enabled:
        yield
        return
    with torch.autocast(device_type=device.type, dtype=torch.bfloat16):
        yield


def train(
    module: torch.nn.Module,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    x: np.ndarray,
    weights: np.ndarray,
    settings: TrainSettings,
    *,
    noise: np.ndarray | None = None,
    augment: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
    holdout: np.ndarray | None = None,
    seed: int,
    progress: bool = False,
    label: str = "training",
) -> dict[str, Any]:
    """Minimise ``loss_fn(batch, batch_weights)`` over ``x``; keep the best state.

    Args:
        module: the model (moved to the chosen device, left in eval mode on the CPU).
        loss_fn: mean loss of a batch, given its per-event weights (mean 1).
        x: encoded events (float32).
        weights: event weights (non-negative; normalised to mean 1).
        settings: the :class:`TrainSettings`.
        noise: per-entry width of Gaussian noise added to ``x``, drawn afresh for
            every batch (dequantisation, absent objects); the validation split gets one
            fixed draw.
        augment: maps a training batch (and its noise widths) to a randomly transformed
            one before the noise is added, e.g. :func:`reflections`; the validation
            split is left as it is.
        holdout: which events (a boolean mask) are held out for early stopping;
            default: a random ``settings.val_fraction`` of them.
        seed: seed of the split, the shuffling and the initial state.
        progress: show a tqdm bar with the losses.
        label: the progress bar's description.

    Returns:
        The training record: epochs run, best epoch, losses per epoch, seconds, device.

    Raises:
        TrainingError: if a loss becomes NaN or infinite.
    """
    from tqdm.auto import tqdm

    device = pick_device(settings.device)
    gen = torch.Generator().manual_seed(seed)
    n = len(x)
    if holdout is None:
        perm = torch.randperm(n, generator=gen)
        n_val = max(1, round(settings.val_fraction * n)) if n > 10 else 0
        val_idx, train_idx = perm[:n_val], perm[n_val:]
    else:
        held = torch.as_tensor(np.asarray(holdout, dtype=bool))
        val_idx, train_idx = torch.nonzero(held)[:, 0], torch.nonzero(~held)[:, 0]
        n_val = len(val_idx)
    w = np.asarray(weights, np.float64)
    w = w / w.mean() if w.mean() > 0 else np.ones_like(w)
    xt = torch.as_tensor(x, dtype=torch.float32)
    wt = torch.as_tensor(w, dtype=torch.float32)
    st = torch.zeros_like(xt) if noise is None else torch.as_tensor(noise, dtype=torch.float32)
    x_train, w_train = xt[train_idx].to(device), wt[train_idx].to(device)
    s_train = st[train_idx].to(device)
    x_val = xt[val_idx] + st[val_idx] * torch.randn(len(val_idx), x.shape[1], generator=gen)
    x_val, w_val = x_val.to(device), wt[val_idx].to(device)
    module.to(device)
    opt = torch.optim.AdamW(module.parameters(), lr=settings.lr, weight_decay=settings.weight_decay)
    steps_per_epoch = math.ceil(len(train_idx) / settings.batch_size)
    epochs = max(settings.epochs, math.ceil(settings.min_steps / steps_per_epoch))
    total_steps = epochs * steps_per_epoch
    # warm up over 5 % of the steps, but at least 1.5 of them: OneCycleLR divides by zero
    # where the warm-up is exactly one step (e.g. 20 steps in all)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt,
        max_lr=settings.lr,
        total_steps=total_steps,
        pct_start=min(0.3, max(0.05, 1.5 / total_steps)),
    )
    best, best_state, best_epoch, since = math.inf, None, 0, 0
    history: list[dict[str, float]] = []
    start = time.perf_counter()
    bar = tqdm(range(epochs), desc=label, disable=not progress, leave=False)
    for epoch in bar:
        module.train()
        order = torch.randperm(len(train_idx), generator=gen).to(device)
        total = 0.0
        for b in range(steps_per_epoch):
            idx = order[b * settings.batch_size : (b + 1) * settings.batch_size]
            batch = x_train[idx] if augment is None else augment(x_train[idx], s_train[idx])
            batch = batch + s_train[idx] * torch.randn_like(batch)
            with autocast(device, settings.amp):
                loss = loss_fn(batch, w_train[idx])
            if not torch.isfinite(loss):
                msg = (
                    f"{label}: the loss became {loss.item()} at epoch {epoch + 1}, batch "
                    f"{b + 1}; lower the learning rate (now {settings.lr:g}) or check the "
                    "input for extreme values"
                )
                raise TrainingError(msg)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(module.parameters(), 10.0)
            opt.step()
            sched.step()
            total += loss.item() * len(idx)
        train_loss = total / max(len(train_idx), 1)
        val_loss = _evaluate(module, loss_fn, x_val, w_val, device, settings)
        history.append({"train": train_loss, "val": val_loss})
        bar.set_postfix(train=f"{train_loss:.4f}", val=f"{val_loss:.4f}")
        score = val_loss if n_val else train_loss
        hook = _EPOCH_HOOK.get()
        if hook is not None:
            hook(label, epoch, score)
        if score < best - 1e-5:
            best, best_epoch, since = score, epoch, 0
            best_state = copy.deepcopy(module.state_dict())
        else:
            since += 1
            if since >= settings.patience:
                break
    bar.close()
    if best_state is not None:
        module.load_state_dict(best_state)
    module.to("cpu").eval()
    return {
        "epochs_run": len(history),
        "best_epoch": best_epoch + 1,
        "best_val_loss": best,
        "history": history,
        "seconds": time.perf_counter() - start,
        "device": str(device),
    }


@torch.no_grad()
def _evaluate(
    module: torch.nn.Module,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    w: torch.Tensor,
    device: torch.device,
    settings: TrainSettings,
) -> float:
    if len(x) == 0:
        return math.nan
    module.eval()
    total = 0.0
    for b in range(0, len(x), 4096):
        with autocast(device, settings.amp):
            total += loss_fn(x[b : b + 4096], w[b : b + 4096]).item() * len(x[b : b + 4096])
    value = total / len(x)
    if not math.isfinite(value):
        msg = f"the validation loss became {value}; lower the learning rate"
        raise TrainingError(msg)
    return value


def reflections(mirror: Mirror) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """A training-batch augmentation (see :func:`train`) that reflects each event's η's
    with probability 1/2 and, independently, its azimuths (see
    :meth:`evmult.encoding.Encoding.mirror`); entries with noise (absent objects) stay
    as they are. Draws from torch's global random generator.
    """
    eta = torch.tensor(mirror.eta, dtype=torch.long)
    eta_shift = torch.tensor([2 * c.mean / c.std for c in mirror.eta_columns])
    phi = torch.tensor(mirror.phi, dtype=torch.long)
    mean = torch.tensor([c.mean for c in mirror.phi_columns])
    std = torch.tensor([c.std for c in mirror.phi_columns])
    centre2 = torch.tensor([2 * c.centre for c in mirror.phi_columns])

    def reflect(x: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        out = x.clone()
        dev = x.device
        if len(eta):
            j = eta.to(dev)
            flip = (torch.rand(len(x), 1, device=dev) < 0.5) & (noise[:, j] == 0)
            out[:, j] = torch.where(flip, -x[:, j] - eta_shift.to(dev), x[:, j])
        if len(phi):
            j, m, s = phi.to(dev), mean.to(dev), std.to(dev)
            flip = (torch.rand(len(x), 1, device=dev) < 0.5) & (noise[:, j] == 0)
            v = -(x[:, j] * s + m) - centre2.to(dev)
            v = torch.remainder(v + math.pi, 2 * math.pi) - math.pi
            out[:, j] = torch.where(flip, (v - m) / s, x[:, j])
        return out

    return reflect
