"""Logger factory: Weights & Biases (offline unless a key or ``logger.mode=online``) plus CSV, always.

No code path here needs the network: offline W&B runs land in ``<root>/logs/wandb`` and can be
uploaded later with ``wandb sync``.
"""

from __future__ import annotations

import os
from pathlib import Path

from omegaconf import DictConfig
from pytorch_lightning.loggers import CSVLogger, Logger, WandbLogger


def wandb_mode(logger_cfg: DictConfig) -> str:
    """``online``, ``offline`` or ``disabled``: ``auto`` means online only when ``WANDB_API_KEY`` is set."""
    mode = logger_cfg.get("mode", "auto")
    if mode == "auto":
        return "online" if os.environ.get("WANDB_API_KEY") else "offline"
    if mode not in ("online", "offline", "disabled"):
        raise ValueError(f"logger.mode must be auto, online, offline or disabled, got {mode!r}")
    return mode


def make_loggers(
    cfg: DictConfig, log_root: Path, run_name: str, metadata: dict, group: str | None = None
) -> list[Logger]:
    """CSV logger, and the W&B logger when ``cfg.logger.kind == 'wandb'``, with ``metadata`` as run config.

    ``metadata`` is :func:`matdisco.core.provenance.run_metadata`: composed config, git commit, data hashes.
    """
    log_root = Path(log_root)
    csv_logger = CSVLogger(save_dir=str(log_root / "csv"), name=run_name, version="")
    csv_logger.log_hyperparams({"run": metadata})
    loggers: list[Logger] = [csv_logger]
    if cfg.logger.get("kind") == "wandb" and wandb_mode(cfg.logger) != "disabled":
        os.environ.setdefault("WANDB_SILENT", "true")
        (log_root / "wandb").mkdir(parents=True, exist_ok=True)
        loggers.append(
            WandbLogger(
                project=cfg.logger.project,
                entity=cfg.logger.get("entity"),
                name=run_name,
                group=group or cfg.logger.get("group"),
                tags=list(cfg.logger.get("tags") or []),
                save_dir=str(log_root),
                mode=wandb_mode(cfg.logger),
                config=metadata,
                settings={"silent": True, "disable_git": False},
            )
        )
    return loggers


def finish_loggers(loggers: list[Logger]) -> None:
    """Flush CSV files and close W&B runs so the next run starts clean (sweeps, folds)."""
    for logger in loggers:
        logger.finalize("success")
        if isinstance(logger, WandbLogger):
            logger.experiment.finish()
