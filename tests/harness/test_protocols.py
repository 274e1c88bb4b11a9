"""Protocol state machine, driven by a scripted deterministic LM (tests/scripted_lm.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import scripted_lm  # noqa: F401  (registers the scripted models)
from rich.console import Console

from reflectevo_bench.harness.records import read_records
from reflectevo_bench.harness.run import RunOptions, run

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def _run(tmp_path: Path, toy_yaml: Path, **kw):
    scripted_lm.ScriptedLM.calls.clear()
    scripted_lm.ScriptedReflector.calls.clear()
    opts = RunOptions(model="scripted-test", tasks=str(toy_yaml), output=str(tmp_path / "run"), **kw)
    out_dir, results = run(opts, Console(file=open("/dev/null", "w")))
    recs = {r["doc_id"]: r for r in read_records(out_dir)["toy_scripted"]}
    return results, recs, out_dir


def test_reflect_stops_right_docs_and_retries_wrong_ones(tmp_path, toy_yaml):
    results, recs, _ = _run(tmp_path, toy_yaml, protocol="reflect")
    m = results["results"]["toy_scripted"]
    assert m["n"] == 5 and results["feedback_mode"] == "oracle"
    assert m["acc@t1"] == pytest.approx(2 / 5)  # docs 0 and 3
    assert m["acc@t2"] == pytest.approx(3 / 5)  # + doc 1
    assert m["delta"] == pytest.approx(1 / 5)
    assert (m["wrong_to_right"], m["right_to_wrong"]) == (1, 0)
    assert [t["kind"] for t in recs[0]["turns"]] == ["attempt"]
    assert [t["kind"] for t in recs[1]["turns"]] == ["attempt", "reflection", "attempt"]
    assert recs[1]["correct"] == [False, True] and recs[1]["correct_at"] == [False, True]
    reflection_turn = recs[1]["turns"][1]
    # the model hears the verifier's feedback, and the reflection sits in context at the retry
    asked = reflection_turn["messages"][-1]["content"]
    assert asked.startswith("Your answer is incorrect.\nYou answered '5', which is not right.")
    retry_msgs = recs[1]["turns"][2]["messages"]
    assert [m["role"] for m in retry_msgs] == ["user", "assistant", "user", "assistant", "user"]
    assert retry_msgs[3]["content"] == "R1" and "Reply with the number only." in retry_msgs[4]["content"]
    # the recorded prompt is exactly what was sent (the scripted template is JSON of the messages)
    assert json.loads(recs[1]["turns"][2]["prompt"]) == retry_msgs


def test_phases_are_batched_across_docs(tmp_path, toy_yaml):
    _run(tmp_path, toy_yaml, protocol="reflect")
    sizes = [len(call) for call in scripted_lm.ScriptedLM.calls]
    assert sizes == [5, 3, 3]  # all attempt-1s, then the 3 wrong docs' reflections, then their retries


def test_retry_control_has_no_reflection_turn(tmp_path, toy_yaml):
    results, recs, _ = _run(tmp_path, toy_yaml, protocol="retry")
    assert [t["kind"] for t in recs[1]["turns"]] == ["attempt", "attempt"]
    ask = recs[1]["turns"][1]["messages"][-1]["content"]
    assert "Your answer is incorrect." in ask and "Please try again." in ask
    assert results["results"]["toy_scripted"]["acc@t2"] == pytest.approx(3 / 5)
    assert [len(c) for c in scripted_lm.ScriptedLM.calls] == [5, 3]


def test_self_refine_gives_no_oracle_and_counts_right_to_wrong(tmp_path, toy_yaml):
    results, recs, _ = _run(tmp_path, toy_yaml, protocol="self-refine")
    m = results["results"]["toy_scripted"]
    assert results["feedback_mode"] == "none" and m["feedback"] == "none"
    assert all(len(r["turns"]) == 3 for r in recs.values())  # every doc reflects and retries
    for rec in recs.values():
        assert "incorrect" not in rec["turns"][1]["messages"][-1]["content"].lower()
    assert m["acc@t2"] == pytest.approx(1 / 5)  # only doc 1 is right at attempt 2
    assert (m["wrong_to_right"], m["right_to_wrong"]) == (1, 2)  # docs 0 and 3 broke


def test_k_attempts_generalise(tmp_path, toy_yaml):
    results, recs, _ = _run(tmp_path, toy_yaml, protocol="reflect", attempts=3)
    m = results["results"]["toy_scripted"]
    assert [m["acc@t1"], m["acc@t2"], m["acc@t3"]] == pytest.approx([0.4, 0.6, 0.8])
    assert recs[2]["correct"] == [False, False, True]
    assert [len(c) for c in scripted_lm.ScriptedLM.calls] == [5, 3, 3, 2, 2]


def test_reflector_model_writes_reflections_generator_writes_attempts(tmp_path, toy_yaml):
    _, recs, _ = _run(tmp_path, toy_yaml, protocol="reflect", reflector_model="scripted-reflector")
    turns = recs[1]["turns"]
    assert turns[1]["model"] == "reflector" and turns[1]["response"] == "REFLECTOR:R1"
    assert turns[0]["model"] == turns[2]["model"] == "generator"
    assert [len(c) for c in scripted_lm.ScriptedReflector.calls] == [3]
    assert [len(c) for c in scripted_lm.ScriptedLM.calls] == [5, 3]


def test_single_is_one_attempt(tmp_path, toy_yaml):
    results, recs, _ = _run(tmp_path, toy_yaml, protocol="single")
    assert results["attempts"] == 1 and all(len(r["turns"]) == 1 for r in recs.values())
    assert results["results"]["toy_scripted"]["acc@t1"] == pytest.approx(0.4)


def test_small_chunks_give_the_same_records(tmp_path, toy_yaml):
    _, whole, _ = _run(tmp_path / "a", toy_yaml, protocol="reflect")
    _, chunked, _ = _run(tmp_path / "b", toy_yaml, protocol="reflect", chunk_size=2)
    strip = lambda r: [(t["kind"], t["response"], t["messages"]) for t in r["turns"]]  # noqa: E731
    assert {i: strip(r) for i, r in whole.items()} == {i: strip(r) for i, r in chunked.items()}
    assert [len(c) for c in scripted_lm.ScriptedLM.calls] == [2, 1, 1, 2, 1, 1, 1, 1, 1]


def test_verifier_batches_one_call_per_attempt_phase(tmp_path, toy_yaml):
    import sys

    _run(tmp_path, toy_yaml, protocol="reflect")
    module = sys.modules["_reflectevo_verifier_toy_verifier"]
    assert module.BATCH_SIZES[-2:] == [5, 3]  # all attempt-1 verdicts in one batch, then the 3 retries


def test_resample_restarts_from_the_first_prompt_without_feedback(tmp_path, toy_yaml):
    results, recs, _ = _run(tmp_path, toy_yaml, protocol="resample", gen_kwargs="do_sample=true,temperature=0.8")
    turns = recs[1]["turns"]
    assert [t["kind"] for t in turns] == ["attempt", "attempt"]
    assert turns[1]["messages"] == turns[0]["messages"] and turns[1]["prompt"] == turns[0]["prompt"]
    assert results["feedback_mode"] == "oracle"
    # the same prompt goes to the model again (not answered from the response cache) for the 3 wrong docs
    assert [len(c) for c in scripted_lm.ScriptedLM.calls] == [5, 3]
    assert recs[1]["correct"] == [False, False] and not turns[1]["timing"]["cached"]


def test_resample_refuses_greedy(tmp_path, toy_yaml):
    from reflectevo_bench.errors import BenchError

    with pytest.raises(BenchError, match="needs sampling"):
        _run(tmp_path, toy_yaml, protocol="resample")


def test_every_protocol_is_one_unit_read_by_the_cli_and_the_boards():
    """Each built-in protocol module owns its phases, templates, requirements and help; the registry feeds
    `run --help`, the experiment spec checks and the leaderboard control names."""
    from click.testing import CliRunner

    from reflectevo_bench.cli import main
    from reflectevo_bench.harness.protocols import PHASES, PROTOCOLS, default_templates
    from reflectevo_bench.leaderboards import controls

    assert list(PROTOCOLS) == ["single", "reflect", "retry", "self-refine", "resample", "reflect-answer"]
    defaults = default_templates()
    for proto in PROTOCOLS.values():
        assert proto.help and set(proto.phases) <= set(PHASES)
        assert all(key in defaults for key in proto.template_keys), proto.name
    phases = {name: p.phases for name, p in PROTOCOLS.items()}
    assert phases == {
        "single": ("attempt",),
        "reflect": ("reflection", "attempt"),
        "retry": ("attempt",),
        "self-refine": ("reflection", "attempt"),
        "resample": ("attempt",),
        "reflect-answer": ("reflect_answer",),
    }
    assert [n for n, p in PROTOCOLS.items() if p.needs_sampling] == ["resample"]
    assert [n for n, p in PROTOCOLS.items() if p.writes_reflections] == ["reflect", "self-refine", "reflect-answer"]
    assert [n for n, p in PROTOCOLS.items() if not p.needs_oracle] == ["single", "self-refine"]
    assert {n: p.default_attempts for n, p in PROTOCOLS.items()} == {n: 1 if n == "single" else 2 for n in PROTOCOLS}
    assert (controls.RETRY, controls.SELF_REFINE) == ("retry", "self-refine")
    option = next(p for p in main.commands["run"].params if p.name == "protocol")
    for proto in PROTOCOLS.values():
        assert f"{proto.name}: {proto.help}" in option.help
    assert "path/to/file.py:NAME" in option.help
    assert "resample" in CliRunner().invoke(main, ["run", "--help"]).output


def test_attempt_limits_come_from_the_protocol():
    from reflectevo_bench.errors import BenchError
    from reflectevo_bench.harness.protocols import get_protocol

    assert get_protocol("single", 1).name == "single" and get_protocol("reflect", 3).name == "reflect"
    with pytest.raises(BenchError, match="--protocol single makes exactly one attempt"):
        get_protocol("single", 2)
    with pytest.raises(BenchError, match="--protocol retry needs --attempts 2 or more"):
        get_protocol("retry", 1)
    with pytest.raises(BenchError, match="--attempts must be at least 1"):
        get_protocol("reflect", 0)
