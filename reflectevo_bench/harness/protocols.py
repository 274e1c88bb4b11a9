"""Reflection protocols: which docs go on after each attempt and what the model is told between attempts.

- ``single``: one attempt (the lm-eval baseline).
- ``reflect`` (ReflectEvo, Reflect-Retry-Reward): wrong docs hear the verifier's feedback, write a reflection
  (analysis + plan, no answer), then retry with the reflection in context. Right docs stop.
- ``retry`` (control): as ``reflect`` without the reflection turn.
- ``self-refine`` (intrinsic, no oracle): every doc reflects without being told whether it was right.
- ``resample`` (compute-matched control): wrong docs get a fresh sample of the attempt-1 prompt, with no
  feedback and no reflection in context (needs sampling); the oracle only picks which docs go again.
- ``reflect-answer`` (ReflectEvo's one-stage model, ``run_PEFT``): wrong docs hear the feedback and write the
  reflection AND the corrected answer in ONE generation (by the Reflector when there is one); the answer is the
  text after the last ``New answer:`` line (:func:`split_one_turn`), and only it is verified.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import re

import yaml

from reflectevo_bench.errors import BenchError
from reflectevo_bench.tasks.verdict import Verdict

TEMPLATES_FILE = Path(__file__).resolve().parent / "templates" / "protocols.yaml"


@lru_cache(maxsize=1)
def default_templates() -> dict[str, str]:
    with open(TEMPLATES_FILE, encoding="utf-8") as fh:
        return {k: str(v) for k, v in yaml.safe_load(fh).items()}


@dataclass(frozen=True)
class Protocol:
    name: str
    feedback_mode: str  # "oracle": the model is told its attempt was wrong; "none": it is not
    reflects: bool
    stop_when_correct: bool
    fresh_context: bool = False  # every attempt starts again from the attempt-1 prompt
    one_turn: bool = False  # attempts after the first are reflection + answer in one generation

    @property
    def reflection_key(self) -> str:
        """The template key of this protocol's reflection request."""
        return "reflect" if self.feedback_mode == "oracle" else "self_refine_review"

    def continues(self, last: Verdict) -> bool:
        """Whether a doc whose latest attempt got ``last`` goes on to another round."""
        return not (self.stop_when_correct and last.correct)

    def correct_at(self, made: list[bool], attempts: int) -> list[bool]:
        """Correctness after each of ``attempts`` rounds; a doc that stopped keeps its last verdict.

        For stop-when-correct protocols a doc counts as right at round k once any attempt up to k was right
        (ReflectEvo's acc@t2 = right at 1 + wrong at 1 and right at 2).
        """
        out = []
        for k in range(attempts):
            upto = made[: k + 1]
            out.append(any(upto) if self.stop_when_correct else upto[-1])
        return out


PROTOCOLS = {
    "single": Protocol("single", "none", reflects=False, stop_when_correct=True),
    "reflect": Protocol("reflect", "oracle", reflects=True, stop_when_correct=True),
    "retry": Protocol("retry", "oracle", reflects=False, stop_when_correct=True),
    "self-refine": Protocol("self-refine", "none", reflects=True, stop_when_correct=False),
    "resample": Protocol("resample", "oracle", reflects=False, stop_when_correct=True, fresh_context=True),
    "reflect-answer": Protocol("reflect-answer", "oracle", reflects=False, stop_when_correct=True, one_turn=True),
}

ANSWER_MARKER = "New answer:"
_MARKER = re.compile(r"^[ \t>*_#]*new[ \t]+answer[ \t*_]*:[ \t*_]*", re.IGNORECASE | re.MULTILINE)


def split_one_turn(text: str) -> tuple[str, str | None]:
    """(reflection, answer) of a one-turn response: split at the last ``New answer:`` line; answer None when
    the response has no such line (then the whole response is verified, as a model that ignored the format)."""
    marks = list(_MARKER.finditer(text))
    if not marks:
        return text, None
    last = marks[-1]
    return text[:last.start()].rstrip(), text[last.end():]


def get_protocol(name: str, attempts: int) -> Protocol:
    if name not in PROTOCOLS:
        raise BenchError(f"unknown --protocol '{name}': choose one of {', '.join(PROTOCOLS)}")
    if attempts < 1:
        raise BenchError("--attempts must be at least 1")
    if name == "single" and attempts != 1:
        raise BenchError("--protocol single makes exactly one attempt: drop --attempts or use another protocol")
    if name != "single" and attempts < 2:
        raise BenchError(f"--protocol {name} needs --attempts 2 or more (use --protocol single for one attempt)")
    return PROTOCOLS[name]


class Prompter:
    """Builds the user turns between attempts from templates (defaults, then the task's overrides)."""

    def __init__(self, protocol: Protocol, overrides: dict[str, str], answer_format: str) -> None:
        self.protocol = protocol
        self.templates = {**default_templates(), **overrides}
        self.answer_format = answer_format

    def _fill(self, key: str, feedback: str = "", template: str | None = None) -> str:
        text = (template if template is not None else self.templates[key]).format(
            feedback=feedback, answer_format=self.answer_format)
        return "\n".join(line.rstrip() for line in text.strip().splitlines())

    def feedback(self, verdict: Verdict) -> str:
        head = self.templates["feedback_incorrect"]
        return f"{head}\n{verdict.feedback}".strip() if verdict.feedback else head

    def reflection_request(self, last: Verdict, template: str | None = None) -> str:
        """The user turn asking for a reflection; ``template`` (a pool draw) replaces the protocol's own."""
        if self.protocol.feedback_mode == "oracle":
            return self._fill("reflect", self.feedback(last), template)
        return self._fill("self_refine_review", template=template)

    def reflect_answer_request(self, last: Verdict, template: str | None = None) -> str:
        """The one user turn of ``reflect-answer``: the reflection request (a pool draw replaces it, as for
        ``reflect``), then the task's request for the corrected answer after a ``New answer:`` line."""
        return self.reflection_request(last, template) + "\n\n" + self._fill("reflect_answer")

    def retry_request(self, last: Verdict) -> str:
        if not self.protocol.reflects:
            return self._fill("retry", self.feedback(last))
        if self.protocol.feedback_mode == "oracle":
            return self._fill("retry_after_reflection")
        return self._fill("self_refine_retry")
