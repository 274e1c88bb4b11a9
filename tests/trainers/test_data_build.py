"""``reflectevo-bench data build``: every kind, cross-checked against the run records it came from."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
import scripted_lm
from click.testing import CliRunner
from rich.console import Console

from reflectevo_bench.cli import main
from reflectevo_bench.harness.records import branch_turns, read_records
from reflectevo_bench.harness.run import RunOptions, run

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
SAMPLED = "do_sample=true,temperature=0.8"


@pytest.fixture(scope="module")
def toy_yaml(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("toy") / "toy"
    shutil.copytree(FIXTURES / "toy", folder)
    rows = [json.loads(line) for line in (folder / "toy_scripted.jsonl").read_text().splitlines()]
    # 20 docs: the 5 scripted ones and 15 more that fail attempt 1 (so splits and branches have room)
    more = [{**rows[i % 5], "id": i, "attempts": ["0", "0", "0"]} for i in range(5, 20)]
    (folder / "toy_scripted.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows + more))
    scripted_lm.SCRIPTS.update({r["id"]: r for r in more})
    yaml_path = folder / "toy_scripted.yaml"
    yaml_path.write_text(
        yaml_path.read_text().replace("test: toy_scripted.jsonl", f"test: {folder / 'toy_scripted.jsonl'}")
    )
    return yaml_path


def _run(out: Path, task: Path, model: str, **kw) -> Path:
    scripted_lm.ScriptedBranchLM.written = 0
    run(RunOptions(model=model, tasks=str(task), output=str(out), **kw), Console(file=open("/dev/null", "w")))
    return out


@pytest.fixture(scope="module")
def branched(toy_yaml, tmp_path_factory) -> Path:
    return _run(
        tmp_path_factory.mktemp("runs") / "branched",
        toy_yaml,
        "scripted-branch",
        protocol="reflect",
        reflections=3,
        gen_kwargs=SAMPLED,
    )


def build(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["data", "build", *map(str, args)])
    return result.exit_code, result.output


def rows(out: Path, part: str = "train") -> list[dict]:
    return [json.loads(line) for line in (out / f"{part}.jsonl").read_text().splitlines()]


def records_by_hash(run_dir: Path) -> dict[str, dict]:
    return {r["doc_hash"]: r for recs in read_records(run_dir).values() for r in recs}


def test_dplus_rows_are_the_recorded_reflection_prompt_and_a_passing_retry(branched, tmp_path):
    code, out = build("--kind", "dplus", branched, "--out", tmp_path / "d", "--eval-fraction", "0.3", "--seed", "7")
    assert code == 0, out
    recs = records_by_hash(branched)
    everything = rows(tmp_path / "d") + rows(tmp_path / "d", "eval")
    expected = sum(
        1
        for r in recs.values()
        if not r["correct"][0]
        for b in (1, 2, 3)
        if [t for t in branch_turns(r, b) if t["kind"] == "attempt"][-1]["verdict"]["correct"]
    )
    assert len(everything) == expected > 0
    card = json.loads((tmp_path / "d" / "card.json").read_text())
    for row in everything:
        rec = recs[row["doc_hash"]]
        assert (
            not rec["correct"][0]
            and row["task"] == "toy_scripted"
            and row["source_run"] == card["source_runs"][0]["id"]
        )
        path = branch_turns(rec, row["branch"])
        reflection, retry = path[1], path[2]
        assert row["prompt"] == reflection["messages"]  # the state before the reflection was generated
        assert row["completion"] == [
            {"role": "assistant", "content": reflection["response"]},
            retry["messages"][-1],
            {"role": "assistant", "content": retry["response"]},
        ]
        assert retry["verdict"]["correct"]
        assert all(m["content"] != rec["doc"]["answer"] for m in row["prompt"])  # no target in the prompt
    assert card["kind"] == "dplus" and card["rows"]["train"] + card["rows"]["eval"] == len(everything)
    assert card["counts"]["failures"] == 18 and card["counts"]["branches"] == 54
    blob = (tmp_path / "d" / "train.jsonl").read_bytes() + (tmp_path / "d" / "eval.jsonl").read_bytes()
    assert card["content_hash"] == hashlib.sha256(blob).hexdigest()
    assert card["command"][:3] == ["reflectevo-bench", "data", "build"] and card["protocols"] == ["reflect"]


def test_split_is_by_doc_and_seeded(branched, tmp_path):
    assert build("--kind", "reflection", branched, "--out", tmp_path / "a", "--eval-fraction", "0.4")[0] == 0
    train, held = rows(tmp_path / "a"), rows(tmp_path / "a", "eval")
    assert train and held
    assert not {r["doc_hash"] for r in train} & {r["doc_hash"] for r in held}  # no doc in both
    assert build("--kind", "reflection", branched, "--out", tmp_path / "b", "--eval-fraction", "0.4")[0] == 0
    assert (tmp_path / "a" / "train.jsonl").read_bytes() == (tmp_path / "b" / "train.jsonl").read_bytes()
    assert (
        build("--kind", "reflection", branched, "--out", tmp_path / "c", "--eval-fraction", "0.4", "--seed", "3")[0]
        == 0
    )
    assert {r["doc_hash"] for r in rows(tmp_path / "c", "eval")} != {r["doc_hash"] for r in held}


def test_two_stage_halves(branched, tmp_path):
    assert build("--kind", "reflection", branched, "--out", tmp_path / "r", "--eval-fraction", "0")[0] == 0
    assert build("--kind", "correction", branched, "--out", tmp_path / "c", "--eval-fraction", "0")[0] == 0
    recs = records_by_hash(branched)
    for r_row, c_row in zip(rows(tmp_path / "r"), rows(tmp_path / "c")):
        path = branch_turns(recs[r_row["doc_hash"]], r_row["branch"])
        assert r_row["completion"] == [{"role": "assistant", "content": path[1]["response"]}]
        assert c_row["prompt"] == path[2]["messages"] and c_row["prompt"][-2] == r_row["completion"][0]
        assert c_row["completion"] == [{"role": "assistant", "content": path[2]["response"]}]


def test_dpm_pairs_a_passing_with_a_failing_reflection(branched, tmp_path):
    assert build("--kind", "dpm", branched, "--out", tmp_path / "p", "--eval-fraction", "0")[0] == 0
    recs = records_by_hash(branched)
    pairs = rows(tmp_path / "p")
    assert pairs
    for row in pairs:
        rec = recs[row["doc_hash"]]
        good, bad = branch_turns(rec, row["chosen_branch"]), branch_turns(rec, row["rejected_branch"])
        assert good[2]["verdict"]["correct"] and not bad[2]["verdict"]["correct"]
        assert row["prompt"] == good[1]["messages"] == bad[1]["messages"]
        assert row["chosen"] == [{"role": "assistant", "content": good[1]["response"]}]
        assert row["rejected"] == [{"role": "assistant", "content": bad[1]["response"]}]
    assert len({r["doc_hash"] for r in pairs}) == len(pairs)  # one pair per failure


def test_dpref_keeps_pairs_the_judge_ranks_the_same_both_ways(branched, tmp_path):
    code, out = build(
        "--kind", "dpref", branched, "--out", tmp_path / "j", "--eval-fraction", "0", "--judge-model", "scripted-judge"
    )
    assert code == 0, out
    card = json.loads((tmp_path / "j" / "card.json").read_text())
    assert card["judge"]["model"] == "scripted-judge" and card["judged"]["kept"] == len(rows(tmp_path / "j")) > 0
    for row in rows(tmp_path / "j"):
        chosen, rejected = (int(row[k][0]["content"][1:]) for k in ("chosen", "rejected"))
        assert chosen > rejected  # the judge prefers the larger number, whichever side it was shown on
    code, out = build(
        "--kind",
        "dpref",
        branched,
        "--out",
        tmp_path / "k",
        "--judge-model",
        "scripted-judge",
        "--judge-model-args",
        "biased=1",
    )
    assert code == 2 and "yielded a judged pair" in out and not (tmp_path / "k").exists()
    code, out = build("--kind", "dpref", branched, "--out", tmp_path / "l")
    assert code == 2 and "--judge-model" in out


def test_failures_from_a_single_run_match_what_reflect_would_have_asked(toy_yaml, tmp_path):
    single = _run(tmp_path / "single", toy_yaml, "scripted-test", protocol="single")
    reflect = _run(tmp_path / "reflect", toy_yaml, "scripted-test", protocol="reflect")
    for src, out in ((single, tmp_path / "fs"), (reflect, tmp_path / "fr")):
        assert build("--kind", "failures", src, "--out", out, "--eval-fraction", "0")[0] == 0
    built, recorded = rows(tmp_path / "fs"), rows(tmp_path / "fr")
    recs = records_by_hash(reflect)
    assert len(built) == len(recorded) == sum(not r["correct"][0] for r in recs.values())
    for a, b in zip(built, recorded):
        assert a["prompt"] == b["prompt"] == recs[b["doc_hash"]]["turns"][1]["messages"]
        assert a["doc"] == recs[a["doc_hash"]]["doc"] and "feedback" in a
        assert a["attempt_prompt"] == b["attempt_prompt"] == recs[b["doc_hash"]]["turns"][0]["messages"]


def test_qa_rows_hold_verified_gold_answers(toy_yaml, tmp_path):
    src = _run(tmp_path / "single", toy_yaml, "scripted-test", protocol="single")
    assert build("--kind", "qa", src, "--out", tmp_path / "qa", "--eval-fraction", "0")[0] == 0
    recs = records_by_hash(src)
    qa = rows(tmp_path / "qa")
    assert len(qa) == 20
    for row in qa:
        assert row["prompt"] == recs[row["doc_hash"]]["turns"][0]["messages"]
        assert row["completion"] == [{"role": "assistant", "content": recs[row["doc_hash"]]["doc"]["answer"]}]


def test_sampled_tiny_model_run_to_every_kind(tiny_model, tmp_path):
    """A real sampled --reflections 2 run of the tiny model: the kinds it can feed build, the others say why."""
    out = tmp_path / "run"
    run(
        RunOptions(
            model_args=f"pretrained={tiny_model}",
            tasks="countdown",
            limit=4,
            reflections=2,
            gen_kwargs="do_sample=true,temperature=0.8,max_gen_toks=8",
            output=str(out),
        ),
        Console(file=open("/dev/null", "w")),
    )
    recs = records_by_hash(out)
    assert all(
        len([t for t in r["turns"] if t["kind"] == "reflection"]) == 2 for r in recs.values() if not r["correct"][0]
    )
    code, msg = build("--kind", "failures", out, "--out", tmp_path / "f", "--eval-fraction", "0")
    assert code == 0, msg
    for row in rows(tmp_path / "f"):
        rec = recs[row["doc_hash"]]
        assert row["prompt"] == rec["turns"][1]["messages"]
        assert all(rec["doc"]["solution"] not in m["content"] for m in row["prompt"])  # no target leaked
    retry_verdicts = [
        [t["verdict"]["correct"] for t in r["turns"] if t["kind"] == "attempt" and t["round"] == 2]
        for r in recs.values()
        if not r["correct"][0]
    ]
    can_build = {"dplus": any(map(any, retry_verdicts)), "dpm": any(any(v) and not all(v) for v in retry_verdicts)}
    for kind in ("dplus", "reflection", "correction", "dpm"):
        code, msg = build("--kind", kind, out, "--out", tmp_path / kind, "--eval-fraction", "0")
        assert (code == 0) == can_build.get(kind, can_build["dplus"]), msg
        if code:
            assert "failures" in msg and "--reflections" in msg and not (tmp_path / kind).exists()


def test_bad_inputs_one_line_exit_2_nothing_written(branched, toy_yaml, tmp_path):
    retry = _run(tmp_path / "retry", toy_yaml, "scripted-test", protocol="retry")
    cases = [
        (["--kind", "dplus", tmp_path / "nothing", "--out", tmp_path / "o1"], "is not a directory"),
        (["--kind", "dplus", FIXTURES / "toy", "--out", tmp_path / "o2"], "not a reflectevo-bench run dir"),
        (["--kind", "dplus", retry, "--out", tmp_path / "o3"], "writes no reflections"),
        (["--kind", "nonsense", branched, "--out", tmp_path / "o4"], "unknown --kind"),
        (["--kind", "dplus", branched, "--out", tmp_path / "o5", "--eval-fraction", "1.5"], "--eval-fraction"),
        (["--kind", "dplus", "--out", tmp_path / "o6"], "at least one run dir"),
    ]
    for args, message in cases:
        code, out = build(*args)
        assert code == 2 and message in out and len(out.strip().splitlines()) == 1, (args, out)
        assert not Path(args[-1] if args[-2] == "--out" else args[-3]).exists()
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("keep")
    code, out = build("--kind", "dplus", branched, "--out", tmp_path / "full")
    assert code == 2 and "not empty" in out and (tmp_path / "full" / "x").read_text() == "keep"
