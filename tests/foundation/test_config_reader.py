"""One reader of a run folder's config.json (`runs._read_payload`) behind `run_kind` and `read_config`: the same
answer for the same broken file."""

from __future__ import annotations

import pytest

from vislab import runs
from vislab.errors import CheckpointError


@pytest.mark.parametrize("text,kind", [(None, None), ("not json", None), ("[1, 2]", None), ('{"kind": 3}', None),
                                       ('{"kind": "fool", "config": {"lr": 1}}', "fool")])
def test_run_kind_and_read_config_agree(tmp_path, text, kind):
    if text is not None:
        (tmp_path / "config.json").write_text(text)
    assert runs.run_kind(tmp_path) == kind
    if kind is None:
        with pytest.raises(CheckpointError, match="not a readable vislab run config"):
            runs.read_config(tmp_path)
    else:
        assert runs.read_config(tmp_path) == {"lr": 1}


def test_written_config_reads_back(tmp_path):
    runs.write_config(tmp_path, {"steps": 3}, command="vislab x", kind="x")
    assert runs.run_kind(tmp_path) == "x" and runs.read_config(tmp_path) == {"steps": 3}
