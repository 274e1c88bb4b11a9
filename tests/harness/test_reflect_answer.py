"""``--protocol reflect-answer``: ReflectEvo's one-stage model writes the reflection and the corrected answer in
ONE generation; only the part after the last ``New answer:`` line is verified."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import scripted_lm
from hypothesis import given, settings
from hypothesis import strategies as st
from lm_eval.api.registry import register_model
from rich.console import Console

from reflectevo_bench.harness.protocols import split_one_turn
from reflectevo_bench.harness.records import read_records
from reflectevo_bench.harness.run import RunOptions, run


@register_model("scripted-oneturn")
class ScriptedOneTurn(scripted_lm._ScriptedBase):
    """Attempt 1 as scripted; the one-turn reply quotes the wrong answer in its reflection, then gives the right
    answer after ``New answer:`` for even doc ids, and forgets the marker for odd ones."""

    calls: list = []

    def reply(self, messages: list[dict]) -> str:
        users = [m["content"] for m in messages if m["role"] == "user"]
        doc_id = int(re.match(r"Doc (\d+)", messages[0]["content"]).group(1))
        script = scripted_lm.SCRIPTS[doc_id]
        if len(users) == 1:
            return script["attempts"][0]
        wrong = script["attempts"][0]
        if doc_id % 2 == 0:
            return f"I wrote {wrong}, which was wrong: I added badly.\nNew answer: {script['answer']}"
        return f"I wrote {wrong}; it was wrong. {script['answer']}"


def _run(tmp_path: Path, toy_yaml: Path, **kw):
    ScriptedOneTurn.calls.clear()
    opts = RunOptions(model="scripted-oneturn", tasks=str(toy_yaml), output=str(tmp_path / "run"), **kw)
    out_dir, results = run(opts, Console(file=open("/dev/null", "w")))
    return results, {r["doc_id"]: r for r in read_records(out_dir)["toy_scripted"]}


def test_reflect_answer_end_to_end(tmp_path, toy_yaml):
    results, recs = _run(
        tmp_path, toy_yaml, protocol="reflect-answer", reflection_gen_kwargs="do_sample=true,temperature=0.8"
    )
    # two calls in all: attempt 1 for every doc, then ONE call with reflection + answer for the wrong docs
    assert [len(c) for c in ScriptedOneTurn.calls] == [5, 3]
    wrong = [i for i, r in recs.items() if not r["correct"][0]]
    assert wrong == [1, 2, 4]
    for i in wrong:
        turns = recs[i]["turns"]
        assert [(t["kind"], t["round"]) for t in turns] == [("attempt", 1), ("attempt", 2)]
        second = turns[1]
        asked = second["messages"][-1]["content"]
        assert asked.startswith("Your answer is incorrect.") and "New answer:" in asked
        assert second["gen_kwargs"]["do_sample"] is True and not turns[0]["gen_kwargs"].get("do_sample")
        if i % 2 == 0:  # the verifier read only the answer part, although the reflection quotes the wrong answer
            assert second["one_turn"]["answer"].strip() == recs[i]["doc"]["answer"]
            assert second["one_turn"]["reflection"].startswith("I wrote") and second["verdict"]["correct"]
        else:  # no marker: the whole response is verified (and fails the toy's exact match)
            assert second["one_turn"]["answer"] is None and not second["verdict"]["correct"]
    m = results["results"]["toy_scripted"]
    assert m["acc@t1"] == pytest.approx(2 / 5) and m["acc@t2"] == pytest.approx(4 / 5)


def test_rescore_verifies_the_answer_part_as_the_run_did(tmp_path, toy_yaml):
    from reflectevo_bench.harness.rescore import rescore_run

    results, _ = _run(tmp_path, toy_yaml, protocol="reflect-answer")
    rescored = rescore_run(tmp_path / "run")
    assert rescored["rescored"] and rescored["results"]["toy_scripted"]["acc@t2"] == pytest.approx(4 / 5)
    assert rescored["results"]["toy_scripted"] == results["results"]["toy_scripted"]


def test_reflect_answer_with_a_separate_reflector(tmp_path, toy_yaml):
    """The Reflector writes the one-turn reply; attempt 1 stays the generator's."""
    _, recs = _run(tmp_path, toy_yaml, protocol="reflect-answer", reflector_model="scripted-oneturn")
    turns = recs[2]["turns"]
    assert [t["model"] for t in turns] == ["generator", "reflector"]


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_split_one_turn_never_crashes_and_recombines(text):
    reflection, answer = split_one_turn(text)
    if answer is None:
        assert reflection == text
    else:
        assert text.startswith(reflection) and text.endswith(answer)


