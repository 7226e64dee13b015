"""Differential fuzzing of every engine against the golden model (``scsr fuzz``).

:mod:`.cases` draws edge-biased random cases, :mod:`.engines` runs them on each engine,
:mod:`.campaign` compares and reports, :mod:`.shrink` cuts a failure down and
:mod:`.reproducer` writes it as a folder that replays with one command.
"""

from .campaign import REPORT_FORMAT, Campaign, Tally, run
from .cases import Case, draw_case
from .engines import ENGINES, reference

__all__ = ["ENGINES", "REPORT_FORMAT", "Campaign", "Case", "Tally", "draw_case", "reference",
           "run"]
