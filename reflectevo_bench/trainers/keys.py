"""A trainer's own config keys: keys of the training YAML that are neither TRL's nor shared by every trainer (model,
data, stage, peft, merge). Each trainer's registry record lists its keys with their defaults and checks, so the
config loader knows them without naming any trainer."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from reflectevo_bench.errors import BenchError

SHARED_KEYS = ("model", "data", "stage", "peft", "merge")  # every trainer's (stage: two-stage trainers only)


@dataclass(frozen=True)
class Key:
    name: str
    default: Any = None
    check: Callable[[str, Any], Any] | None = None  # (name, value) -> the value used; BenchError when bad
    help: str = ""
    option: bool = False  # also a `train NAME --KEY V` option (the same as `--set KEY=V`)

    def value(self, given: Any) -> Any:
        """The value of the key for a config that gives ``given`` (None: not given, the default)."""
        value = self.default if given is None else given
        return self.check(self.name, value) if self.check is not None else value


def one_of(*choices: str) -> Callable[[str, Any], str]:
    def check(name: str, value: Any) -> str:
        if value not in choices:
            raise BenchError(f"{name} must be {' or '.join(choices)}, got {value!r}")
        return value

    return check


def number(rule: str, test: Callable[[Any], bool], whole: bool = False) -> Callable[[str, Any], Any]:
    """A number (``whole``: an integer) passing ``test``, or null; ``rule`` says which in the message."""

    def check(name: str, value: Any) -> Any:
        if value is None:
            return None
        kinds = int if whole else (int, float)
        if isinstance(value, bool) or not isinstance(value, kinds) or not test(value):
            raise BenchError(f"{name} must be {rule}, got {value!r}")
        return value if whole else float(value)

    return check


def boolean(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise BenchError(f"{name} must be true or false, got {value!r}")
    return value
