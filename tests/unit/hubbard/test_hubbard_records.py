"""Records on disk (matdisco.hubbard.records): merging by id, bad lines, resuming from stored records."""

import json
from types import SimpleNamespace

import pytest

from matdisco.hubbard import keys as K
from matdisco.hubbard.records import load_record, merge_records, read_records


def test_merge_records_replaces_by_id(tmp_path):
    target = tmp_path / "d" / "records.jsonl"
    assert merge_records(target, [{K.RECORD_ID: "b", "x": 1}, {K.RECORD_ID: "a", "x": 1}]) == 2
    assert merge_records(target, [{K.RECORD_ID: "a", "x": 2}]) == 2
    assert [(r[K.RECORD_ID], r["x"]) for r in read_records(target)] == [("a", 2), ("b", 1)]


def test_bad_record_line_names_file_and_line(tmp_path):
    target = tmp_path / "records.jsonl"
    target.write_text('{"record_id": "a"}\n{oops\n')
    with pytest.raises(Exception, match=r"records.jsonl:2: not a JSON record"):
        read_records(target)


def test_load_record_prefers_the_folder_then_the_data_set_and_wipes_a_partial_folder(tmp_path):
    stored = SimpleNamespace(records_path=tmp_path / "records.jsonl", failures_path=tmp_path / "failures.jsonl")
    merge_records(stored.records_path, [{K.RECORD_ID: "p/iter_0", "x": 1}])
    done = tmp_path / "p" / "iter_0"
    done.mkdir(parents=True)
    (done / "record.json").write_text(json.dumps({K.RECORD_ID: "p/iter_0", "x": 2}))
    assert load_record(done, "p/iter_0", stored)["x"] == 2
    (done / "record.json").unlink()
    assert load_record(done, "p/iter_0", stored)["x"] == 1
    partial = tmp_path / "p" / "iter_1"
    partial.mkdir()
    (partial / "scf1.out").write_text("partial")
    assert load_record(partial, "p/iter_1", stored) is None and not partial.exists()
