"""Is a material's k mesh converged once U is on? The v3 settings study scans k at iteration 0 (U = V = 0);
the campaign's later iterations run at U ~ 8 eV. This runs iteration 1 of the material's ideal cell (Hubbard
input: hp.x's output of a U = 0 settings point at k ``from``, q 3x3x3, the study's chosen cutoff, read from
``source``) at each k mesh of a list, through the campaign's own code (split hp.x, pieces in the v3 piece
store, so a stopped run resumes). Optional: the q mesh of these runs (default 333) and an occupation mode
other than the material's (``smearing``, ``two_step``: smeared SCF, then fixed occupations at its integer
magnetisation). Records: datasets/hubbard/v3/settings/k_at_u.jsonl, id
``<source point>_<its occupations>_at_k<mesh>_q<mesh>_<occupations of the run>``.

    S=datasets/hubbard/v3/settings
    python scripts/hubbard_k_at_u.py $S/licro2_smearing.jsonl LiCrO2 333 333,444 333 smearing  # hp.x fails: a gap
    python scripts/hubbard_k_at_u.py $S/licro2_smearing.jsonl LiCrO2 333 222 111 two_step       # hp.x runs
    python scripts/hubbard_k_at_u.py $S/convergence.jsonl CoO2 333 222 111                      # as configured
"""

import dataclasses
import json
import sys
from pathlib import Path

from matdisco.core.config import compose
from matdisco.hubbard import keys as K
from matdisco.hubbard.campaign import PathSpec, at_settings, next_hubbard, run_iteration
from matdisco.hubbard.convergence import Point
from matdisco.hubbard.records import merge_records, read_records
from matdisco.hubbard.simulate import campaign_of

SETTINGS = Path("datasets/hubbard/v3/settings")
RECORDS = SETTINGS / "k_at_u.jsonl"
SETTINGS_QPTS = (3, 3, 3)  # the q mesh of the U = 0 points whose output is the Hubbard input


def mesh(text: str) -> tuple[int, int, int]:
    """'333' -> (3, 3, 3)."""
    return tuple(int(c) for c in text)  # type: ignore[return-value]


def main(source: str, material: str, from_k: str, meshes: list[str], qpts: str = "333", occupations: str = "") -> None:
    campaign = campaign_of(compose(["simulate=dfpt_v3_settings", "simulate.root=scratch/hubbard_v3_k_at_u"]))
    ecut = json.loads((SETTINGS / "convergence.json").read_text())["chosen"]["ecut_Ry"]
    source_id = Point(material, "kpts", tuple(ecut), mesh(from_k), SETTINGS_QPTS).record_id
    point = {r[K.RECORD_ID]: r for r in read_records(Path(source))}.get(source_id)
    if point is None or point[K.STATUS] != "ok":
        raise SystemExit(f"no ok settings point {source_id} in {source}")
    done = {r[K.RECORD_ID]: r for r in read_records(RECORDS)}
    cutoffs = {"ecutwfc_Ry": ecut[0], "ecutrho_Ry": ecut[1]}
    for k in meshes:
        at_k, chosen = at_settings(campaign, material, mesh(k), mesh(qpts), cutoffs)
        chosen = dataclasses.replace(chosen, occupations=occupations or chosen.occupations)
        record_id = f"{source_id}_{point[K.SETTINGS]['occupations']}_at_k{k}_q{qpts}_{chosen.occupations}"
        if record_id not in done:
            record = run_iteration(at_k, PathSpec(chosen, 0.0), 1, next_hubbard(point), campaign.root / record_id)
            done[record_id] = {**record, K.RECORD_ID: record_id}
            merge_records(RECORDS, [done[record_id]])
        record = done[record_id]
        values = ", ".join(f"{r[K.ATOM_I]}-{r[K.ATOM_J]} {r[K.VALUE]:.3f}" for r in record.get(K.HUBBARD_OUT, [])[:3])
        print(
            f"{record_id}: {record[K.STATUS]} {record.get(K.REASON, '')[-160:]}, out (eV) {values}, "
            f"gap {record.get(K.GAP_EV)} eV, QE CPU {record.get(K.QE_CPU_TIME, 0):.0f} s"
        )


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4].split(","), *sys.argv[5:7])
