"""Answer extraction shared by the verifiers: option letters, numbers, final-answer segments, free text."""

from __future__ import annotations

from fractions import Fraction

import pytest

from reflectevo_bench.tasks.common.extract import (
    extract_choice,
    extract_number,
    final_segment,
    last_boxed,
    normalize_text,
    parse_options,
    token_f1,
)
from reflectevo_bench.tasks.common.mc import choice_verdict


@pytest.mark.parametrize(
    "response,letter",
    [
        ("A", "A"),
        ("(A)", "A"),
        ("A.", "A"),
        ("A)", "A"),
        ("[A]", "A"),
        ("**B**", "B"),
        ("`C`", "C"),
        ("The answer is A", "A"),
        ("the answer is (c).", "C"),
        ("Answer: b", "B"),
        ("Answer:D", "D"),
        ("Finish[A]", "A"),
        ("Finish[(b)]", "B"),
        ("$\\boxed{\\text{D}}$", "D"),
        ("\\boxed{C}", "C"),
        ("**Answer: C**", "C"),
        ("Final answer: **B**", "B"),
        ("So the answer is (D).", "D"),
        ("The correct option is (B) Paris", "B"),
        ("The correct answer is option C.", "C"),
        ("Let me think.\nA is wrong, B is wrong.\nAnswer:\n(C)", "C"),
        ("Answer: A because B is wrong", "A"),
        ("Answer: A\nOn reflection that is wrong.\nAnswer: B", "B"),  # the last marker wins
        ("B. The railway is new.", "B"),
        ("I think so.\n\nB", "B"),
        # ReAct final actions; the final committed answer wins over a quoted earlier one
        ('Action: Answer("C")', "C"),
        ("Answer(C)", "C"),
        ("Action: Answer('B')", "B"),
        ('Finish["D"]', "D"),
        ('Thought: Previous answer: C was wrong.\nAction: Answer("A")', "A"),
        ("Previous answer: C\nMy reasoning changed.\nAnswer(B)", "B"),
        ('Answer: "C"', "C"),
        # a variable that looks like a letter is not an option; an explicit "option X" in the final segment is
        ("So the answer is D/(M-3), which is option A", "A"),
        ("The answer is D-3, i.e. choice (B).", "B"),
        ("Answer: B\n\nExplanation: the answer is correct because of the second premise.", "B"),
        ("Answer: A - the first one", "A"),
    ],
)
def test_letter_extraction(response, letter):
    choice = extract_choice(response, "ABCD")
    assert choice.letter == letter and not choice.ambiguous, choice


@pytest.mark.parametrize(
    "response",
    [
        "Answer: A or B",
        "Finish[A, B]",
        "The final answer is: A, C",
        "Answer: A/B",
        "Answer: (A) and (C)",
        "B\n\nbecause of that, maybe\n\nD",
        "**A** or **B**",
    ],
)
def test_two_different_letters_are_ambiguous(response):
    choice = extract_choice(response, "ABCD")
    assert choice.ambiguous and choice.letter is None, choice
    verdict = choice_verdict(response, ["A"], "ABCD")
    assert not verdict.correct and verdict.details["reason"] == "ambiguous"
    assert "more than one option" in verdict.feedback


@pytest.mark.parametrize(
    "response",
    [
        "Let me think. A farmer has three cows.",
        "The answer is a bit unclear to me.",
        "",
        "I cannot decide.",
        "Answer: E",  # not an allowed letter
    ],
)
def test_no_letter(response):
    assert extract_choice(response, "ABCD").letters == ()
    verdict = choice_verdict(response, ["A"], "ABCD")
    assert not verdict.correct and "No final answer" in verdict.feedback and "A, B, C or D" in verdict.feedback


