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
from matdisco.hubbard.qe import hp_split
from matdisco.hubbard.qe.hp_split import keep_piece
from matdisco.hubbard.qe.run import QEInterrupted

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


def test_split_hp_resumes_from_its_piece_store_on_a_fresh_scratch(tmp_path):
    # a session ends mid-hp.x, the next one is a fresh machine: only the store (committed data) survives
    cfg = compose(["simulate=dfpt_tiny", "simulate.materials.NiO2.qpts=[2,2,2]", "simulate.mpi_ranks=1"])
    store_root = tmp_path / "store"

    def run(scratch):
        campaign = campaign_from_config(cfg.simulate, scratch, tmp_path / "r.jsonl", tmp_path / "f.jsonl")
        campaign.hp_parallel_pieces, campaign.piece_store = 2, store_root
        path = plan(campaign)[0]
        folder = campaign.root / path.path_id / "iter_0"
        store = store_root / path.path_id / "iter_0"
        stored = {}
        original = keep_piece

        def keep_and_stop(store_dir, where, prefix, piece):  # the machine goes down after the 4th piece
            original(store_dir, where, prefix, piece)
            stored[piece.name] = where
            if scratch.name == "first" and len(stored) == 4:
                raise QEInterrupted("machine shut down")

        return campaign, path, folder, store, keep_and_stop

    campaign, path, folder, store, stop_after_four = run(tmp_path / "first")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(hp_split, "keep_piece", stop_after_four)
        with pytest.raises(QEInterrupted):
            run_iteration(campaign, path, 0, initial_hubbard(path), folder)
    # the 4th piece, the one running beside it, and the one that worker took before the stop was seen
    kept = sorted(p.stem for p in store.glob("a*_q*.json"))
    assert 4 <= len(kept) <= 6, kept

    campaign, path, folder, store, _ = run(tmp_path / "second")
    resumed = run_iteration(campaign, path, 0, initial_hubbard(path), folder)
    assert resumed[K.STATUS] == "ok", resumed.get(K.REASON)
    ran_again = sorted(p.parent.name for p in (folder / "hp_pieces").glob("a*_q*/hp.out"))
    assert not set(ran_again) & set(kept), "stored pieces are not run again"
    assert ran_again and not store.exists(), "the missing pieces ran; the finished record spends its store"

    campaign_one, path, folder_one, _, _ = run(tmp_path / "unsplit")
    campaign_one.hp_parallel_pieces = 0
    one = run_iteration(campaign_one, path, 0, initial_hubbard(path), folder_one)
    assert [s[K.U_OUT] for s in resumed[K.SITES]] == [s[K.U_OUT] for s in one[K.SITES]]
    assert [p[K.V_OUT] for p in resumed[K.PAIRS]] == [p[K.V_OUT] for p in one[K.PAIRS]]
    assert resumed[K.QE_CPU_TIMINGS]["hp_pieces"] > 0, "the pieces' CPU (stored ones too) is counted"
