"""Every row of the bad-input matrix (:mod:`tests.reliability.matrix`): exit code 2, the
recorded one-line answer, no traceback, no output written, nothing foreign lost; inputs
that claim absurd sizes are refused within 200 MB of the command's idle footprint; and
``docs/reliability.md`` shows exactly these rows."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.reliability.matrix import (
    BEGIN,
    DOC,
    END,
    MEMORY_LIMIT,
    ROWS,
    bundle,
    last_line,
    render,
    run_row,
)

#: Peak memory a refused input may add to the command's idle footprint (issue target).
MEMORY_MARGIN = 200 * 2**20


@pytest.mark.parametrize("row", ROWS, ids=[row.id for row in ROWS])
def test_bad_input_gets_its_one_line_answer(row, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SCSR_MEMORY_LIMIT", MEMORY_LIMIT)
    outcome = run_row(row)
    assert outcome.code == 2, outcome.stderr
    assert "Traceback" not in outcome.stderr
    assert last_line(outcome.stderr) == row.message
    others = [line for line in outcome.stderr.splitlines()[:-1] if ": error" in line]
    assert not others, others
    if row.out is not None:
        assert not Path(row.out).exists(), f"{row.out} was written"
    if row.keep is not None:
        assert Path(row.keep).read_bytes() == b"keep me"
    assert not list(tmp_path.rglob("*.part")), "a half-written output was left behind"


def _peak_rss(argv: list[str]) -> int:
    """Peak resident memory (bytes) of ``python -m scsr ARGV`` run in the current folder."""
    env = os.environ | {"SCSR_MEMORY_LIMIT": MEMORY_LIMIT}
    child = subprocess.Popen([sys.executable, "-m", "scsr", *argv], stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, env=env)
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    assert child.returncode == (2 if argv[0] != "inspect" or argv[1] == "bad" else 0), \
        child.stderr.read()
    return usage.ru_maxrss * 1024


@pytest.mark.slow
@pytest.mark.parametrize("row", [r for r in ROWS if r.fault.startswith("absurd size")],
                         ids=lambda r: r.id)
def test_absurd_sizes_are_refused_in_bounded_memory(row, tmp_path, monkeypatch):
    """Each claims more than the 1 GiB limit: the refusal must come from the declared size,
    before anything of that size is read or allocated."""
    monkeypatch.chdir(tmp_path)
    idle = _peak_rss(["inspect", bundle()])
    peak = _peak_rss(row.setup())
    assert peak - idle <= MEMORY_MARGIN, (peak - idle) / 2**20


def test_the_doc_shows_these_rows():
    text = DOC.read_text()
    table = text.split(BEGIN, 1)[1].split(END, 1)[0].strip()
    assert table == render(), "docs/reliability.md is stale: python -m tests.reliability.matrix"