@pytest.mark.parametrize(
    "response",
    [
        "the closest answer is B, but none fits.\nAnswer: None of the above",  # no backwards search
        "I think the answer is B, although...\nThe correct answer is none of them.",
        "Answer: D/(M-3)",
        "The answer is D-3.",
        "Answer: f(D)",  # variables, not options
        "Previous answer: C\nThought: let me work it out again.",  # a quoted earlier answer commits nothing
        "Answer: A's claim is irrelevant",
    ],
)
def test_final_answer_naming_no_option_is_no_answer(response):
    choice = extract_choice(response, "ABCDE")
    assert choice.letters == (), choice
    verdict = choice_verdict(response, ["B"], "ABCDE")
    assert not verdict.correct and "No final answer" in verdict.feedback


def test_require_marker_never_reads_the_last_line():
    assert extract_choice("step 1\nstep 2\n(B)", "ABC").letter == "B"
    assert extract_choice("step 1\nstep 2\n(B)", "ABC", require_marker=True).letters == ()
    assert final_segment("looping = looping =", require_marker=True) == (None, "none")


def test_option_text_counts_when_no_letter():
    options = {"A": "Tom is a dog.", "B": "Tom is an animal."}
    assert extract_choice("Answer: Tom is an animal", "AB", options).letter == "B"
    assert extract_choice("Answer: tom is a dog.", "AB", options).letter == "A"


def test_wrong_letter_feedback_does_not_reveal_gold():
    verdict = choice_verdict("Answer: C", ["B"], "ABCD")
    assert not verdict.correct and verdict.feedback == "Your final answer (C) is incorrect."
    assert "B" not in verdict.feedback


def test_parse_options_handles_upstream_layouts():
    assert parse_options("Q?\nA.x\nB.y\nC.z\nD.w") == {"A": "x", "B": "y", "C": "z", "D": "w"}
    assert parse_options("Q?\nOptions:\n(A) x\n(B) y") == {"A": "x", "B": "y"}
    assert parse_options("Q?\nA.F\nC.J\nB.G\nD.N") == {"A": "F", "B": "G", "C": "J", "D": "N"}  # out of order


@pytest.mark.parametrize(
    "response,value",
    [
        ("#### 42", 42),
        ("so the total is\n#### 1,234", 1234),
        ("The answer is $5.", 5),
        ("Answer: -3", -3),
        ("He pays 12 - 5 = 7 dollars.", 7),
        ("Total: 18.00", 18),
        ("\\boxed{1,000}", 1000),
        ("It is 50%.", 50),
        ("3 + 4 = 7. Final answer: 7 apples", 7),
        ("The answer is 5 + 3 = 8", 8),
        ("Answer: 2.5", Fraction(5, 2)),
        ("Answer: 3/4", Fraction(3, 4)),
        ("It's \u22124", -4),
        ("I got 41 first, then 42.", 42),
    ],
)
def test_number_extraction(response, value):
    got, _, _ = extract_number(response)
    assert got == value


def test_no_number():
    assert extract_number("I do not know.")[0] is None


def test_last_boxed_balances_braces():
    assert last_boxed("\\boxed{1} then \\boxed{\\frac{1}{2}}") == "\\frac{1}{2}"
    assert last_boxed("no box") is None


def test_final_segment_prefers_markers_then_last_line():
    assert final_segment("blah\nSo the answer is Yes.\nThanks")[0] == "Yes."
    assert final_segment("blah\nfoo bar") == ("foo bar", "last_line")


def test_free_text_normalisation_and_f1():
    assert normalize_text("The  Mat!") == "mat"
    assert token_f1("The mat.", "a mat") == 1.0
    assert 0 < token_f1("on a red mat", "on the mat") < 1


@pytest.mark.timeout(30)
def test_unclosed_boxed_spam_is_linear_not_quadratic():
    from reflectevo_bench.tasks.common.extract import boxed_spans, last_boxed

    hostile = "\\boxed{" * 50_000 + "x"  # quadratic scanning took minutes on this
    assert last_boxed(hostile) is None and boxed_spans(hostile) == []
    assert last_boxed("{ \\boxed{a {b} } } \\boxed{ {c }") == "a {b} "
    assert [c for _, c in boxed_spans("\\boxed{1} and \\fbox{ {2} }")] == ["1", " {2} "]
