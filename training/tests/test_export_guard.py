"""Export's overwrite guard and fixtures (no torch needed)."""

import pytest

from domainclf import export


@pytest.mark.parametrize(
    "files, force, refused",
    [
        ([], False, False),
        (["notes.txt"], False, False),
        (["model.onnx"], False, True),
        (["category_mapping.json"], False, True),
        (["model.onnx"], True, False),
    ],
)
def test_check_target(tmp_path, files, force, refused):
    out = tmp_path / "m"
    out.mkdir()
    for f in files:
        (out / f).write_text("x")
    if refused:
        with pytest.raises(export.ExportError, match="--force"):
            export.check_target(out, force)
    else:
        export.check_target(out, force)


def test_fixtures_cover_edge_cases():
    fx = export.fixture_texts(20)
    assert len(fx) == 20
    assert "" in fx and any(len(t) > 1000 for t in fx) and any(not t.isascii() for t in fx)
