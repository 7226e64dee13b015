"""``golden_model.atomic.write_json``: whole file or the old one, never half of the new."""

from __future__ import annotations

import json

import pytest

from golden_model.atomic import write_json


def test_write_json_makes_the_folder_and_ends_with_a_newline(tmp_path) -> None:
    path = tmp_path / "new" / "result.json"
    write_json(path, {"a": [1, 2]}, indent=1)
    assert path.read_text() == json.dumps({"a": [1, 2]}, indent=1) + "\n"


def test_write_json_that_fails_keeps_the_old_file_and_leaves_no_part(tmp_path) -> None:
    path = tmp_path / "result.json"
    write_json(path, {"old": True})
    with pytest.raises(TypeError):
        write_json(path, {"new": object()})  # not JSON: fails before anything is renamed
    assert json.loads(path.read_text()) == {"old": True}
    assert [p.name for p in tmp_path.iterdir()] == ["result.json"]
