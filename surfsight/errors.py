"""One exception family for surfsight.

Every message names the input (a file path, an argument) and what is wrong with it,
so that a user reading a batch log knows which file to look at and why.
"""

from __future__ import annotations

from os import PathLike


class SurfsightError(Exception):
    """Base class of every error surfsight raises on purpose."""


class InputError(SurfsightError, ValueError):
    """An argument or in-memory input is unusable (wrong shape, unit, range)."""


class FormatError(SurfsightError, ValueError):
    """A file cannot be read: it is truncated, corrupt, hostile or not what it claims.

    Parameters
    ----------
    source
        The file (path or name) the problem was found in.
    problem
        What is wrong, in plain words ("truncated at byte 812 while reading the header").
    """

    def __init__(self, source: str | PathLike | None, problem: str):
        self.source = None if source is None else str(source)
        self.problem = problem
        super().__init__(f"{self.source}: {problem}" if self.source else problem)


class UnsupportedFormatError(FormatError):
    """The file's format is not recognised, or the file holds no data surfsight can use."""


class ParameterError(SurfsightError, ValueError):
    """A surface parameter cannot be computed for this input (e.g. too few valid points)."""
