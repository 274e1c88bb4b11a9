"""What one sandboxed run produced, as judged by the harness (never by the program)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

STATUSES = ("passed", "failed", "error", "timeout", "memory", "output-limit", "killed")
"""``passed``: every test ran and the harness judged each one correct.
``failed``: the program loaded but a test failed, did not run, or the report channel was tampered with.
``error``: the program (or its setup) raised while loading, e.g. SyntaxError, NameError, SystemExit.
``timeout``: the wall-clock or CPU limit was reached and the sandbox killed the program.
``memory``: the program ran out of its memory allowance (MemoryError or the memory cgroup's OOM kill).
``output-limit``: the program wrote more than the output cap and was killed.
``killed``: the program died from a signal or vanished before reporting every test."""


@dataclass
class TestOutcome:
    """One test unit. ``index`` counts units in order; ``source`` is the unit's statement.

    ``judged_outside`` is True when the verdict was computed outside the candidate's process: by the harness
    from values the program returned (``assert f(x) == expected`` and similar shapes), or by the trusted
    check process for general code (HumanEval checks with loops), which gets only values from the program.
    Every unit is now judged outside the program; the field stays for readers of older records.
    """

    __test__ = False  # not a pytest class

    index: int
    source: str
    passed: bool
    error: str | None = None
    judged_outside: bool = False


@dataclass
class SandboxResult:
    status: str
    tests: list[TestOutcome] = field(default_factory=list)
    stdout: str = ""
    stderr: str = ""
    duration_s: float = 0.0
    backend: str = ""
    mode: str = ""
    error: str | None = None
    warnings: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"unknown sandbox status {self.status!r}")

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    @property
    def first_failure(self) -> TestOutcome | None:
        return next((t for t in self.tests if not t.passed), None)

    @property
    def feedback(self) -> str:
        """A short message for the reflection turn: the first failing test and its error."""
        if self.passed:
            return "All tests passed."
        first = self.first_failure
        if self.status in ("timeout", "memory", "output-limit", "killed") or first is None:
            head = {
                "timeout": "Timed out",
                "memory": "Ran out of memory",
                "output-limit": "Printed too much output",
                "killed": "The program was killed",
                "error": "The program raised an error",
                "failed": "A test failed",
            }[self.status]
            detail = self.error or (first.error if first else None)
            return f"{head}: {detail}" if detail else head + "."
        msg = f"Test failed: {first.source}"
        return f"{msg}\n{first.error}" if first.error else msg

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SandboxResult:
        data = dict(data)
        data["tests"] = [TestOutcome(**t) for t in data.get("tests", [])]
        return cls(**data)
