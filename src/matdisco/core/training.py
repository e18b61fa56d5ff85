"""Build Lightning trainers from ``cfg.trainer`` and fit with loggers and provenance attached."""

from __future__ import annotations

from pathlib import Path

import pytorch_lightning as pl
from omegaconf import DictConfig, OmegaConf

from matdisco.core.loggers import finish_loggers, make_loggers

# Keys of conf/trainer/*.yaml that are ours, not pl.Trainer arguments.
_OWN_TRAINER_KEYS = ("name", "early_stopping_patience", "monitor")


def build_trainer(cfg: DictConfig, loggers: list, callbacks: list | None = None, root_dir: Path | None = None) -> pl.Trainer:
    """``pl.Trainer`` from ``cfg.trainer`` (minus our own keys), deterministic, with the given loggers."""
    kwargs = OmegaConf.to_container(cfg.trainer, resolve=True)
    for key in _OWN_TRAINER_KEYS:
        kwargs.pop(key, None)
    callbacks = list(callbacks or [])
    patience = cfg.trainer.get("early_stopping_patience")
    if patience:
        callbacks.append(pl.callbacks.EarlyStopping(monitor=cfg.trainer.get("monitor", "val/loss"), patience=patience, mode="min"))
    return pl.Trainer(logger=loggers, callbacks=callbacks, default_root_dir=str(root_dir) if root_dir else None, enable_checkpointing=False, **kwargs)


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
    trainer = build_trainer(cfg, loggers, callbacks, root_dir=log_root)
    try:
        trainer.fit(module, datamodule=datamodule)
    finally:
        finish_loggers(loggers)
    return {key: float(value) for key, value in trainer.callback_metrics.items()}
