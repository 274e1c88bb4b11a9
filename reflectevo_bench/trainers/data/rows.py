"""Training rows from run records, one builder per dataset kind (TRL's conversational formats).

Every prompt is a recorded ``messages`` list: the exact state a turn was generated from, never rebuilt after
generation (ReflectEvo's recorded prompts were written after the fact and leaked their targets). The one
exception is ``failures`` from a run that wrote no reflection turn (e.g. ``--protocol single``, the cheapest
way to mine failures): its reflection-turn prompt is built the way the harness would have built it — the
attempt-1 chat, the failed answer, then the task's reflection request with the recorded verifier feedback.

Only docs wrong at attempt 1 yield reflection rows (the papers' setting). A *branch* is one reflection and the
retry that followed it (``run --reflections N`` writes N per failure).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from reflectevo_bench.harness.protocols import ANSWER_MARKER, PROTOCOLS, Prompter, Protocol
from reflectevo_bench.harness.records import SampleRecord, Turn, branch_numbers, branch_turns, first_attempt
from reflectevo_bench.tasks.verdict import Verdict
from reflectevo_bench.trainers.data.datadir import KINDS  # noqa: F401  (the one list of kinds)


@dataclass(frozen=True)
class Branch:
    number: int
    reflection: Turn
    retry: Turn

    @property
    def passed(self) -> bool:
        return bool(self.retry["verdict"]["correct"])


@dataclass
class Counts:
    """What the records held, for the card and for the one-line message when a build yields no rows."""

    docs: int = 0
    failures: int = 0
    branches: int = 0
    passing_branches: int = 0
    failures_with_pass: int = 0
    failures_with_pass_and_fail: int = 0
    failures_with_two_passes: int = 0
    qa_candidates: int = 0
    qa_rejected_by_verifier: int = 0


def assistant(text: str) -> dict[str, str]:
    return {"role": "assistant", "content": text}


def is_failure(rec: SampleRecord) -> bool:
    return not rec["correct"][0]


def branches(rec: SampleRecord) -> list[Branch]:
    """The doc's reflection → retry branches (round 2), in branch order."""
    out = []
    for b in branch_numbers(rec):
        turns = [t for t in branch_turns(rec, b) if t["round"] == 2]
        reflection = next((t for t in turns if t["kind"] == "reflection"), None)
        retry = next((t for t in turns if t["kind"] == "attempt"), None)
        if reflection is not None and retry is not None:
            out.append(Branch(b, reflection, retry))
    return out


def count(records: list[SampleRecord]) -> Counts:
    c = Counts(docs=len(records))
    for rec in records:
        if not is_failure(rec):
            continue
        c.failures += 1
        bs = branches(rec)
        passed = [b for b in bs if b.passed]
        c.branches += len(bs)
        c.passing_branches += len(passed)
        c.failures_with_pass += bool(passed)
        c.failures_with_pass_and_fail += bool(passed) and len(passed) < len(bs)
        c.failures_with_two_passes += len(passed) >= 2
    return c


def dplus(rec: SampleRecord) -> Iterator[dict[str, Any]]:
    """ReflectEvo D+ (one-stage): reflection + retry request + the passing retry, after the reflection prompt."""
    for b in branches(rec):
        if b.passed:
            retry_request = b.retry["messages"][-1]
            yield {
                "prompt": b.reflection["messages"],
                "completion": [assistant(b.reflection["response"]), retry_request, assistant(b.retry["response"])],
                "branch": b.number,
            }


def dplus_oneturn(rec: SampleRecord, oneturn_request: Callable[[str], str]) -> Iterator[dict[str, Any]]:
    """ReflectEvo D+ for the one-stage model (``run_PEFT``): prompt → reflection and corrected answer in ONE
    assistant turn. From a ``reflect-answer`` run: the recorded one-turn attempt that passed, as generated. From a
    two-call ``reflect`` run: the reflection prompt with the one-turn answer request appended (what
    ``reflect-answer`` would have sent, built from the state before generation) → the reflection, a
    ``New answer:`` line and the passing retry."""
    for b in branch_numbers(rec):
        turn = next(
            (t for t in branch_turns(rec, b) if t["round"] == 2 and t["kind"] == "attempt" and "one_turn" in t), None
        )
        if turn is not None and turn["verdict"]["correct"]:
            yield {"prompt": turn["messages"], "completion": [assistant(turn["response"])], "branch": b}
    for b in branches(rec):
        if b.passed:
            *head, request = b.reflection["messages"]
            prompt = [*head, {**request, "content": oneturn_request(request["content"])}]
            text = f"{b.reflection['response'].rstrip()}\n\n{ANSWER_MARKER} {b.retry['response'].lstrip()}"
            yield {"prompt": prompt, "completion": [assistant(text)], "branch": b.number}


