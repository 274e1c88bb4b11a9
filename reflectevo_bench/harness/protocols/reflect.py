"""``reflect`` (ReflectEvo, Reflect-Retry-Reward): wrong docs hear the verifier's feedback, write a reflection
(analysis + plan, no answer), then retry with the reflection in context. Right docs stop."""

from reflectevo_bench.harness.protocols.base import Protocol

PROTOCOL = Protocol(
    "reflect",
    "oracle",
    reflects=True,
    template_keys=("feedback_incorrect", "reflect", "retry_after_reflection"),
    retry_key="retry_after_reflection",
    help="wrong docs hear the feedback, reflect, then retry (ReflectEvo)",
)
