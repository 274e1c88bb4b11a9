"""``friendly_errors``: bad input becomes one ``error: ...`` line on stderr and exit code 2."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any

import click

from reflectevo_bench.errors import BenchError


def friendly_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Bad input: one line on stderr, exit code 2. Tracebacks are left for bugs."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except BenchError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(exc.exit_code)

    return wrapper
