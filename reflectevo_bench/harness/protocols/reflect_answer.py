"""``reflect-answer`` (ReflectEvo's one-stage model, ``run_PEFT``): wrong docs hear the feedback and write the
reflection AND the corrected answer in ONE generation (by the Reflector when there is one); the answer is the
text after the last ``New answer:`` line (:func:`~reflectevo_bench.harness.protocols.base.split_one_turn`), and
only it is verified."""

from reflectevo_bench.harness.protocols.base import Protocol

PROTOCOL = Protocol(
    "reflect-answer",
    "oracle",
    one_turn=True,
    template_keys=("feedback_incorrect", "reflect", "reflect_answer"),
    help="wrong docs write reflection + new answer in one turn (ReflectEvo one-stage)",
)
