"""Ablation of the Hubbard models' training design on the pipeline's data (one seed per fold).

Each variant switches off parts of the design and reports, per fold, the model's test MAE next to the
pooled linear baseline's on the same rows (eV):
  current                   zero-initialised correction, full sanity check (the prior competes for the
                            restored weights), a whole other material as validation for material folds
  random_init               the network's last layer keeps its random initialisation
                            (model.zero_init_correction=false)
  path_val                  validation on the by-path val paths of the training materials
                            (the blocked scheme's validation: path)
  no_sanity                 the initial weights do not compete (Lightning's 2-batch sanity check,
                            trainer.num_sanity_val_steps=2)
  (combine with '+', e.g. random_init+path_val+no_sanity is the design before session 33)
Folds: by_path (the extract split) and lomo_<material>. Further arguments are config overrides
(default model=hubbard_u; e.g. model=hubbard_v, model.weight_decay=1e-3).

    python scripts/hubbard_design_ablation.py random_init+path_val lomo_LiCoO2,lomo_NiO2
    python scripts/hubbard_design_ablation.py current lomo_LiCoO2 model=hubbard_v
(after `dvc repro hubbard_extract`; CPU seconds per fold).
"""

import sys

import numpy as np
from omegaconf import DictConfig

from matdisco.core.config import compose
from matdisco.hubbard import splits
from matdisco.hubbard.data import load_points, table_spec
from matdisco.hubbard.evaluate import scored_rows
from matdisco.hubbard.train import fit_ensemble


def configure(variant: str, extra: list[str]) -> tuple[DictConfig, str]:
    """The composed config of ``variant`` (plus the overrides ``extra``) and the validation rows of its
    material folds (``splits.VALIDATION``)."""
    parts = set(variant.split("+")) - {"current"}
    unknown = parts - {"random_init", "path_val", "no_sanity"}
    if unknown:
        raise SystemExit(f"unknown variant part(s) {sorted(unknown)}")
    overrides = ["data=hubbard", "model=hubbard_u", "params_file=params.yaml", "logger=none"]
    if "no_sanity" in parts:
        overrides.append("trainer.num_sanity_val_steps=2")
    if "random_init" in parts:
        overrides.append("model.zero_init_correction=false")
    return compose(overrides + extra), "path" if "path_val" in parts else "material"


def main(variant: str, folds: list[str], extra: list[str]) -> None:
    cfg, validation = configure(variant, extra)
    points = load_points(cfg)
    runs = splits.split_runs(points, [splits.BY_PATH])
    lomo = {"type": "each", "column": "material", "validation": validation}
    runs += splits.blocked_runs(points, {"lomo": lomo})[0]
    for run in (r for r in runs if r.name in folds):
        ensemble, info = fit_ensemble(cfg, points, run, 1, {})
        rows = scored_rows(points, run, ensemble, table_spec(cfg), int(cfg.data.distinct_decimals))
        model = np.mean(np.abs(rows["pred_eV"] - rows["target_eV"]))
        line = np.mean(np.abs(rows["baseline_linear_pooled_eV"] - rows["target_eV"]))
        val = info["val_mae_eV_members"][0]
        label = " ".join([variant, *extra, run.name])
        print(f"{label}: n {len(rows)} model {model:.3f} linear_pooled {line:.3f} val MAE {val:.3f}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2].split(","), sys.argv[3:])
