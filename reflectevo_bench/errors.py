"""User-facing errors: one line saying what is wrong and what to do, exit code 2."""

from __future__ import annotations


class BenchError(Exception):
    """Bad input from the user. The CLI prints the message on one line and exits with code 2."""

    exit_code = 2


def one_line(exc: BaseException | str, limit: int | None = 400, with_type: bool = False) -> str:
    """An exception (or any text) as one line for a ``BenchError`` message: whitespace runs, newlines included,
    become one space; at most ``limit`` characters (None: all); ``with_type`` puts the exception's class first
    ("JSONDecodeError: Expecting value ...")."""
    text = str(exc)
    if with_type and isinstance(exc, BaseException):
        text = f"{type(exc).__name__}: {text}"
    text = " ".join(text.split())
    return text if limit is None else text[:limit]
