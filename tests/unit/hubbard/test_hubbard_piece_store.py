"""The hp.x piece store: finished (perturbed atom, q point) pieces kept outside the scratch space and
put back on another machine, tied to the inputs they were computed from."""

import json

from matdisco.hubbard.qe.hp_split import (
    PIECE_FILE,
    PIECES,
    Piece,
    Progress,
    inputs_key,
    keep_piece,
    open_store,
    pieces_cpu_s,
    response_file,
    restore_piece,
)

BASE = {"prefix": "calc", "nq1": 3, "nq2": 3, "nq3": 3}


def _finished_piece(folder, piece, cpu_s, n_q=None):
    where = folder / PIECES / piece.name
    response = response_file(where, "calc", piece)
    response.parent.mkdir(parents=True)
    response.write_text(f"dns of {piece.name}\n")
    (where / PIECE_FILE).write_text(json.dumps({"cpu_s": cpu_s, "n_q": n_q}))
    return where


def test_a_kept_piece_comes_back_on_another_machine(tmp_path):
    store = tmp_path / "store"
    open_store(store, "key")
    piece = Piece(1, 1)
    keep_piece(store, _finished_piece(tmp_path / "machine_a", piece, 12.5, n_q=14), "calc", piece)
    fresh = tmp_path / "machine_b" / PIECES / piece.name
    fresh.mkdir(parents=True)
    assert restore_piece(store, fresh, "calc", piece)
    assert response_file(fresh, "calc", piece).read_text() == "dns of a1_q1\n"
    assert json.loads((fresh / PIECE_FILE).read_text()) == {"cpu_s": 12.5, "n_q": 14}
    assert not restore_piece(store, fresh, "calc", Piece(1, 2)), "a piece never kept is run"


def test_a_store_made_for_other_inputs_is_emptied(tmp_path):
    store = tmp_path / "store"
    open_store(store, "scf of yesterday")
    piece = Piece(2, 3)
    keep_piece(store, _finished_piece(tmp_path / "run", piece, 1.0), "calc", piece)
    open_store(store, "scf of yesterday")
    assert restore_piece(store, tmp_path / "same", "calc", piece), "same inputs: the piece stays"
    open_store(store, "another scf")
    assert not restore_piece(store, tmp_path / "other", "calc", piece)
    assert (store / "inputs.md5").read_text().strip() == "another scf"


def test_inputs_key_follows_the_scf_inputs_and_the_hp_entries(tmp_path):
    (tmp_path / "scf1.in").write_text("&SYSTEM ecutwfc = 50 /\n")
    key = inputs_key(tmp_path, BASE)
    assert inputs_key(tmp_path, dict(BASE)) == key
    assert inputs_key(tmp_path, {**BASE, "nq3": 4}) != key
    (tmp_path / "scf1.in").write_text("&SYSTEM ecutwfc = 60 /\n")
    assert inputs_key(tmp_path, BASE) != key


def test_split_run_cpu_counts_every_piece_also_those_from_the_store(tmp_path):
    assert pieces_cpu_s(tmp_path) is None, "an unsplit run has no pieces"
    for piece, cpu_s in ((Piece(1, 1), 10.0), (Piece(1, 2), 20.0), (Piece(2, 1), 5.5)):
        _finished_piece(tmp_path, piece, cpu_s, n_q=2 if piece.q == 1 else None)
    assert pieces_cpu_s(tmp_path) == 35.5


def test_each_finished_piece_prints_a_progress_line(tmp_path, capsys):
    _finished_piece(tmp_path, Piece(1, 2), 812.4)
    _finished_piece(tmp_path, Piece(1, 3), None)
    progress = Progress(tmp_path, total=3)
    lines = [
        progress.finished(Piece(1, 2), restored=False),
        progress.finished(Piece(2, 1), restored=True),
        progress.finished(Piece(1, 3), restored=False),
    ]
    assert "a1_q2 done (812 CPU s), 1/3" in lines[0] and "a2_q1 done (taken from the store), 2/3" in lines[1]
    assert "a1_q3 done (CPU unknown), 3/3" in lines[2]
    assert capsys.readouterr().out.splitlines() == lines