def test_split_one_turn_takes_the_last_marker():
    assert split_one_turn("plan\nNew answer: 3\nhmm\n**New answer:** 4") == ("plan\nNew answer: 3\nhmm", "4")
    assert split_one_turn("no marker here") == ("no marker here", None)
    assert json.dumps(split_one_turn("new ANSWER:5"))  # case-insensitive
    assert split_one_turn("new ANSWER:5")[1] == "5"


SFT_FAST = {
    "max_steps": 2,
    "per_device_train_batch_size": 2,
    "logging_steps": 1,
    "save_strategy": "no",
    "dataset_num_proc": None,
    "disable_tqdm": True,
}


def _build(*args) -> tuple[int, str]:
    from click.testing import CliRunner

    from reflectevo_bench.cli import main

    result = CliRunner().invoke(main, ["data", "build", *map(str, args)])
    return result.exit_code, result.output


def _rows(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "train.jsonl").read_text().splitlines()]


def test_dplus_oneturn_from_a_reflect_answer_run(tmp_path, toy_yaml):
    """Rows are the recorded one-turn prompt → the passing one-turn response, as generated."""
    _run(tmp_path, toy_yaml, protocol="reflect-answer")
    code, out = _build("--kind", "dplus-oneturn", tmp_path / "run", "--out", tmp_path / "d", "--eval-fraction", "0")
    assert code == 0, out
    recs = {r["doc_hash"]: r for r in read_records(tmp_path / "run")["toy_scripted"]}
    made = _rows(tmp_path / "d")
    assert len(made) == 2  # docs 2 and 4 passed with the marker
    for row in made:
        turn = recs[row["doc_hash"]]["turns"][1]
        assert row["prompt"] == turn["messages"] and row["completion"] == [
            {"role": "assistant", "content": turn["response"]}
        ]
        assert row["completion"][0]["content"] not in row["prompt"][-1]["content"]  # the target is not in its prompt


def test_dplus_oneturn_from_a_two_call_reflect_run_and_sft(tmp_path, toy_yaml, tiny_model):
    """From a two-call run: the reflection prompt + the one-turn request → reflection, `New answer:`, retry;
    then `train sft` runs 2 steps on it."""
    scripted_lm.ScriptedBranchLM.written = 0
    run(
        RunOptions(
            model="scripted-branch",
            tasks=str(toy_yaml),
            output=str(tmp_path / "run"),
            protocol="reflect",
            reflections=3,
            reflection_gen_kwargs="do_sample=true,temperature=0.8",
        ),
        Console(file=open("/dev/null", "w")),
    )
    code, out = _build("--kind", "dplus-oneturn", tmp_path / "run", "--out", tmp_path / "d", "--eval-fraction", "0")
    assert code == 0, out
    made = _rows(tmp_path / "d")
    assert made
    for row in made:
        request = row["prompt"][-1]["content"]
        assert "Reflect on your previous answer" in request and request.rstrip().endswith("Reply with the number only.")
        assert "New answer:" in request
        reflection, answer = split_one_turn(row["completion"][0]["content"])
        assert re.fullmatch(r"B\d+", reflection) and answer.strip() and answer.strip() not in request
    card = json.loads((tmp_path / "d" / "card.json").read_text())
    assert card["kind"] == "dplus-oneturn"
    import yaml
    from click.testing import CliRunner

    from reflectevo_bench.cli import main

    cfg = tmp_path / "sft.yaml"
    cfg.write_text(
        yaml.safe_dump(
            {"model": str(tiny_model), "data": str(tmp_path / "d"), "output_dir": str(tmp_path / "ckpt"), **SFT_FAST}
        )
    )
    result = CliRunner().invoke(main, ["train", "sft", "--config", str(cfg)])
    assert result.exit_code == 0, result.output
