"""``reflect`` (ReflectEvo, Reflect-Retry-Reward): wrong docs hear the verifier's feedback, write a reflection
(analysis + plan, no answer), then retry with the reflection in context. Right docs stop."""

from __future__ import annotations

from reflectevo_bench.harness.protocols.base import Protocol
from reflectevo_bench.tasks.verdict import Verdict


class Reflect(Protocol):
    def retry_request(self, prompter, last: Verdict) -> str:
        return prompter.fill("retry_after_reflection")


PROTOCOL = Reflect(
    "reflect",
    "oracle",
    reflects=True,
    template_keys=("feedback_incorrect", "reflect", "retry_after_reflection"),
    help="wrong docs hear the feedback, reflect, then retry (ReflectEvo)",
)
