"""`core.training.run_fits`: the same results, in job order, whether fits run here or in workers."""

import os

import torch
from omegaconf import OmegaConf

from matdisco.core.training import run_fits


def seeded_draw(cfg, job: int) -> tuple[int, list[float], int]:
    """A stand-in fit: seeded by its job, reports the draw and the process that made it."""
    torch.manual_seed(1000 + job)
    return job, torch.rand(3, dtype=torch.float64).tolist(), os.getpid()


def _cfg(parallel_fits: int):
    return OmegaConf.create(
        {"torch_num_threads": 1, "trainer": {"parallel_fits": parallel_fits, "enable_progress_bar": True}}
    )


def test_parallel_fits_give_the_serial_results_in_job_order():
    jobs = [3, 0, 2, 1]
    serial = run_fits(_cfg(1), seeded_draw, jobs, desc="serial")
    parallel = run_fits(_cfg(2), seeded_draw, jobs, desc="parallel")
    assert [r[:2] for r in parallel] == [r[:2] for r in serial]
    assert [r[0] for r in parallel] == jobs
    assert {r[2] for r in serial} == {os.getpid()}
    assert os.getpid() not in {r[2] for r in parallel}, "parallel fits run in worker processes"
