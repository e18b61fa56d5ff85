"""Is a material's k mesh converged once U is on? The v3 settings study scans k at iteration 0 (U = V = 0),
where LiCrO2 is smeared and gapless and its U(Cr) was not monotonic in k (k3 7.937, k4 7.114, k5 7.909 eV);
the campaign's later iterations run at U ~ 8 eV. This runs iteration 1 of the material's ideal cell (Hubbard
input: hp.x's output of the U = 0 point at k ``from``) at each k mesh of a list, at the study's chosen cutoff
and q 3x3x3, through the campaign's own code (split hp.x, pieces in the v3 piece store, so a stopped run
resumes). Optional: the q mesh of these runs (default 333) and an occupation mode other than the material's
(``two_step``: smeared SCF, then fixed occupations at its integer magnetisation). Records:
datasets/hubbard/v3/settings/k_at_u.jsonl (id ``<U = 0 point>_at_k<mesh>[_q<mesh>][_<occupations>]``).

    nohup nice -n 19 python scripts/hubbard_k_at_u.py LiCrO2 333 333,444 > scratch/k_at_u.log 2>&1 &
    python scripts/hubbard_k_at_u.py LiCrO2 333 222 111 two_step      # iteration 1 at k2, q Gamma, two_step
"""

import dataclasses
import json
import sys
from pathlib import Path

from matdisco.core.config import compose
from matdisco.hubbard import keys as K
from matdisco.hubbard.campaign import PathSpec, at_settings, next_hubbard, run_iteration
from matdisco.hubbard.records import merge_records, read_records
from matdisco.hubbard.simulate import campaign_of

SETTINGS = Path("datasets/hubbard/v3/settings")
RECORDS = SETTINGS / "k_at_u.jsonl"
SETTINGS_QPTS = (3, 3, 3)  # the q mesh of the U = 0 points whose output is the Hubbard input


def mesh(text: str) -> tuple[int, int, int]:
    """'333' -> (3, 3, 3)."""
    return tuple(int(c) for c in text)  # type: ignore[return-value]


def main(material: str, from_k: str, meshes: list[str], qpts: str = "333", occupations: str | None = None) -> None:
    campaign = campaign_of(compose(["simulate=dfpt_v3_settings", "simulate.root=scratch/hubbard_v3_k_at_u"]))
    ecut = json.loads((SETTINGS / "convergence.json").read_text())["chosen"]["ecut_Ry"]
    source_id = f"{material}/ecut{ecut[0]:g}-{ecut[1]:g}_k{from_k}_q{''.join(map(str, SETTINGS_QPTS))}"
    source = {r[K.RECORD_ID]: r for r in read_records(SETTINGS / "convergence.jsonl")}.get(source_id)
    if source is None or source[K.STATUS] != "ok":
        raise SystemExit(f"no ok settings point {source_id} in {SETTINGS / 'convergence.jsonl'}")
    done = {r[K.RECORD_ID]: r for r in read_records(RECORDS)}
    cutoffs = {"ecutwfc_Ry": ecut[0], "ecutrho_Ry": ecut[1]}
    for k in meshes:
        suffix = ("" if qpts == "333" else f"_q{qpts}") + (f"_{occupations}" if occupations else "")
        record_id = f"{source_id}_at_k{k}{suffix}"
        if record_id not in done:
            at_k, chosen = at_settings(campaign, material, mesh(k), mesh(qpts), cutoffs)
            if occupations:
                chosen = dataclasses.replace(chosen, occupations=occupations)
            record = run_iteration(at_k, PathSpec(chosen, 0.0), 1, next_hubbard(source), campaign.root / record_id)
            done[record_id] = {**record, K.RECORD_ID: record_id}
            merge_records(RECORDS, [done[record_id]])
        record = done[record_id]
        values = ", ".join(f"{r[K.ATOM_I]}-{r[K.ATOM_J]} {r[K.VALUE]:.3f}" for r in record.get(K.HUBBARD_OUT, [])[:3])
        gap = record.get(K.GAP_EV)
        print(
            f"{record_id}: {record[K.STATUS]} {record.get(K.REASON, '')[-160:]}, out (eV) {values}, "
            f"gap {gap} eV, QE CPU {record.get(K.QE_CPU_TIME, 0):.0f} s"
        )


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3].split(","), *sys.argv[4:6])
