"""Hydra entry for the `train` step: compose conf/, then run matdisco.<family>.train(cfg)."""

import hydra
from omegaconf import DictConfig

from matdisco.core.steps import run_step


@hydra.main(version_base="1.3", config_path="../conf", config_name="config")
def main(cfg: DictConfig) -> float | None:
    """Run the step; the return value is the sweep objective where the step has one."""
    return run_step("train", cfg)


if __name__ == "__main__":
    main()
