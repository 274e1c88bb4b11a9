"""What a reflection protocol is: one unit that says which docs go on after each attempt, what happens in each
later round (its phases), the user turns it sends (from its template keys), what it needs (sampling, the oracle,
a number of attempts), its feedback mode and its help line.

The engine asks the protocol; it never branches on a protocol's name. A protocol is an instance of
:class:`Protocol` (or of a subclass that overrides the request methods); the built-in ones live one per module in
this package, and ``run --protocol path/to/file.py:NAME`` loads one from a file (:mod:`.registry`).

Phases after attempt 1, run in order for every doc that goes on, once per later round:
``reflection`` (a reflection turn, by the Reflector when there is one), ``attempt`` (a new answer: after
:meth:`Protocol.retry_request`, or from the attempt-1 prompt again when ``fresh_context``) and ``reflect_answer``
(reflection and corrected answer in ONE generation; only the text after the last ``New answer:`` is verified).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from reflectevo_bench.errors import BenchError
from reflectevo_bench.tasks.verdict import Verdict

if TYPE_CHECKING:
    from reflectevo_bench.harness.protocols.prompter import Prompter

TEMPLATES_FILE = Path(__file__).resolve().parent.parent / "templates" / "protocols.yaml"

REFLECTION, ATTEMPT, REFLECT_ANSWER = "reflection", "attempt", "reflect_answer"
PHASES = (REFLECTION, ATTEMPT, REFLECT_ANSWER)

# leaderboard columns a protocol's run can be the control of (leaderboards/controls.py)
GAIN_CONTROL, INTRINSIC_CONTROL = "reflection_gain", "intrinsic_delta"


@lru_cache(maxsize=1)
def default_templates() -> dict[str, str]:
    with open(TEMPLATES_FILE, encoding="utf-8") as fh:
        return {k: str(v) for k, v in yaml.safe_load(fh).items()}


@dataclass(frozen=True, eq=False)
class Protocol:
    name: str
    feedback_mode: str  # "oracle": the model is told its attempt was wrong; "none": it is not
    reflects: bool = False  # a reflection turn before each retry
    stop_when_correct: bool = True
    fresh_context: bool = False  # every attempt starts again from the attempt-1 prompt
    one_turn: bool = False  # attempts after the first are reflection + answer in one generation
    help: str = ""  # one line for `run --help`
    needs_sampling: bool = False  # greedy attempts would repeat attempt 1
    min_attempts: int = 2
    max_attempts: int | None = None
    template_keys: tuple[str, ...] = ()  # the templates this protocol sends (a task may override each)
    retry_key: str = "retry"  # the template of the user turn before a new attempt in the same conversation
    templates: Mapping[str, str] = field(default_factory=dict)  # defaults for keys not in protocols.yaml
    control: str | None = None  # the leaderboard column this protocol's run is the control of
    source: str | None = None  # the file a plugin protocol was loaded from (None: built in)

    def __post_init__(self) -> None:
        if self.feedback_mode not in ("oracle", "none"):
            raise BenchError(
                f"protocol {self.name}: feedback_mode must be 'oracle' or 'none', not {self.feedback_mode!r}"
            )
        bad = [p for p in self.phases if p not in PHASES]
        if bad:
            raise BenchError(f"protocol {self.name}: unknown phase {bad[0]!r}; phases are {', '.join(PHASES)}")

    # -- what happens ---------------------------------------------------------------------------------------
    @property
    def phases(self) -> tuple[str, ...]:
        """The phases of every round after the first, in order."""
        if self.one_turn:
            return (REFLECT_ANSWER,)
        return (REFLECTION, ATTEMPT) if self.reflects else (ATTEMPT,)

    @property
    def writes_reflections(self) -> bool:
        """Whether the protocol has the model write a reflection (a turn of its own or in the one-turn reply)."""
        return REFLECTION in self.phases or REFLECT_ANSWER in self.phases

    @property
    def needs_oracle(self) -> bool:
        return self.feedback_mode == "oracle"

    @property
    def default_attempts(self) -> int:
        return 1 if self.max_attempts == 1 else max(2, self.min_attempts)

    @property
    def reflection_key(self) -> str:
        """The template key of this protocol's reflection request (and of its reflection pool entries)."""
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

    def check_attempts(self, attempts: int) -> None:
        if attempts < 1:
            raise BenchError("--attempts must be at least 1")
        if self.max_attempts == 1 and attempts != 1:
            raise BenchError(
                f"--protocol {self.name} makes exactly one attempt: drop --attempts or use another protocol"
            )
        if self.max_attempts is not None and attempts > self.max_attempts:
            raise BenchError(f"--protocol {self.name} makes at most {self.max_attempts} attempts")
        if attempts < self.min_attempts:
            raise BenchError(
                f"--protocol {self.name} needs --attempts {self.min_attempts} or more (use --protocol "
                "single for one attempt)"
            )

    # -- the user turns (templates filled by the Prompter; override in a subclass) ---------------------------
    def reflection_request(self, prompter: Prompter, last: Verdict, template: str | None = None) -> str:
        """The user turn asking for a reflection; ``template`` (a pool draw) replaces the protocol's own."""
        if self.feedback_mode == "oracle":
            return prompter.fill("reflect", prompter.feedback(last), template)
        return prompter.fill("self_refine_review", template=template)

    def retry_request(self, prompter: Prompter, last: Verdict) -> str:
        """The user turn before a new attempt in the same conversation (its ``retry_key`` template); the
        feedback goes in it unless the protocol has a reflection turn (which says what the model is told)."""
        feedback = "" if self.reflects else prompter.feedback(last)
        return prompter.fill(self.retry_key, feedback)

    def reflect_answer_request(self, prompter: Prompter, last: Verdict, template: str | None = None) -> str:
        """The one user turn of a one-turn protocol: the reflection request, then the request for the corrected
        answer after a ``New answer:`` line."""
        return self.reflection_request(prompter, last, template) + "\n\n" + prompter.fill("reflect_answer")

    def retry_messages(
        self, prompter: Prompter, messages: list[dict[str, str]], last: Verdict
    ) -> list[dict[str, str]] | None:
        """The conversation of a new attempt; None: start again from the attempt-1 prompt (fresh context)."""
        if self.fresh_context:
            return None
        return messages + [{"role": "user", "content": self.retry_request(prompter, last)}]


ANSWER_MARKER = "New answer:"
_MARKER = re.compile(r"^[ \t>*_#]*new[ \t]+answer[ \t*_]*:[ \t*_]*", re.IGNORECASE | re.MULTILINE)


def split_one_turn(text: str) -> tuple[str, str | None]:
    """(reflection, answer) of a one-turn response: split at the last ``New answer:`` line; answer None when
    the response has no such line (then the whole response is verified, as a model that ignored the format)."""
    marks = list(_MARKER.finditer(text))
    if not marks:
        return text, None
    last = marks[-1]
    return text[: last.start()].rstrip(), text[last.end() :]
