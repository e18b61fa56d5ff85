"""Shared fixtures: config composition with every artifact folder moved under a temporary path."""

from __future__ import annotations

import os

import pytest

from matdisco.core.config import compose

os.environ.setdefault("WANDB_MODE", "offline")
os.environ.setdefault("WANDB_SILENT", "true")
ARTIFACT_KINDS = ("raw", "processed", "datasets", "models", "metrics", "plots", "results", "logs")


@pytest.fixture
def make_cfg(tmp_path):
    """Compose conf/ with overrides; every ``paths.*`` folder lies under ``tmp_path``."""

    def _make(*overrides: str, keep_paths: tuple[str, ...] = ()):
        paths = [f"paths.{kind}={tmp_path / kind}" for kind in ARTIFACT_KINDS if kind not in keep_paths]
        return compose(
            paths + ["paths.allow_outside_project=true", "logger=csv", "trainer.enable_progress_bar=false", *overrides]
        )

    return _make
