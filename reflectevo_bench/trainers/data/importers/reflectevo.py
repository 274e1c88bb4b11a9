"""ReflectEvo-460K rows (bigai-nlco/ReflectEvo README formats) → this project's training rows and card.

Input fields (D+): ``question``, ``answer``, ``first_trial_reasoning``, ``first_trial_answer``,
``second_trial_reasoning``, ``second_trial_answer``, ``reflections``, ``reason_prompt`` (``[trial 1, trial 2]``),
``reflect_prompt``. D± / Dpref: ``second_trial_*_chosen|rejected``, ``reflection_chosen``, ``reflection_rejected``,
``reason_prompt`` and ``reflection_prompt`` (D+ spells it ``reflect_prompt``; either is accepted).

The released prompts were recorded after generation: a trial's ``reason_prompt`` holds the transcript it should
produce between ``(BEGIN)`` and ``(END)`` (ending "Observation: Answer is CORRECT"). Every prompt here is rebuilt
from the state before generation: the transcript between the markers is emptied, and a trial's reasoning loses
its environment ``Observation:`` line (the verifier's word, not the model's). The reflection prompt is kept as
recorded (it holds the question, the failed first trial and its "Answer is INCORRECT" feedback: all known before
the reflection was written); a row whose completion text still appears inside its own prompt is refused.

Kinds: ``dplus`` (reflection prompt → reflection, the rebuilt trial-2 prompt, the second trial), ``dplus-oneturn``
(reflection prompt + one-turn answer request → reflection, ``New answer:``, the second trial), ``dpm`` and
``dpref`` (reflection prompt → chosen / rejected reflection).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from reflectevo_bench.errors import BenchError
from reflectevo_bench.harness.protocols import ANSWER_MARKER
from reflectevo_bench.jsonl_files import numbered_lines

KINDS = ("dplus", "dplus-oneturn", "dpm", "dpref")
TRANSCRIPT = re.compile(r"\(BEGIN\).*?\(END\)", re.DOTALL)
OBSERVATION = re.compile(r"\n?\s*Observation:.*\Z", re.DOTALL)
ONE_STAGE_REQUEST = (
    "Using your reflection, write your reflection and then a new answer to the question: write a "
    f"line `{ANSWER_MARKER}` and your new answer after it."
)
REBUILT = [
    "reason_prompt: the transcript between (BEGIN) and (END) emptied (it held the completion and its verdict)",
    "trial reasoning: the trailing 'Observation: ...' (the environment's verdict) removed",
    "reflection prompt: kept as recorded (question, failed trial 1 and its feedback: all pre-generation)",
]


def strip_transcript(prompt: str) -> tuple[str, bool]:
    """``prompt`` with everything between ``(BEGIN)`` and ``(END)`` removed; whether anything was."""
    out = TRANSCRIPT.sub("(BEGIN)\n\n(END)", prompt)
    return out, out != prompt and bool(TRANSCRIPT.search(prompt).group(0).strip("()BEGIN END\n \xa0"))  # noqa: B005  (a set of characters)


def model_text(reasoning: Any) -> str:
    """A trial's reasoning as the model wrote it: without the environment's trailing ``Observation:`` line."""
    return OBSERVATION.sub("", str(reasoning or "")).strip()


def _field(row: dict[str, Any], names: tuple[str, ...], where: str) -> str:
    for name in names:
        if isinstance(row.get(name), str) and row[name].strip():
            return row[name]
    raise BenchError(f"{where}: needs a non-empty {' or '.join(names)} (ReflectEvo D+ / D± / Dpref fields)")


def _reason_prompts(row: dict[str, Any], where: str) -> list[str]:
    value = row.get("reason_prompt")
    prompts = [value] if isinstance(value, str) else value
    if not isinstance(prompts, list) or not prompts or not all(isinstance(p, str) for p in prompts):
        raise BenchError(f"{where}: reason_prompt must be a string or a list of strings")
    return prompts


def _user(text: str) -> dict[str, str]:
    return {"role": "user", "content": text}


def _assistant(text: str) -> dict[str, str]:
    return {"role": "assistant", "content": text}


def convert_row(row: Any, kind: str, where: str, stats: dict[str, int]) -> dict[str, Any]:
    if not isinstance(row, dict):
        raise BenchError(f"{where}: expected a JSON object")
    question = _field(row, ("question",), where)
    reflect_prompt = _field(row, ("reflect_prompt", "reflection_prompt"), where)
    doc_hash = hashlib.sha256(question.encode("utf-8")).hexdigest()[:16]
    base = {"doc_hash": doc_hash, "id": row.get("id"), "answer": row.get("answer")}
    if kind in ("dpm", "dpref"):
        chosen = _field(row, ("reflection_chosen",), where)
        rejected = _field(row, ("reflection_rejected",), where)
        out = {
            "prompt": [_user(reflect_prompt)],
            "chosen": [_assistant(chosen)],
            "rejected": [_assistant(rejected)],
            "chosen_branch": 1,
            "rejected_branch": 2,
            **base,
        }
        completions = [chosen, rejected]
    else:
        reflection = _field(row, ("reflections", "reflection_chosen"), where)
        second = model_text(_field(row, ("second_trial_reasoning", "second_trial_reasoning_chosen"), where))
        if not second:
            raise BenchError(f"{where}: the second trial's reasoning is empty once its Observation line is removed")
        if kind == "dplus":
            prompts = _reason_prompts(row, where)
            retry, stripped = strip_transcript(prompts[1] if len(prompts) > 1 else prompts[0])
            stats["transcripts_stripped"] += stripped
            out = {
                "prompt": [_user(reflect_prompt)],
                "completion": [_assistant(reflection), _user(retry), _assistant(second)],
                "branch": 1,
                **base,
            }
            completions = [reflection, second]
        else:
            text = f"{reflection.rstrip()}\n\n{ANSWER_MARKER} {second}"
            out = {
                "prompt": [_user(f"{reflect_prompt.rstrip()}\n\n{ONE_STAGE_REQUEST}")],
                "completion": [_assistant(text)],
                "branch": 1,
                **base,
            }
            completions = [reflection, second]
    prompt_text = "\n".join(m["content"] for m in out["prompt"])
    for text in completions:
        if text.strip() and text.strip() in prompt_text:
            raise BenchError(
                f"{where}: its completion text appears in its own prompt (a post-hoc prompt this "
                "importer cannot rebuild): drop the row or fix its prompt fields"
            )
    return out


def read_rows(path: Path) -> Iterator[tuple[int, Any]]:
    try:
        fh = open(path, encoding="utf-8")
    except OSError as exc:
        raise BenchError(f"cannot read {path}: {exc.strerror or exc}") from None
    with fh:
        text = fh.read()
    if text.lstrip().startswith("["):
        try:
            rows = json.loads(text)
        except ValueError as exc:
            raise BenchError(f"{path} is not valid JSON ({exc})") from None
        yield from enumerate(rows, 1)
        return
    yield from numbered_lines(text.splitlines(), path)


def convert(path: Path, kind: str, task: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """(rows, card extra) of one released file."""
    if kind not in KINDS:
        raise BenchError(f"unknown --kind '{kind}' for --format reflectevo: choose one of {', '.join(KINDS)}")
    stats = {"transcripts_stripped": 0}
    rows = [{**convert_row(row, kind, f"{path} row {n}", stats), "task": task} for n, row in read_rows(Path(path))]
    if not rows:
        raise BenchError(f"{path} holds no rows")
    extra = {
        "imported": {
            "format": "reflectevo",
            "file": str(Path(path).resolve()),
            "rows_read": len(rows),
            "rebuilt": REBUILT,
            **stats,
            "one_turn_request": ONE_STAGE_REQUEST if kind == "dplus-oneturn" else None,
        }
    }
    return rows, extra
