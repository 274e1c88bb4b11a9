"""Issue 17, items 1-3: each listed hostile output gets a wrong verdict with a reason (not a crash), the guard notes
cut responses, and multiple-choice hedging and prose "final answer" are judged as the README promises."""

from __future__ import annotations

import pytest

from reflectevo_bench.tasks import guard
from reflectevo_bench.tasks.verdict import FunctionVerifier, Verdict

COUNTDOWN = {"nums": [3, 5, 3], "target": 24}


@pytest.mark.parametrize(
    "response,reason",
    [
        ("Answer: " + "-" * 300 + "1", "unparsable"),
        ("Answer: " + "+".join(["1"] * 1000), "unparsable"),
        ("Answer: =", "no_answer"),
        ("<answer>" * 20000, "unparsable"),
    ],
)
def test_countdown_hostile_outputs_are_wrong_with_a_reason(response, reason):
    from reflectevo_bench.tasks.countdown.verifier import verify

    verdict = verify(COUNTDOWN, response)
    assert not verdict.correct and verdict.details["reason"] in (reason, "no_answer", "unparsable")


def test_countdown_right_answers_still_pass():
    from reflectevo_bench.tasks.countdown.verifier import verify

    assert verify(COUNTDOWN, "<answer>(3 + 5) * 3</answer>").correct
    assert verify(COUNTDOWN, "<answer>1</answer> then <answer>(3 + 5) * 3 = 24</answer>").correct
    assert verify(COUNTDOWN, "Answer: (3 + 5) * 3").correct


@pytest.mark.parametrize(
    "response",
    [
        "[" * 1000,
        "f(x=" + "-" * 1000 + "1)",
        '{"a":' * 1000,
        "f(x=" + "not " * 1000 + "1)",
        "f(x=" + "+" * 1000 + "1)",
        "f(x=" + "1" * 4301 + ")",
        '[{"name": "f", "arguments": {"x": ' + "1" * 4301 + "}}]",
    ],
)
def test_function_call_parser_never_raises_on_hostile_text(response):
    from reflectevo_bench.tasks.function_calling.calls import parse_calls

    parsed = parse_calls(response)
    assert parsed.calls is None or isinstance(parsed.calls, list)


def test_function_calls_still_parse():
    from reflectevo_bench.tasks.function_calling.calls import parse_calls

    assert [
        c.name for c in parse_calls("<think>[no(x=1)]</think> Sure: [f(a=-1, b=[1, {'k': 2}]), g(c=\"x\")]").calls
    ] == ["f", "g"]
    assert parse_calls('{"name": "f", "arguments": {"a": 10000000000000000000000}}').calls[0].arguments == {"a": 10**22}


def test_hedged_react_answer_is_ambiguous_and_prose_final_answer_is_no_marker():
    from reflectevo_bench.tasks.logiqa.verifier import verify_reflectevo

    doc = {"question": "Q?\nA. a\nB. b\nC. c\nD. d", "answer": "b"}
    hedged = verify_reflectevo(doc, 'Thought: B or D.\nAction: Answer("B") and Answer("D")')
    assert not hedged.correct and hedged.details["reason"] == "ambiguous"
    prose = verify_reflectevo(doc, 'Action: Answer("B")\nAlways double-check your calculations and final answer.')
    assert prose.correct
    changed_mind = verify_reflectevo(doc, 'Action 1: Answer("D")\nObservation: wrong\nAction 2: Answer("B")')
    assert changed_mind.correct


def test_guard_cuts_long_responses_and_says_so():
    seen = []

    def judge(doc, response):
        seen.append(len(response))
        return Verdict(response.endswith("B"), 1.0, "")

    response = "x" * 100_000 + "B"
    verdict = guard.guarded_many(FunctionVerifier(judge), [{}], [response])[0]
    assert verdict.correct and seen == [guard.TAIL_CHARS]
    assert verdict.details["cut"] == {"kept_chars": guard.TAIL_CHARS, "response_chars": len(response)}
    short = guard.guarded_many(FunctionVerifier(judge), [{}], ["B"])[0]
    assert "cut" not in short.details


def test_a_failing_batch_form_is_retried_row_by_row():
    def one(doc, response):
        if response == "boom":
            raise ValueError("bad row")
        return Verdict(True, 1.0, "")

    def many(docs, responses):
        return [one(d, r) for d, r in zip(docs, responses)]

    verdicts = guard.guarded_many(FunctionVerifier(one, many), [{}] * 3, ["ok", "boom", "ok"])
    assert [v.correct for v in verdicts] == [True, False, True]
    assert verdicts[1].details == {"reason": "verifier_error", "error": "ValueError: bad row"}


def test_bad_doc_is_still_a_one_line_error_not_a_verdict():
    from reflectevo_bench.errors import BenchError
    from reflectevo_bench.tasks.countdown.verifier import verify

    with pytest.raises(BenchError, match="countdown doc needs integer"):
        guard.guarded(verify, {"nums": ["a"], "target": 3}, "Answer: 1")


def test_score_summary_counts_verifier_errors(tmp_path):
    from reflectevo_bench.harness.score import write_scores

    rows = [
        {"row": 0, "correct": False, "details": {"reason": "verifier_error", "error": "timeout"}},
        {"row": 1, "correct": True, "details": {"reason": "ok"}},
    ]
    assert write_scores(tmp_path, "t", rows)["verifier_errors"] == 1
