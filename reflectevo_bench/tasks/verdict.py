"""The verdict a verifier returns for one response."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Verdict:
    """Outcome of checking one response against one doc.

    ``feedback`` is what the next turn may show the model (oracle mode): it names what failed
    (a failing test, the value reached, the wrong function) and never reveals the gold answer.
    """

    correct: bool
    score: float
    feedback: str
    extracted: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Verdict":
        return cls(
            correct=bool(data["correct"]),
            score=float(data["score"]),
            feedback=str(data.get("feedback", "")),
            extracted=data.get("extracted"),
            details=dict(data.get("details") or {}),
        )
