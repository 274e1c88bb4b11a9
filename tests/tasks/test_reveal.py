"""reveal (the positive control's task): seeded, disjoint splits, a verifier that reads the first digit, reveals
the answer in its feedback and never crashes; the `tiny` alias resolves in run model args."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from reflectevo_bench.tasks.reveal.generator import DIGITS, build_splits, generate
from reflectevo_bench.tasks.reveal.prompts import doc_to_text
from reflectevo_bench.tasks.reveal.verifier import verify


def test_splits_are_seeded_disjoint_and_balanced():
    splits = build_splits(200, 20, 2000, 21)
    assert splits == build_splits(200, 20, 2000, 21)
    assert generate(50, 21) == generate(100, 21)[:50]
    test, train = ({r["code"] for r in splits[s]} for s in ("test", "train"))
    assert len(test) == 200 and len(train) == 2000 and not test & train
    counts = {d: sum(r["answer"] == d for r in splits["train"]) for d in DIGITS}
    assert all(400 <= c <= 600 for c in counts.values()), counts
    assert {doc_to_text(r).replace(r["code"], "") for r in splits["test"]} == {"Code : which digit, 1-4?"}


def test_verifier_reads_the_first_digit_and_reveals_the_answer():
    doc = {"code": "abcd", "answer": "3"}
    assert verify(doc, " 3").correct and verify(doc, "3 because").correct
    for wrong in ("", "x3", "2", " 13", "\u0663"):
        v = verify(doc, wrong)
        assert not v.correct and v.feedback == "The answer is 3.", wrong


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_verifier_never_crashes(text):
    v = verify({"code": "abcd", "answer": "2"}, text)
    assert v.correct == text.lstrip().startswith("2")
    assert v.correct or v.feedback == "The answer is 2."


def test_tiny_alias_resolves_in_run_model_args(tmp_path, monkeypatch):
    from reflectevo_bench.harness.run import resolve_model_args

    monkeypatch.setenv("REFLECTEVO_BENCH_CACHE", str(tmp_path))
    args = resolve_model_args("hf", "pretrained=tiny", None)
    assert args["pretrained"] == str(tmp_path / "models" / "tiny-llama")
    assert (tmp_path / "models" / "tiny-llama" / "config.json").is_file()
