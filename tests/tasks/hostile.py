"""Hostile model outputs for the verifier fuzz suite and ``benchmarks/verifier_worst_case.py``: the explicit worst
cases of issue 17 (one per class) and a Hypothesis strategy that composes such outputs (deep nesting, repeated
markers, huge numbers, long runs of one character, control and surrogate characters, megabyte responses)."""

from __future__ import annotations

from hypothesis import strategies as st

MB = 1_000_000

# the cases, by class: crashes on short outputs, quadratic stalls, multiple-choice gaming
WORST_CASES: dict[str, str] = {
    "countdown_minus_run": "Answer: " + "-" * 300 + "1",
    "thousand_term_sum": "Answer: " + "+".join(["1"] * 1000),
    "answer_equals_only": "Answer: =",
    "open_brackets": "[" * 1000,
    "call_minus_run": "f(x=" + "-" * 1000 + "1)",
    "json_deep_dict": '{"a":' * 1000 + "1" + "}" * 1000,
    "call_not_nesting": "f(x=" + "not " * 1000 + "1)",
    "call_plus_nesting": "f(x=" + "+" * 1000 + "1)",
    "call_4301_digit_int": "f(x=" + "1" * 4301 + ")",
    "json_4301_digit_int": '[{"name": "f", "arguments": {"x": ' + "1" * 4301 + "}}]",
    "hashes_x5000": "#### " * 5000,
    "answer_colon_x5000": "Answer: " * 5000,
    "so_the_answer_x4000": "So the answer is " * 4000,
    "finish_x50000": "Finish[" * 50000,
    "boxed_nested_parens": "\\boxed{" + "(" * 50 + "1" + ")" * 50 + "}",
    "boxed_power_tower": "\\boxed{9^{9^{9^{9}}}}",
    "boxed_big_factorial": "\\boxed{(10^{10})!}",
    "answer_tag_x20000": "<answer>" * 20000,
    "unstructured_50k": ("ab(c[d{e\"f'g " * 4000)[:50000],
    "think_x20000": "<think>" * 20000,
    "fence_x20000": "```" * 20000,
    "hedged_letters": 'Thought: B or E.\nAction: Answer("B") and Answer("E")',
    "prose_final_answer": 'Action: Answer("B")\nAlways double-check your calculations and final answer.',
    "mb_one_char": "a" * MB,
    "mb_open_paren": "(" * MB,
    "mb_digits": "9" * MB,
    "mb_answer_markers": "Answer: (A) " * (MB // 12),
    "control_and_surrogates": "\x00\x07\x1b[2J\ud800\udfff\u202e Answer: \ud83d B\x00" * 1000,
}

_PIECES = [
    "Answer: ",
    "answer is ",
    "So the answer is ",
    "final answer",
    "Finish[",
    "]",
    'Answer("B")',
    "Answer(",
    "#### ",
    "\\boxed{",
    "}",
    "{",
    "(",
    ")",
    "[",
    "<answer>",
    "</answer>",
    "<think>",
    "</think>",
    "<tool_call>",
    "```",
    "```python\n",
    "\n",
    " ",
    "-",
    "+",
    "=",
    "*",
    "/",
    "not ",
    '{"a":',
    '"',
    "'",
    "\\",
    "$",
    "A",
    "(B)",
    "9" * 50,
    "1" * 4301,
    "f(x=",
    "def f():\n    return 1\n",
    "\x00",
    "\ud800",
    "\u202e",
    "\u2212",
    "é",
    "İ",
]
_SIZES = [1, 2, 10, 100, 1_000, 10_000, 100_000, MB]


@st.composite
def hostile_text(draw: st.DrawFn) -> str:
    """A prefix, a run of one hostile piece (up to a megabyte), a suffix; sometimes a few such runs joined."""
    parts = []
    for _ in range(draw(st.integers(1, 3))):
        piece = draw(st.sampled_from(_PIECES))
        count = max(1, draw(st.sampled_from(_SIZES)) // len(piece))
        parts.append(draw(st.text(max_size=20)) + piece * count)
    parts.append(
        draw(
            st.sampled_from(
                [
                    "",
                    "\nAnswer: B",
                    "\nSo the answer is (A).",
                    "\n#### 42",
                    "\\boxed{2}",
                    "[f(x=1)]",
                    "<answer>1+2</answer>",
                ]
            )
        )
    )
    return "".join(parts)
