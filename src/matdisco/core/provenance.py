"""What every run records about itself: composed config, git commit, data hashes."""

from __future__ import annotations

import subprocess
from collections.abc import Iterable
from pathlib import Path

from omegaconf import DictConfig

from matdisco.core.config import to_plain
from matdisco.core.io import file_md5, tree_md5


def git_commit() -> str:
    """Current commit hash, with ``-dirty`` when the tree has changes; ``unknown`` outside git."""
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit + ("-dirty" if dirty else "")


def data_hashes(paths: Iterable[str | Path]) -> dict[str, str]:
    """MD5 of each existing file (or folder, over its contents), keyed by path."""
    hashes = {}
    for path in map(Path, paths):
        if path.is_file():
            hashes[str(path)] = file_md5(path)
        elif path.is_dir():
            hashes[str(path)] = tree_md5(path)
    return hashes


def run_metadata(cfg: DictConfig, data_paths: Iterable[str | Path] = ()) -> dict:
    """Dict of the resolved config, the git commit and the input data hashes for one run."""
    return {"config": to_plain(cfg), "git_commit": git_commit(), "data_md5": data_hashes(data_paths)}
