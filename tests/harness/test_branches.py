"""Several reflections per failure (``--reflections N``), reflection-request pools, ``--split``, and the
records contract (typed reader, old run dirs)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import scripted_lm
from rich.console import Console

from reflectevo_bench.errors import BenchError
from reflectevo_bench.harness.records import attempts, branch_numbers, branch_turns, read_records
from reflectevo_bench.harness.run import RunOptions, run

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
SAMPLED = "do_sample=true,temperature=0.8"


def _run(out: Path, task: Path, model: str = "scripted-branch", **kw):
    for cls in (scripted_lm.ScriptedLM, scripted_lm.ScriptedBranchLM):
        cls.calls.clear()
    scripted_lm.ScriptedBranchLM.written = 0
    opts = RunOptions(model=model, tasks=str(task), output=str(out), **kw)
    out_dir, results = run(opts, Console(file=open("/dev/null", "w")))
    return results, {r["doc_id"]: r for r in read_records(out_dir)[results["config"]["tasks"][0]]}


def test_every_failure_gets_n_branches_in_one_call_per_phase(tmp_path, toy_yaml):
    results, recs = _run(tmp_path / "run", toy_yaml, protocol="reflect", reflections=3, gen_kwargs=SAMPLED)
    # attempt 1 for all 5 docs; then 3 wrong docs × 3 branches in ONE reflection call and ONE retry call
    assert [len(c) for c in scripted_lm.ScriptedBranchLM.calls] == [5, 9, 9]
    wrong = [i for i, r in recs.items() if not r["correct"][0]]
    assert wrong == [1, 2, 4]
    retries = []
    for i in wrong:
        rec = recs[i]
        assert branch_numbers(rec) == [1, 2, 3]
        for b in (1, 2, 3):
            path = branch_turns(rec, b)
            assert [(t["kind"], t["round"]) for t in path] == [("attempt", 1), ("reflection", 2), ("attempt", 2)]
            reflection, retry = path[1], path[2]
            assert reflection["branch"] == retry["branch"] == b
            # the branch's retry sees its own reflection, and is judged on its own
            assert retry["messages"][-2] == {"role": "assistant", "content": reflection["response"]}
            assert retry["verdict"]["correct"] == (int(reflection["response"][1:]) % 2 == 0)
            assert reflection["messages"] == path[0]["messages"] + [
                {"role": "assistant", "content": path[0]["response"]},
                reflection["messages"][-1],
            ]
            retries.append(retry["verdict"]["correct"])
        # correct / correct_at describe branch 1
        assert rec["correct"] == [False, attempts(rec, 1)[1]["verdict"]["correct"]]
        assert rec["correct_at"] == rec["correct"]
    m = results["results"]["toy_scripted"]
    assert m["retries"] == 9 and m["branches"] == 3
    assert m["retry_pass_rate"] == pytest.approx(sum(retries) / 9)
    branch1 = sum(recs[i]["correct"][1] for i in wrong)
    assert m["acc@t2"] == pytest.approx((2 + branch1) / 5)
    assert results["reflections"] == 3


def test_branches_refuse_greedy_and_protocols_without_reflection(tmp_path, toy_yaml):
    with pytest.raises(BenchError, match="--reflections 2 needs sampling"):
        _run(tmp_path / "a", toy_yaml, protocol="reflect", reflections=2)
    with pytest.raises(BenchError, match="needs a protocol that reflects"):
        _run(tmp_path / "b", toy_yaml, protocol="retry", reflections=2, gen_kwargs=SAMPLED)
    with pytest.raises(BenchError, match="at least 1"):
        _run(tmp_path / "c", toy_yaml, protocol="reflect", reflections=0)
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_branched_run_resumes_to_the_same_records(tmp_path, toy_yaml):
    _, whole = _run(tmp_path / "whole", toy_yaml, protocol="reflect", reflections=2, gen_kwargs=SAMPLED)
    _run(tmp_path / "cut", toy_yaml, protocol="reflect", reflections=2, gen_kwargs=SAMPLED)
    samples = tmp_path / "cut" / "samples_toy_scripted.jsonl"
    lines = samples.read_text().splitlines(keepends=True)
    samples.write_text("".join(lines[:2]) + lines[2][:40])  # a kill cut the third record short
    kept = {json.loads(line)["doc_id"] for line in lines[:2]}
    _, resumed = _run(tmp_path / "cut", toy_yaml, protocol="reflect", reflections=2, gen_kwargs=SAMPLED, resume=True)
    strip = lambda r: [(t["kind"], t["round"], t["branch"], t["response"]) for t in r["turns"]]  # noqa: E731
    assert {i: strip(r) for i, r in resumed.items()} == {i: strip(r) for i, r in whole.items()}
    # nothing was generated again: the unfinished docs' responses came from the cache
    assert all(t["timing"]["cached"] for r in resumed.values() if r["doc_id"] not in kept for t in r["turns"])
    assert not any(t["timing"]["cached"] for r in resumed.values() if r["doc_id"] in kept for t in r["turns"])


def _pool_file(tmp_path: Path, entries) -> Path:
    path = tmp_path / "pool.yaml"
    path.write_text(json.dumps(entries))
    return path


def test_reflection_pool_draws_are_seeded_recorded_and_shown(tmp_path, toy_yaml):
    entries = [
        "{feedback}\nStyle A: explain the error.",
        "{feedback}\nStyle B: plan again. {answer_format}",
        "{feedback}\nStyle C.",
    ]
    pool = _pool_file(tmp_path, entries)
    opts = dict(protocol="reflect", reflections=4, gen_kwargs=SAMPLED, reflection_pool=str(pool))
    results, recs = _run(tmp_path / "a", toy_yaml, **opts)
    _, again = _run(tmp_path / "b", toy_yaml, **opts)
    drawn = []
    for i in (1, 2, 4):
        for turn in (t for t in recs[i]["turns"] if t["kind"] == "reflection"):
            ins = turn["instruction"]
            assert ins["pool"] == str(pool.resolve())
            asked = turn["messages"][-1]["content"]
            assert asked.startswith("Your answer is incorrect.")  # the oracle feedback is always shown
            assert entries[ins["index"]].split("\n")[1].split(" {")[0] in asked
            assert ins["name"] == str(ins["index"])
            drawn.append(ins["index"])
    # one draw per doc: the 4 branches of a doc share their request (D± / Dpref pairs share the prompt)
    per_doc = [drawn[i : i + 4] for i in range(0, 12, 4)]
    assert all(len(set(d)) == 1 for d in per_doc)
    for i in (1, 2, 4):
        asked = {t["messages"][-1]["content"] for t in recs[i]["turns"] if t["kind"] == "reflection"}
        assert len(asked) == 1
    assert drawn == [
        t["instruction"]["index"] for i in (1, 2, 4) for t in again[i]["turns"] if t["kind"] == "reflection"
    ]
    manifest = json.loads((tmp_path / "a" / "run.json").read_text())
    assert manifest["identity"]["reflection_pool"] == str(pool.resolve())
    assert manifest["environment"]["reflection_pools"]["toy_scripted"]["entries"]["reflect"] == entries


def test_builtin_pool_and_task_pool(tmp_path, toy_yaml):
    _, recs = _run(
        tmp_path / "a", toy_yaml, protocol="reflect", reflections=2, gen_kwargs=SAMPLED, reflection_pool="reflectevo"
    )
    turn = next(t for t in recs[1]["turns"] if t["kind"] == "reflection")
    assert turn["instruction"]["pool"] == "builtin:reflectevo"
    text = toy_yaml.read_text().replace(
        'answer_format: "Reply with the number only."',
        'answer_format: "Reply with the number only."\n    reflection_pool: ["{feedback} Task-pool request."]',
    )
    toy_yaml.write_text(text)
    _, recs = _run(tmp_path / "b", toy_yaml, protocol="reflect")
    turn = next(t for t in recs[1]["turns"] if t["kind"] == "reflection")
    assert turn["instruction"] == {"pool": "task:toy_scripted", "index": 0, "name": "0"}
    assert turn["messages"][-1]["content"].endswith("Task-pool request.")


@pytest.mark.parametrize(
    "entries, message",
    [
        (["Explain the error."], "must show the verifier's feedback"),
        (["{feedback} {answer}"], "uses ['answer']"),
        ({"retry": ["{feedback}"]}, "unknown key 'retry'"),
        ([], "must be a non-empty list"),
        (["{feedback"], "not a valid template"),
    ],
)
def test_bad_pools_are_refused_with_one_line(tmp_path, toy_yaml, entries, message):
    with pytest.raises(BenchError, match=message.replace("[", r"\[").replace("]", r"\]")):
        _run(tmp_path / "run", toy_yaml, protocol="reflect", reflection_pool=str(_pool_file(tmp_path, entries)))
    assert not (tmp_path / "run").exists()


def test_split_selects_the_yaml_split_and_is_recorded(tmp_path, toy_yaml):
    folder = toy_yaml.parent
    train = folder / "train.jsonl"
    rows = [json.loads(line) for line in (folder / "toy_scripted.jsonl").read_text().splitlines()]
    train.write_text("".join(json.dumps({**r, "question": r["question"] + " "}) + "\n" for r in rows[:3]))
    text = toy_yaml.read_text().replace("    test:", f"    train: {train}\n    test:")
    toy_yaml.write_text(text.replace("test_split: test", "training_split: train\ntest_split: test"))
    results, recs = _run(tmp_path / "train", toy_yaml, model="scripted-test", protocol="reflect", split="train")
    assert len(recs) == 3 and all(r["split"] == "train" for r in recs.values())
    assert recs[0]["doc"]["question"] == "1+1 "
    assert results["split"] == "train" and results["splits"] == {"toy_scripted": "train"}
    _, test_recs = _run(tmp_path / "test", toy_yaml, model="scripted-test", protocol="reflect")
    assert len(test_recs) == 5 and test_recs[0]["split"] == "test"
    with pytest.raises(BenchError, match="has no split 'validation': its YAML defines train, test"):
        _run(tmp_path / "bad", toy_yaml, model="scripted-test", protocol="reflect", split="validation")


def test_run_dirs_written_before_the_contract_still_read(tmp_path):
    """tests/fixtures/run_format1 was written by the harness before turns had `round`/`branch`."""
    from reflectevo_bench.harness.results import build_results
    from reflectevo_bench.harness.run_dir import read_manifest
    from reflectevo_bench.leaderboards.load import load_run

    old = tmp_path / "old"
    shutil.copytree(FIXTURES / "run_format1", old)
    raw = json.loads((old / "samples_countdown.jsonl").read_text().splitlines()[0])
    assert "attempt" in raw["turns"][0] and "round" not in raw["turns"][0]
    recs = read_records(old)["countdown"]
    assert [(t["kind"], t["round"], t["branch"]) for t in recs[0]["turns"]] == [
        ("attempt", 1, 1),
        ("reflection", 2, 1),
        ("attempt", 2, 1),
    ]
    stored = json.loads((old / "results.json").read_text())
    rebuilt = build_results(read_manifest(old), read_records(old))
    for key in ("acc@t1", "acc@t2", "delta", "n"):
        assert rebuilt["results"]["countdown"][key] == stored["results"]["countdown"][key]
    assert rebuilt["phases"] == stored["phases"]
    assert load_run(old).tasks["countdown"]


def test_surrogates_in_model_text_are_written_and_read_back(tmp_path):
    from reflectevo_bench.harness.records import SampleWriter

    writer = SampleWriter(tmp_path)
    writer.write({"task": "t", "doc_id": 0, "turns": [], "response": "bad \ud800 text \udfff"})
    writer.close()
    (tmp_path / "samples_t.jsonl").read_text(encoding="utf-8")  # valid UTF-8
    assert read_records(tmp_path)["t"][0]["response"] == "bad \ud800 text \udfff"


def test_docs_draw_different_entries_from_the_pool(tmp_path):
    """Per-doc draws still spread over the pool (seeded by run seed, task and doc)."""
    from reflectevo_bench.harness.protocols import PROTOCOLS
    from reflectevo_bench.harness.reflection_pool import ReflectionPool

    pool = ReflectionPool.load("reflectevo")
    draws = [pool.draw(PROTOCOLS["reflect"], 1234, "t", i)[0] for i in range(40)]
    assert len(set(draws)) > 3 and draws == [pool.draw(PROTOCOLS["reflect"], 1234, "t", i)[0] for i in range(40)]


def test_fixed_reflection_instruction_by_name(tmp_path, toy_yaml):
    """--reflection-instruction NAME uses one named entry for every doc (ReflectEvo's --demand_type)."""
    pool = _pool_file(
        tmp_path,
        {"reflect": {"1-1-1": "{feedback}\\nTrace it step by step.", "2-1-1": "{feedback}\\nQuickly go through it."}},
    )
    _, recs = _run(
        tmp_path / "a",
        toy_yaml,
        protocol="reflect",
        reflections=2,
        gen_kwargs=SAMPLED,
        reflection_pool=str(pool),
        reflection_instruction="2-1-1",
    )
    turns = [t for r in recs.values() for t in r["turns"] if t["kind"] == "reflection"]
    assert len(turns) == 6 and all(t["instruction"]["name"] == "2-1-1" for t in turns)
    assert all(t["messages"][-1]["content"].endswith("Quickly go through it.") for t in turns)
    manifest = json.loads((tmp_path / "a" / "run.json").read_text())
    assert manifest["identity"]["reflection_instruction"] == "2-1-1"
    with pytest.raises(BenchError, match=r"no such entry .*\(choose one of: 1-1-1, 2-1-1\)"):
        _run(tmp_path / "b", toy_yaml, protocol="reflect", reflection_pool=str(pool), reflection_instruction="9")
    assert not (tmp_path / "b").exists()
    _, recs = _run(tmp_path / "c", toy_yaml, protocol="reflect", reflection_instruction="3")  # built-in pool
    turn = next(t for t in recs[1]["turns"] if t["kind"] == "reflection")
    assert turn["instruction"] == {"pool": "builtin:reflectevo", "index": 3, "name": "3"}


def test_reflection_gen_kwargs_apply_to_reflections_only_and_are_recorded_per_turn(tmp_path, toy_yaml):
    """ReflectEvo's data setting: greedy attempts, sampled reflections; branches need only the latter."""
    _, recs = _run(
        tmp_path / "a",
        toy_yaml,
        protocol="reflect",
        reflections=2,
        reflection_gen_kwargs="do_sample=true,temperature=0.8",
    )
    turns = [t for r in recs.values() for t in r["turns"]]
    attempts_ = [t for t in turns if t["kind"] == "attempt"]
    reflections = [t for t in turns if t["kind"] == "reflection"]
    assert attempts_ and reflections
    assert all(not t["gen_kwargs"].get("do_sample") for t in attempts_)
    assert all(t["gen_kwargs"]["do_sample"] is True and t["gen_kwargs"]["temperature"] == 0.8 for t in reflections)
    manifest = json.loads((tmp_path / "a" / "run.json").read_text())
    assert manifest["identity"]["reflection_gen_kwargs"] == {"do_sample": True, "temperature": 0.8}
    with pytest.raises(BenchError, match="--reflections 2 needs sampling"):
        _run(tmp_path / "b", toy_yaml, protocol="reflect", reflections=2, reflection_gen_kwargs="temperature=0.8")
    with pytest.raises(BenchError, match="need a protocol that reflects"):
        _run(tmp_path / "c", toy_yaml, protocol="retry", reflection_gen_kwargs="do_sample=true")