def oneturn_request_builder(task_config: dict[str, Any]) -> Callable[[str], str]:
    """Appends the task's ``reflect_answer`` request (its own template override, else the default) to a recorded
    reflection request."""
    block = ((task_config or {}).get("metadata") or {}).get("reflection") or {}
    templates = {str(k): str(v) for k, v in (block.get("templates") or {}).items()}
    prompter = Prompter(PROTOCOLS["reflect-answer"], templates, str(block.get("answer_format") or ""))
    suffix = prompter._fill("reflect_answer")
    return lambda request: f"{request}\n\n{suffix}"


def reflection(rec: SampleRecord) -> Iterator[dict[str, Any]]:
    """Stage 1 of two-stage D+: prompt → a reflection whose retry passed."""
    for b in branches(rec):
        if b.passed:
            yield {
                "prompt": b.reflection["messages"],
                "completion": [assistant(b.reflection["response"])],
                "branch": b.number,
            }


def correction(rec: SampleRecord) -> Iterator[dict[str, Any]]:
    """Stage 2 of two-stage D+: the prompt with the reflection in context → the passing retry."""
    for b in branches(rec):
        if b.passed:
            yield {"prompt": b.retry["messages"], "completion": [assistant(b.retry["response"])], "branch": b.number}


def dpm(rec: SampleRecord) -> Iterator[dict[str, Any]]:
    """D±: a reflection whose retry passed (chosen) against one whose retry failed (rejected), same prompt.

    One pair per failure: the first passing branch with the first failing branch asked the same thing (with a
    reflection pool, branches may have been asked differently; DPO needs one prompt per pair).
    """
    bs = branches(rec)
    for good in (b for b in bs if b.passed):
        bad = next((b for b in bs if not b.passed and b.reflection["messages"] == good.reflection["messages"]), None)
        if bad is not None:
            yield {
                "prompt": good.reflection["messages"],
                "chosen": [assistant(good.reflection["response"])],
                "rejected": [assistant(bad.reflection["response"])],
                "chosen_branch": good.number,
                "rejected_branch": bad.number,
            }
            return


def passing_pairs(rec: SampleRecord) -> list[tuple[Branch, Branch]]:
    """Dpref candidates: the first two passing branches asked the same thing."""
    passed = [b for b in branches(rec) if b.passed]
    for i, first in enumerate(passed):
        for second in passed[i + 1 :]:
            if first.reflection["messages"] == second.reflection["messages"]:
                return [(first, second)]
    return []


def failure(
    rec: SampleRecord, reflection_prompt: Callable[[SampleRecord, Turn], list[dict[str, str]]]
) -> Iterator[dict[str, Any]]:
    """Reflect-Retry-Reward's training set: a mined failure (see :mod:`reflectevo_bench.harness.mining`), the
    reflection-turn prompt after its failed attempt-1 answer, the raw doc and the doc's sample pass count."""
    from reflectevo_bench.harness.mining import failed_sample, sample_verdicts

    failed = failed_sample(rec)
    bs = branches(rec) if failed is first_attempt(rec) else []  # the run reflected on this very answer
    prompt = bs[0].reflection["messages"] if bs else reflection_prompt(rec, failed)  # type: ignore[arg-type]
    made = sample_verdicts(rec)
    yield {
        "prompt": prompt,
        "doc": rec["doc"],
        "attempt_prompt": failed["messages"],
        "attempt": failed["response"],
        "feedback": failed["verdict"].get("feedback", ""),
        "attempt_1_passes": sum(made),
        "attempt_1_samples": len(made),
    }


def reflection_prompt_builder(task_config: dict[str, Any], protocol: Protocol) -> Callable[..., list[dict[str, str]]]:
    """Builds the reflection request a reflecting protocol would have sent after the recorded attempt 1 (or
    after ``failed``, one failed attempt-1 sample), with the task's own templates (the run's recorded config):
    the run's own ``protocol`` when it reflects (a plugin's included), else ``reflect``'s."""
    block = ((task_config or {}).get("metadata") or {}).get("reflection") or {}
    proto = protocol if protocol.reflects else PROTOCOLS["reflect"]
    prompter = Prompter(
        proto,
        {str(k): str(v) for k, v in (block.get("templates") or {}).items()},
        str(block.get("answer_format") or ""),
    )

    def build(rec: SampleRecord, failed: Turn | None = None) -> list[dict[str, str]]:
        first = failed if failed is not None else first_attempt(rec)
        verdict = Verdict.from_dict(first["verdict"])
        messages = list(first["messages"])
        if messages and messages[-1]["role"] == "assistant":  # a gen_prefix turn the response continued
            messages = messages[:-1] + [assistant(messages[-1]["content"] + first["response"])]
        else:
            messages = messages + [assistant(first["response"])]
        return messages + [{"role": "user", "content": prompter.reflection_request(verdict)}]

    return build
