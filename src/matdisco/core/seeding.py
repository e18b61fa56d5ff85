"""One place that seeds every random generator from the config's ``seed``."""

from __future__ import annotations

import random

import numpy as np
import torch


def seed_everything(seed: int) -> np.random.Generator:
    """Seed Python, NumPy and torch (CPU and CUDA) and return a NumPy generator for local use."""
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)
    return np.random.default_rng(seed)


def member_seed(seed: int, member: int) -> int:
    """Seed of ensemble member ``member``: member 0 uses ``seed``, the others are spread by a prime."""
    return seed + 7919 * member
