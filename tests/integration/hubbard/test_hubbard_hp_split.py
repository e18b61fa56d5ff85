"""hp.x split into (perturbed atom, q point) pieces, run as separate hp.x runs on private copies of the
SCF output and collected, gives the U and V of one unsplit hp.x run: one iteration of the tiny NiO2
path (simulate=dfpt_tiny, real pw.x and hp.x) with q 2x2x2, so that there are two perturbed atoms
(Ni, O) and more than one q point each."""

import re
import shutil

import numpy as np
import pytest

from matdisco.core.config import compose
from matdisco.hubbard import keys as K
from matdisco.hubbard.campaign import campaign_from_config, initial_hubbard, plan, run_iteration

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("hp.x") is None, reason="Quantum ESPRESSO not installed (make qe)"),
]


def test_split_hp_equals_one_hp_run(tmp_path):
    cfg = compose(["simulate=dfpt_tiny", "simulate.materials.NiO2.qpts=[2,2,2]", "simulate.mpi_ranks=1"])
    records = {}
    for pieces in (0, 2):
        campaign = campaign_from_config(
            cfg.simulate, tmp_path / f"p{pieces}", tmp_path / "r.jsonl", tmp_path / "f.jsonl"
        )
        campaign.hp_parallel_pieces = pieces
        path = plan(campaign)[0]
        folder = campaign.root / path.path_id / "iter_0"
        records[pieces] = run_iteration(campaign, path, 0, initial_hubbard(path), folder)
        assert records[pieces][K.STATUS] == "ok", records[pieces].get(K.REASON)
    pieces_dir = tmp_path / "p2" / path.path_id / "iter_0" / "hp_pieces"
    names = sorted(p.name for p in pieces_dir.iterdir() if re.fullmatch(r"a\d+_q\d+", p.name))
    assert {n.split("_")[0] for n in names} == {"a1", "a2"} and len(names) > 2, names  # atoms x q points
    one, split = records[0], records[2]
    assert split[K.HUBBARD_OUT] == one[K.HUBBARD_OUT]
    assert [s[K.U_OUT] for s in split[K.SITES]] == [s[K.U_OUT] for s in one[K.SITES]]
    assert [p[K.V_OUT] for p in split[K.PAIRS]] == [p[K.V_OUT] for p in one[K.PAIRS]]
    for site_split, site_one in zip(split[K.SITES], one[K.SITES]):  # Ni 5x5, O 3x3 per spin
        np.testing.assert_allclose(site_split[K.OCCUPATIONS], site_one[K.OCCUPATIONS])
