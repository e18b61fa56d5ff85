"""``make bench`` for the Hubbard models: prediction throughput and the speed ratio to one hp.x run.

Measured in one process on the CPU with ``torch_num_threads`` threads (settings: ``data.bench`` of
``data=hubbard``): featurisation (occupations -> spin-invariant irreps) and the model forward pass,
for ``bench.n_points`` synthetic sites (U) or pairs (V) in one batch, best of ``bench.repeats``; and the time to predict
every U and V of one real structure (a record of the data set: featurise + both ensembles), which
is what replaces one hp.x run. hp.x CPU times come from the records' ``qe_cpu_timings_s``. When no
trained model exists, a freshly initialised one of the same config is timed (noted).
"""

from __future__ import annotations

import time

import numpy as np
import torch
from torch_geometric.data import Batch

from matdisco.core.config import artifact, compose
from matdisco.core.training import instantiate_model
from matdisco.hubbard import keys as K
from matdisco.hubbard.data import model_dir
from matdisco.hubbard.ensemble import Ensemble
from matdisco.hubbard.features import u_points, v_points
from matdisco.hubbard.records import read_records
from matdisco.hubbard.splits import BY_PATH
from matdisco.hubbard.tables import u_table, v_table

SPECIES = ["Co", "O"]


def _best(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def _ensemble(cfg, model_cfg) -> tuple[Ensemble, str]:
    folder = model_dir(cfg, model_cfg.name) / BY_PATH
    if folder.is_dir():
        return Ensemble.load(folder), "trained by_path ensemble"
    module = instantiate_model(model_cfg, species=SPECIES).eval()
    return Ensemble(
        [module], SPECIES, model_cfg.training.kind, model_cfg.training.target, folder
    ), "untrained (no model yet): speed only"


def _synthetic_record(n: int, rng: np.random.Generator, metal: str = "Co") -> dict:
    """A record-shaped dict with n metal sites, n O sites and n metal-O pairs (random symmetric occupations)."""

    def occ(m):
        a = rng.normal(size=(m, m)) * 0.2
        return [(0.5 * np.eye(m) + a @ a.T).tolist()] * 2

    sites = [
        {
            K.ATOM_INDEX: k + 1,
            K.SPECIES: metal if k < n else "O",
            K.LABEL: metal if k < n else "O",
            K.OCCUPATIONS: occ(5 if k < n else 3),
            K.MAGNETIC_MOMENT: 0.0,
            K.U_IN: 5.0,
            K.U_OUT: 0.0,
        }
        for k in range(2 * n)
    ]
    pairs = [
        {
            K.ATOM_I: k + 1,
            K.ATOM_J: n + k + 1,
            K.ATOM_J_CELL: n + k + 1,
            K.SPECIES_I: metal,
            K.SPECIES_J: "O",
            K.DISTANCE: 1.95,
            K.V_IN: 1.0,
            K.V_OUT: 0.0,
        }
        for k in range(n)
    ]
    return {
        K.RECORD_ID: "bench",
        K.PATH_ID: "bench",
        K.MATERIAL: "bench",
        K.STRAIN: 0.0,
        K.ITERATION: 0,
        K.CONVERGED: False,
        K.SITES: sites,
        K.PAIRS: pairs,
    }


def bench(cfg) -> dict:
    """Throughput of both models and the ratio hp.x wall time / ML prediction time (see module docstring)."""
    u_cfg = compose(["model=hubbard_u", "data=hubbard"]).model
    v_cfg = compose(["model=hubbard_v", "data=hubbard"]).model
    u_model, u_note = _ensemble(cfg, u_cfg)
    v_model, v_note = _ensemble(cfg, v_cfg)
    settings = (cfg.data if cfg.data.get("family") == "hubbard" else compose(["data=hubbard"]).data).bench
    n, repeats = int(settings.n_points), int(settings.repeats)
    metals = [s for s in u_model.vocabulary if s in v_model.vocabulary and s != "O"] or ["Co"]
    record = _synthetic_record(n, np.random.default_rng(int(cfg.get("seed", 0))), metals[0])
    u_rows, v_rows = u_table([record]), v_table([record])
    out: dict = {"torch_threads": torch.get_num_threads(), "n_points": n, "u_model": u_note, "v_model": v_note}
    for name, model, rows, build in (
        ("u", u_model, u_rows[u_rows[K.SPECIES] == metals[0]], u_points),
        ("v", v_model, v_rows, v_points),
    ):
        member = model.members[0]
        featurise = _best(lambda: build(rows, model.vocabulary, member.shells, member.use_hubbard_in), repeats)
        batch = Batch.from_data_list(build(rows, model.vocabulary, member.shells, member.use_hubbard_in))

        def forward():
            with torch.no_grad():
                for m in model.members:
                    m(batch)

        seconds = _best(forward, repeats)
        out[f"{name}_featurise_points_per_s"] = len(rows) / featurise
        out[f"{name}_ensemble_points_per_s"] = len(rows) / seconds
        out[f"{name}_n_members"] = len(model.members)
    records_path = artifact(cfg, "datasets", "hubbard", "records.jsonl")
    records = [r for r in read_records(records_path) if r[K.STATUS] == "ok"] if records_path.is_file() else []
    hp = [r[K.QE_CPU_TIMINGS]["hp"] for r in records if "hp" in r.get(K.QE_CPU_TIMINGS, {})]
    if not hp:
        out["hp_to_ml_speed_ratio"] = None
        out["hp_note"] = f"no records with hp.x CPU times in {records_path}"
        return out
    known = [r for r in records if all(s[K.SPECIES] in u_model.vocabulary for s in r[K.SITES])]
    example = max(known or [record], key=lambda r: len(r[K.SITES]) + len(r[K.PAIRS]))

    def predict_structure():
        u_model.predict(u_table([example]))
        v_model.predict(v_table([example]))

    predict_s = _best(predict_structure, repeats)
    out.update(
        {
            "hp_cpu_s_median": float(np.median(hp)),
            "hp_cpu_s_min": float(np.min(hp)),
            "n_hp_runs": len(hp),
            "structure_for_ratio": example[K.RECORD_ID],
            "ml_predict_structure_s": predict_s,
            "hp_to_ml_speed_ratio": float(np.median(hp)) / predict_s,
            "hp_note": "hp.x CPU seconds (x MPI ranks) that the data set's hp.x runs report; ML: featurise + U and V ensembles, wall on 1 thread",
        }
    )
    return out
