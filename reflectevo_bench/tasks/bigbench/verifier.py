"""BIG-bench verifiers.

- Multiple choice: one option letter (robust extraction, two different letters are wrong); an answer that quotes
  an option's text also counts. Every choice with the top score is correct.
- Free text: the final answer (``Answer: ...`` line, else the last line) after SQuAD normalisation (lower case,
  no punctuation or articles) must equal one target exactly; token F1 against the best target is reported beside
  it (``details.f1`` and the lm-eval metric ``f1``) but does not decide correctness.
"""

from __future__ import annotations

import re
from typing import Any

from reflectevo_bench.errors import BenchError
from reflectevo_bench.tasks.bigbench.docs import LETTERS, to_doc
from reflectevo_bench.tasks.common.extract import (
    best_f1,
    final_segment,
    normalize_text,
    parse_options,
    strip_answer_wrappers,
)
from reflectevo_bench.tasks.common.mc import choice_verdict
from reflectevo_bench.tasks.verdict import Verdict, process_results_from


def free_text_verdict(response: str, targets: list[str]) -> Verdict:
    segment, source = final_segment(response)
    if segment is None:
        return Verdict(
            False,
            0.0,
            "No final answer was found: end with a line `Answer: <answer>`.",
            None,
            {"reason": "no_answer", "f1": 0.0},
        )
    answer = strip_answer_wrappers(segment)
    f1 = best_f1(answer, targets)
    norm = normalize_text(answer)
    if norm and any(norm == normalize_text(t) for t in targets):
        return Verdict(True, 1.0, "", answer, {"reason": "ok", "source": source, "f1": f1})
    return Verdict(
        False,
        0.0,
        f'Your final answer "{answer}" is incorrect.',
        answer,
        {"reason": "wrong_answer", "source": source, "f1": f1},
    )


def verify(doc: dict[str, Any], response: str) -> Verdict:
    doc = to_doc(doc)
    if doc["kind"] == "mc":
        letters = LETTERS[: len(doc["choices"])]
        options = dict(zip(letters, doc["choices"]))
        verdict = choice_verdict(response, [letters[i] for i in doc["gold"]], letters, options)
        verdict.details["f1"] = float(verdict.correct)
        return verdict
    return free_text_verdict(response, list(doc["targets"]))


def verify_reflectevo(doc: dict[str, Any], response: str) -> Verdict:
    """ReflectEvo's mixed file: a lower-case letter answer with listed options is multiple choice, else free text."""
    if "question" not in doc or "answer" not in doc:
        raise BenchError("bigbench_reflectevo doc needs 'question' and 'answer' (ReflectEvo schema)")
    answer = str(doc["answer"]).strip()
    options = parse_options(str(doc["question"]))
    if re.fullmatch(r"[a-zA-Z]", answer) and len(options) >= 2:
        letters = "".join(sorted(options))
        verdict = choice_verdict(response, [answer.upper()], letters, options)
        verdict.details["f1"] = float(verdict.correct)
        verdict.details["kind"] = "mc"
        return verdict
    verdict = free_text_verdict(response, [answer])
    verdict.details["kind"] = "free"
    return verdict


def _f1(verdict: Verdict) -> dict[str, float]:
    return {"f1": float(verdict.details.get("f1", 0.0))}


process_results = process_results_from(verify, extra=_f1)
process_results_reflectevo = process_results_from(verify_reflectevo, extra=_f1)
