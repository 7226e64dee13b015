"""The one exception for bad user input, shared by every layer of the project."""

from __future__ import annotations

import os


class ScsrError(Exception):
    """Bad input from a user, reported as ``<path>: <field>: <problem>`` (design §5).

    Parameters
    ----------
    where : str or os.PathLike
        The file (or option, e.g. ``--bits``) the problem is in.
    field : str
        The field inside it, e.g. ``h2.theta[17]`` or ``layers[1].size``; may be empty.
    problem : str
        What is wrong, e.g. ``0 is outside [1, 32767]``.
    """

    def __init__(self, where: str | os.PathLike[str], field: str, problem: str) -> None:
        self.where = os.fspath(where)
        self.field = field
        self.problem = problem
        super().__init__(str(self))

    def __str__(self) -> str:
        parts = [self.where, self.field, self.problem] if self.field else [self.where, self.problem]
        return ": ".join(parts)
