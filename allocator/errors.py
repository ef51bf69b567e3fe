"""Errors a user can act on. The CLI prints their message as one line and exits non-zero."""

from __future__ import annotations


class AllocatorError(Exception):
    """Base class: the message says what was wrong and what to do."""

    exit_code = 1


class ConfigError(AllocatorError):
    exit_code = 2


class DataError(AllocatorError):
    """Input data that cannot be used (missing file, wrong columns, bad values)."""

    exit_code = 3


class NoDataError(DataError):
    """The store has no data for the requested date or series."""


class SourceError(AllocatorError):
    """A remote source failed (unreachable, timed out, or changed its schema)."""

    exit_code = 4
