"""Build Lightning trainers from ``cfg.trainer`` and fit with loggers and provenance attached."""

from __future__ import annotations

import copy
import importlib
import inspect
import io
import multiprocessing
import os
import pickle
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import hydra
import numpy as np
import pytorch_lightning as pl
import torch
from omegaconf import DictConfig, ListConfig, OmegaConf
from tqdm.auto import tqdm

from matdisco.core.config import CONF_DIR
from matdisco.core.errors import InputError
from matdisco.core.io import atomic_write_bytes
from matdisco.core.loggers import finish_loggers, make_loggers

# Keys of conf/trainer/*.yaml that are ours, not pl.Trainer arguments.
_OWN_TRAINER_KEYS = ("name", "early_stopping_patience", "monitor", "parallel_fits")

_IN_FIT_WORKER = False
"""True in a :func:`run_fits` worker process (set by :func:`_in_worker`): its trainers draw no progress bar."""

# Keys of conf/model/*.yaml that are ours, not arguments of the module named by `_target_`:
# identity, and the settings blocks of the steps that use the model.
OWN_MODEL_KEYS = ("name", "family", "training", "evaluate", "generate", "bench")


def instantiate_model(model_cfg: DictConfig, **runtime) -> pl.LightningModule:
    """Build the module of ``model_cfg`` (``_target_``, ``_partial_: true``) with run-time arguments.

    Every key except ``OWN_MODEL_KEYS`` is a constructor argument; of ``runtime`` (sizes known only
    from the data, e.g. ``n_types``) only those the constructor accepts are passed.
    """
    arguments = {key: value for key, value in model_cfg.items() if key not in OWN_MODEL_KEYS}
    factory = hydra.utils.instantiate(arguments)
    accepted = inspect.signature(factory.func).parameters
    return factory(**{key: value for key, value in runtime.items() if key in accepted})


def save_module(path: Path, module: pl.LightningModule, **extra) -> None:
    """Save class path, hyperparameters and weights (plus ``extra`` entries) to ``path`` atomically.

    Everything is stored as plain containers, numbers, strings and tensors, so the file loads with
    ``torch.load(..., weights_only=True)`` (no code runs on loading). Serialised in memory first:
    torch names the archive after the file it writes, and the temporary file's random name would
    make equal models differ byte for byte (and DVC hashes with them).
    """
    payload = {
        "class": f"{type(module).__module__}.{type(module).__qualname__}",
        "hyper_parameters": _plain(dict(module.hparams)),
        "state_dict": module.state_dict(),
        **_plain(extra),
    }
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    atomic_write_bytes(path, buffer.getvalue())


def _plain(value):
    """``value`` with OmegaConf containers, tuples and numpy scalars/arrays made plain Python (tensors kept)."""
    if isinstance(value, (DictConfig, ListConfig)):
        return OmegaConf.to_container(value, resolve=True)
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, np.generic | np.ndarray):
        return value.tolist()
    return value


def model_classes() -> dict[str, str]:
    """The registry of loadable classes: ``_target_`` of every ``conf/model/*.yaml`` -> its config name."""
    registry = {}
    for path in sorted((CONF_DIR / "model").glob("*.yaml")):
        target = OmegaConf.load(path).get("_target_")
        if target:
            registry[target] = path.stem
    return registry


def load_module(path: Path) -> tuple[pl.LightningModule, dict]:
    """Module saved by :func:`save_module`, in eval mode, and the whole saved payload.

    Loads with ``weights_only=True``; the class must be one of :func:`model_classes`.
    """
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        raise InputError(
            f"model file {path} holds more than weights and settings ({err})".splitlines()[0],
            expected="a file written by matdisco.core.training.save_module; retrain it",
        ) from None
    class_path = payload.get("class")
    if class_path not in model_classes():
        raise InputError(f"model file {path} names class {class_path!r}", expected=f"one of {sorted(model_classes())}")
    module_name, class_name = class_path.rsplit(".", 1)
    module = getattr(importlib.import_module(module_name), class_name)(**payload["hyper_parameters"])
    module.load_state_dict(payload["state_dict"])
    return module.eval(), payload


def member_path(split_dir: Path, member: int) -> Path:
    """Where ensemble member ``member`` of one trained split is saved: ``split_dir/member_<member>.pt``."""
    return Path(split_dir) / f"member_{member}.pt"


def load_members(split_dir: Path, expected: str) -> tuple[list[pl.LightningModule], dict]:
    """Every ensemble member of ``split_dir`` (:func:`member_path` files in name order, each through
    :func:`load_module`, in eval mode) and the saved payload of the first (the extras the family saved with it,
    e.g. its vocabulary). :class:`InputError` naming the folder and ``expected`` (the stage that writes it)
    when it holds none."""
    files = sorted(Path(split_dir).glob("member_*.pt"))
    if not files:
        raise InputError("no trained ensemble members (member_*.pt)", where=str(split_dir), expected=expected)
    loaded = [load_module(path) for path in files]
    return [module for module, _ in loaded], loaded[0][1]


