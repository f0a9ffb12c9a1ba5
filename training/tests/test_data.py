"""Data validation: bad rows are counted by reason, strict mode refuses them, missing data is explained."""

import json

import pytest

from domainclf import data


def write_lines(path, lines):
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize(
    "lines, kept, dropped",
    [
        ([json.dumps({"text": "What is DNA?", "label": "biology"})], 1, {}),
        (["", "   "], 0, {"empty line": 2}),
        (["{not json"], 0, {"invalid JSON": 1}),
        (["[1, 2]"], 0, {"not a JSON object": 1}),
        ([json.dumps({"text": "  ", "label": "law"})], 0, {"missing or empty text": 1}),
        ([json.dumps({"text": "x", "label": 3})], 0, {"missing label": 1}),
        ([json.dumps({"text": "x", "label": "astrology"})], 0, {"unknown label": 1}),
        ([json.dumps({"text": "Same  Question", "label": "law"}),
          json.dumps({"text": "same question", "label": "law"})], 1, {"duplicate row": 1}),
        ([json.dumps({"text": "q", "label": "law"}),
          json.dumps({"text": "q", "label": "history"})], 1, {"same text, conflicting label": 1}),
    ],
)
def test_load_jsonl_counts_bad_rows(tmp_path, lines, kept, dropped):
    p = tmp_path / "x.jsonl"
    write_lines(p, lines)
    ds = data.load_jsonl(p)
    assert len(ds) == kept
    assert dict(ds.dropped) == dropped
    for reason, n in dropped.items():
        assert f"{n} dropped ({reason})" in ds.report()


def test_unknown_labels_are_named_in_report(tmp_path):
    p = tmp_path / "x.jsonl"
    write_lines(p, [json.dumps({"text": f"q{i}", "label": "astrology"}) for i in range(3)])
    ds = data.load_jsonl(p)
    assert ds.unknown_labels["astrology"] == 3
    assert "'astrology'×3" in ds.report()


def test_strict_refuses_bad_rows(tmp_path):
    p = tmp_path / "x.jsonl"
    write_lines(p, [json.dumps({"text": "ok", "label": "law"}), ""])
    with pytest.raises(data.DataError, match="1 dropped \\(empty line\\)"):
        data.load_jsonl(p, strict=True)


def test_labels_map_to_indices(tmp_path):
    p = tmp_path / "x.jsonl"
    write_lines(p, [json.dumps({"text": "a", "label": "psychology"}), json.dumps({"text": "b", "label": "biology"})])
    ds = data.load_jsonl(p)
    assert ds.labels == [data.LABELS.index("psychology"), 0]


def test_missing_data_dir_is_explained(tmp_path, monkeypatch):
    monkeypatch.setenv("DOMAIN_DATA_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(data.DataError, match="domain data not found"):
        data.data_dir()


def test_missing_file_is_explained(tmp_path):
    with pytest.raises(data.DataError, match="cannot read"):
        data.load_jsonl(tmp_path / "absent.jsonl")


def test_shared_data_is_clean():
    """The real train/dev files load with nothing dropped and all 14 labels present."""
    d = data.data_dir()
    for split in ("train", "dev"):
        ds = data.load_jsonl(d / f"{split}.jsonl", strict=True)
        assert set(ds.labels) == set(range(len(data.LABELS))), split
    train = set(data.load_jsonl(d / "train.jsonl").texts)
    overlap = [t for t in data.load_jsonl(d / "dev.jsonl").texts if t in train]
    assert not overlap, f"{len(overlap)} dev questions also in train"
