"""``retry`` (control): as ``reflect`` without the reflection turn; its run is the control of a model's
reflection gain on the leaderboard."""

from reflectevo_bench.harness.protocols.base import GAIN_CONTROL, Protocol

PROTOCOL = Protocol(
    "retry",
    "oracle",
    template_keys=("feedback_incorrect", "retry"),
    control=GAIN_CONTROL,
    help="wrong docs are told so and retry, no reflection (control)",
)