class RestoreBestWeights(pl.Callback):
    """Keep an in-memory copy of the weights at the best ``monitor`` value; restore them when fit ends.

    With ``trainer.num_sanity_val_steps: -1`` the sanity check scores the whole validation set before
    the first step, and the initial weights are a candidate too (a model that starts at a baseline,
    e.g. the Hubbard models' prior line, then ends no worse than it on validation).
    Under DDP each process validates its own share of the data: the value is averaged over the
    processes first, so that all of them keep (and restore) the weights of the same epoch."""

    def __init__(self, monitor: str):
        self.monitor = monitor
        self.best = float("inf")
        self.best_state: dict | None = None

    def on_validation_end(self, trainer: pl.Trainer, module: pl.LightningModule) -> None:
        value = trainer.callback_metrics.get(self.monitor)
        if value is not None and trainer.world_size > 1:
            value = trainer.strategy.reduce(torch.as_tensor(float(value)), reduce_op="mean")
        counts = not trainer.sanity_checking or trainer.num_sanity_val_steps == float("inf")
        if value is not None and float(value) < self.best and counts:
            self.best = float(value)
            self.best_state = copy.deepcopy(module.state_dict())

    def on_fit_end(self, trainer: pl.Trainer, module: pl.LightningModule) -> None:
        if self.best_state is not None:
            module.load_state_dict(self.best_state)


def build_trainer(
    trainer: DictConfig, loggers: list, callbacks: list | None = None, root_dir: Path | None = None
) -> pl.Trainer:
    """``pl.Trainer`` from ``trainer`` (the section ``trainer``, minus our own keys) with the given loggers.

    Epochs and patience are ``trainer.max_epochs`` / ``trainer.early_stopping_patience`` for every
    model (each model's defaults: conf/schedule/<model>.yaml).

    Adds :class:`RestoreBestWeights` on ``trainer.monitor`` and, if ``early_stopping_patience`` is
    set, early stopping on the same metric. In a :func:`run_fits` worker the Lightning progress bar is off
    (the parent's bar counts the finished fits).
    """
    kwargs = OmegaConf.to_container(trainer, resolve=True)
    monitor = kwargs.get("monitor", "val/loss")
    patience = kwargs.get("early_stopping_patience")
    for key in _OWN_TRAINER_KEYS:
        kwargs.pop(key, None)
    if _IN_FIT_WORKER:
        kwargs["enable_progress_bar"] = False
    callbacks = list(callbacks or []) + [RestoreBestWeights(monitor)]
    if patience:
        callbacks.append(pl.callbacks.EarlyStopping(monitor=monitor, patience=patience, mode="min"))
    return pl.Trainer(
        logger=loggers,
        callbacks=callbacks,
        default_root_dir=str(root_dir) if root_dir else None,
        enable_checkpointing=False,
        **kwargs,
    )


def run_fits(fit_one: Callable, jobs: Sequence, desc: str, parallel_fits: int, torch_num_threads: int) -> list:
    """``[fit_one(job) for job in jobs]``, with up to ``parallel_fits`` (``trainer.parallel_fits``) at once.

    Each fit seeds itself from its job, so the results (in ``jobs`` order) do not depend on the number
    of workers. Workers are fresh (spawned) processes on ``torch_num_threads`` threads each, with the
    Lightning progress bar off (the bar here counts finished fits); ``fit_one`` must pickle (a module-level
    function, or a ``functools.partial`` of one with the config it needs). One worker runs everything in
    this process.
    """
    n_workers = min(parallel_fits, len(jobs))
    if n_workers <= 1:
        return [fit_one(job) for job in tqdm(jobs, desc=desc, unit="fit")]
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        n_workers, mp_context=context, initializer=exit_with_parent, initargs=(os.getpid(),)
    ) as pool:
        futures = [pool.submit(_in_worker, fit_one, job, torch_num_threads) for job in jobs]
        for _ in tqdm(as_completed(futures), total=len(futures), desc=f"{desc} ({n_workers} at once)", unit="fit"):
            pass
        return [future.result() for future in futures]


PARENT_POLL_S = 0.5
"""How often a fit worker checks that the process that started it is still alive (seconds)."""


def exit_with_parent(parent_pid: int) -> None:
    """Worker initializer: end this worker as soon as ``parent_pid`` is gone (a ``kill -9`` of the
    step leaves no orphan fits writing into its staging folder). Polls from a daemon thread."""

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(PARENT_POLL_S)
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def _in_worker(fit_one: Callable, job, torch_num_threads: int):
    """One fit in a worker process, on ``torch_num_threads`` torch threads."""
    global _IN_FIT_WORKER
    _IN_FIT_WORKER = True
    torch.set_num_threads(torch_num_threads)
    return fit_one(job)


def fit(
    cfg: DictConfig,
    module: pl.LightningModule,
    datamodule: pl.LightningDataModule,
    log_root: Path,
    run_name: str,
    metadata: dict,
    group: str | None = None,
    callbacks: list | None = None,
) -> dict[str, float]:
    """Fit ``module`` on ``datamodule`` with fresh loggers; return the final logged metrics as floats."""
    loggers = make_loggers(cfg, log_root, run_name, metadata, group=group)
    trainer = build_trainer(cfg.trainer, loggers, callbacks, root_dir=log_root)
    try:
        trainer.fit(module, datamodule=datamodule)
    finally:
        finish_loggers(loggers)
    return {key: float(value) for key, value in trainer.callback_metrics.items()}
