"""Reflection analytics on hand-made records whose answers are known."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from reflectevo_bench.harness.analytics import analyse, reflection_analytics, states_answer


def _attempt(rnd, correct, extracted, branch=1, reason=None, response=None):
    details = {"reason": reason} if reason else {}
    return {
        "kind": "attempt",
        "round": rnd,
        "branch": branch,
        "response": response or f"... {extracted}",
        "extracted": extracted,
        "verdict": {"correct": correct, "extracted": extracted, "details": details},
    }


def _reflection(text, tokens, branch=1):
    return {"kind": "reflection", "round": 2, "branch": branch, "response": text, "completion_tokens": tokens}


def _rec(*turns, correct_at=(False, False)):
    return {"task": "t", "doc_id": 0, "turns": list(turns), "correct_at": list(correct_at)}


RECORDS = [
    _rec(_attempt(1, True, "4")),  # right at attempt 1: no reflection step
    _rec(
        _attempt(1, False, "5", reason="wrong_value"),
        _reflection("I added wrong. Answer: 4", 10),
        _attempt(2, True, "4"),
        correct_at=(False, True),
    ),
    _rec(
        _attempt(1, False, "7", reason="wrong_value"),
        _reflection("Let me re-check the sum." * 10, 40),
        _attempt(2, False, " 7 "),
        correct_at=(False, False),
    ),
    _rec(
        _attempt(1, False, None, reason="no_answer", response="no idea"),
        _reflection("x" * 600, 200),
        _attempt(2, False, None, response="No  idea"),
    ),
    # two branches of one failure: branch 1 repeats the failed answer, branch 2 passes
    _rec(
        _attempt(1, False, "A", reason="wrong_answer"),
        _reflection("the answer is B", 5, 1),
        _attempt(2, False, "a", 1),
        _reflection("think again", None, 2),
        _attempt(2, True, "B", 2),
    ),
]


def test_known_counts():
    a = analyse(RECORDS)
    assert a["reflections"] == 5
    assert a["states_answer"] == 2 and a["states_answer_rate"] == 2 / 5
    assert a["repeats_failed"] == 3  # " 7 " == "7", "No  idea" == "no idea" (no extraction), "a" == "A"
    assert a["reflection_tokens_mean"] == (10 + 40 + 200 + 5) / 4
    assert a["by_feedback"] == {
        "no_answer": {"retries": 1, "wrong_to_right": 0, "rate": 0.0},
        "wrong_answer": {"retries": 2, "wrong_to_right": 1, "rate": 0.5},
        "wrong_value": {"retries": 2, "wrong_to_right": 1, "rate": 0.5},
    }
    assert list(a["by_length"]) == ["<32", "32-127", "128-511", "unknown"]
    assert a["by_length"]["<32"] == {"retries": 2, "passed": 1, "rate": 0.5}
    assert a["by_length"]["unknown"] == {"retries": 1, "passed": 1, "rate": 1.0}


def test_no_reflections_gives_null_rates_and_all_row():
    out = reflection_analytics({"x": RECORDS[:1], "y": RECORDS[1:2]})
    assert out["x"]["reflections"] == 0 and out["x"]["states_answer_rate"] is None
    assert out["all"]["reflections"] == 1


def test_states_answer_patterns():
    assert states_answer("Final answer: 12") and states_answer("**Answer:** B") and states_answer("so \\boxed{3}")
    assert not states_answer("I should answer more carefully next time.")
    assert not states_answer("The question asks for an answer in the form Answer: X"[:30])


@given(st.text(max_size=300))
def test_states_answer_never_raises(text):
    assert states_answer(text) in (True, False)
