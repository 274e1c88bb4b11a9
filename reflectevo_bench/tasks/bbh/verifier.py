"""BBH verifiers, one per answer kind; the final answer is the segment after the last "So the answer is" /
"Answer:" marker. A response with no final-answer marker (a truncated or looping chain of thought) has no answer,
as in the BBH authors' scoring and lm-eval's strict ``the answer is`` filter; its last line is never read.

- ``mc``: one option letter ``(A)``..``(R)`` (robust extraction; two different letters are wrong). Three upstream
  items have a text target instead of a letter (movie_recommendation 163, ruin_names 99 and 144, whose options
  were split at commas upstream): there the answer text must equal the target after normalisation.
- ``yes_no``, ``true_false``, ``valid_invalid``: the answer word, case-insensitive (``not valid`` = invalid).
- ``number``: the number after the last ``=`` (else the first number) equals the target (``-50``, ``1,000``,
  number words up to twenty).
- ``dyck``: the closing brackets, spaces ignored (the whole completed sequence is accepted too).
- ``words``: the sorted word list, word by word (case, commas and quotes ignored).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from fractions import Fraction
from typing import Any

from reflectevo_bench.errors import BenchError
from reflectevo_bench.tasks.common.extract import (
    final_segment,
    normalize_text,
    numbers_in,
    parse_number,
    parse_options,
    strip_answer_wrappers,
)
from reflectevo_bench.tasks.common.mc import choice_verdict
from reflectevo_bench.tasks.verdict import Verdict, process_results_from

NUMBER_WORDS = {
    w: i
    for i, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
        "seventeen eighteen nineteen twenty".split()
    )
}
PAIRS = {"yes_no": ("yes", "no"), "true_false": ("true", "false"), "valid_invalid": ("valid", "invalid")}
BRACKETS = re.compile(r"[()\[\]{}<>]")


def _doc(doc: dict[str, Any]) -> tuple[str, str]:
    if not isinstance(doc.get("input"), str) or "target" not in doc:
        raise BenchError("bbh doc needs 'input' and 'target' (BIG-Bench-Hard schema)")
    return doc["input"], str(doc["target"]).strip()


def _segment(response: str) -> tuple[str | None, str]:
    segment, source = final_segment(response, require_marker=True)
    return (strip_answer_wrappers(segment) if segment is not None else None), source


def _no_answer(hint: str) -> Verdict:
    return Verdict(
        False,
        0.0,
        f"No final answer was found: finish with the sentence `So the answer is {hint}.`",
        None,
        {"reason": "no_answer"},
    )


def _wrong(answer: str, source: str, reason: str = "wrong_answer") -> Verdict:
    return Verdict(
        False, 0.0, f'Your final answer "{answer}" is incorrect.', answer, {"reason": reason, "source": source}
    )


def _right(answer: str, source: str) -> Verdict:
    return Verdict(True, 1.0, "", answer, {"reason": "ok", "source": source})


def verify_mc(doc: dict[str, Any], response: str) -> Verdict:
    text, target = _doc(doc)
    options = parse_options(text)
    letters = "".join(options) or "ABCD"
    gold = re.fullmatch(r"\(?([A-Z])\)?", target)
    if gold:
        return choice_verdict(
            response, [gold.group(1)], letters, options, answer_line="So the answer is (X).", require_marker=True
        )
    # upstream items whose target is an option text, not a letter
    answer, source = _segment(response)
    if answer is None:
        return _no_answer("(X)")
    if normalize_text(answer) == normalize_text(target):
        return _right(answer, source)
    return _wrong(answer, source)


def _pair_verdict(kind: str, doc: dict[str, Any], response: str) -> Verdict:
    _, target = _doc(doc)
    positive, negative = PAIRS[kind]
    answer, source = _segment(response)
    hint = f"{positive.capitalize()}` or `So the answer is {negative.capitalize()}"
    if not answer:
        return _no_answer(hint)
    words = re.findall(r"[a-z]+", answer.lower())
    said: set[str] = set()
    if kind == "valid_invalid":
        joined = " ".join(words)
        if re.search(r"\b(invalid|not valid)\b", joined):
            said.add("invalid")
        if re.search(r"(?<!not )\bvalid\b", joined.replace("invalid", "")):
            said.add("valid")
    elif words and words[0] in (positive, negative):
        said.add(words[0])
    else:
        said = {w for w in words if w in (positive, negative)}
    if not said:
        return Verdict(
            False,
            0.0,
            f'Your final answer "{answer}" is not one of {positive.capitalize()} / {negative.capitalize()}.',
            answer,
            {"reason": "no_answer", "source": source},
        )
    if len(said) > 1:
        return Verdict(
            False,
            0.0,
            f'Your final answer "{answer}" gives both {positive} and {negative}; give exactly one.',
            answer,
            {"reason": "ambiguous", "source": source},
        )
    value = said.pop()
    return _right(value, source) if value == target.lower() else _wrong(value, source)


def verify_yes_no(doc: dict[str, Any], response: str) -> Verdict:
    return _pair_verdict("yes_no", doc, response)


def verify_true_false(doc: dict[str, Any], response: str) -> Verdict:
    return _pair_verdict("true_false", doc, response)


def verify_valid_invalid(doc: dict[str, Any], response: str) -> Verdict:
    return _pair_verdict("valid_invalid", doc, response)


def verify_number(doc: dict[str, Any], response: str) -> Verdict:
    _, target = _doc(doc)
    gold = parse_number(target)
    if gold is None:
        raise BenchError(f"bbh doc target {target!r} is not a number")
    answer, source = _segment(response)
    if not answer:
        return _no_answer("N")
    value: Fraction | None = None
    nums = numbers_in(answer.rsplit("=", 1)[-1]) or numbers_in(answer)  # "5 - 3 = 2" answers 2
    if nums:
        value = parse_number(nums[0])
    else:
        word = next((w for w in re.findall(r"[a-z]+", answer.lower()) if w in NUMBER_WORDS), None)
        value = Fraction(NUMBER_WORDS[word]) if word else None
    if value is None:
        return Verdict(
            False,
            0.0,
            f'Your final answer "{answer}" is not a number.',
            answer,
            {"reason": "no_answer", "source": source},
        )
    shown = str(value.numerator) if value.denominator == 1 else str(float(value))
    return _right(shown, source) if value == gold else _wrong(shown, source)


def verify_dyck(doc: dict[str, Any], response: str) -> Verdict:
    text, target = _doc(doc)
    gold = "".join(target.split())
    answer, source = final_segment(response, require_marker=True)  # no wrapper stripping: brackets are the answer here
    if not answer:
        return _no_answer("X")
    got = "".join(BRACKETS.findall(answer))
    if not got:
        return Verdict(
            False,
            0.0,
            f'Your final answer "{answer}" holds no brackets.',
            answer,
            {"reason": "no_answer", "source": source},
        )
    given = "".join(BRACKETS.findall(text.split("Input:", 1)[-1]))
    shown = " ".join(got)
    if got == gold or got == given + gold:
        return _right(shown, source)
    return _wrong(shown, source)


def _words(text: str) -> list[str]:
    tokens = re.split(r"[\s,]+", text.lower())
    return [t.strip(".;:\"'`[]()") for t in tokens if t.strip(".;:\"'`[]()")]


def verify_words(doc: dict[str, Any], response: str) -> Verdict:
    _, target = _doc(doc)
    answer, source = _segment(response)
    if not answer:
        return _no_answer("<the sorted words>")
    got = _words(answer)
    shown = " ".join(got)
    return _right(shown, source) if got == _words(target) else _wrong(shown, source)


VERIFIERS: dict[str, Callable[[dict[str, Any], str], Verdict]] = {
    "mc": verify_mc,
    "yes_no": verify_yes_no,
    "true_false": verify_true_false,
    "valid_invalid": verify_valid_invalid,
    "number": verify_number,
    "dyck": verify_dyck,
    "words": verify_words,
}


process_results_mc = process_results_from(verify_mc)
process_results_yes_no = process_results_from(verify_yes_no)
process_results_true_false = process_results_from(verify_true_false)
process_results_valid_invalid = process_results_from(verify_valid_invalid)
process_results_number = process_results_from(verify_number)
process_results_dyck = process_results_from(verify_dyck)
process_results_words = process_results_from(verify_words)
