"""``run --samples K`` records K attempt-1 answers per doc in one backend call; ``data build --kind failures
--failure-rule all|any|first`` keeps the right docs; results carry pass@1, pass@K and the share each rule keeps."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from lm_eval.api.model import LM
from lm_eval.api.registry import register_model
from rich.console import Console

from reflectevo_bench.cli import main
from reflectevo_bench.harness.records import read_records
from reflectevo_bench.harness.run import RunOptions, run

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
SAMPLED = "do_sample=true,temperature=0.8"
# doc id -> the K=3 attempt-1 answers the scripted LM gives, in order (the answer is id+1 doubled: 2, 4, 6, 8)
SAMPLES = {
    0: ["2", "2", "2"],  # always right: no rule keeps it
    1: ["4", "5", "4"],  # right first, wrong once: only `any` keeps it
    2: ["7", "6", "6"],  # wrong first: `any` and `first` keep it
    3: ["0", "0", "0"],
}  # never right: every rule keeps it
KEPT = {"any": {1, 2, 3}, "all": {3}, "first": {2, 3}}


@register_model("scripted-samples")
class SampledLM(LM):
    """Attempt 1 of doc i: its next scripted sample (per call, identical prompts in order); anything else 'R'."""

    calls: list[int] = []

    def __init__(self, **kwargs) -> None:
        super().__init__()

    def apply_chat_template(self, chat_history, add_generation_prompt=True) -> str:
        return json.dumps(chat_history)

    def generate_until(self, requests, disable_tqdm: bool = False):
        type(self).calls.append(len(requests))
        seen: dict[int, int] = {}
        out = []
        for req in requests:
            messages = json.loads(req.args[0])
            doc_id = int(re.match(r"Doc (\d+)", messages[0]["content"]).group(1))
            if len(messages) == 1:
                text = SAMPLES[doc_id][seen.get(doc_id, 0)]
                seen[doc_id] = seen.get(doc_id, 0) + 1
            else:
                text = "R" if "Reflect" in messages[-1]["content"] else "0"
            self.cache_hook.add_partial("generate_until", req.args, text)
            out.append(text)
        return out

    def loglikelihood(self, requests):
        raise NotImplementedError

    def loglikelihood_rolling(self, requests):
        raise NotImplementedError


@pytest.fixture()
def four_docs(tmp_path: Path) -> Path:
    folder = tmp_path / "toy"
    shutil.copytree(FIXTURES / "toy", folder)
    docs = [{"id": i, "question": f"{i + 1}+{i + 1}", "answer": str(2 * (i + 1))} for i in range(4)]
    (folder / "toy_scripted.jsonl").write_text("".join(json.dumps(d) + "\n" for d in docs))
    yaml_path = folder / "toy_scripted.yaml"
    yaml_path.write_text(
        yaml_path.read_text().replace("test: toy_scripted.jsonl", f"test: {folder / 'toy_scripted.jsonl'}")
    )
    return yaml_path


def _run(out: Path, task: Path, **kw) -> dict:
    SampledLM.calls = []
    _, results = run(
        RunOptions(model="scripted-samples", tasks=str(task), output=str(out), gen_kwargs=SAMPLED, **kw),
        Console(file=open("/dev/null", "w")),
    )
    return results


def build(*args) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["data", "build", *map(str, args)])
    return result.exit_code, result.output


def test_samples_recorded_in_one_call_and_rules_keep_the_right_docs(four_docs, tmp_path):
    results = _run(tmp_path / "run", four_docs, protocol="single", samples=3)
    assert SampledLM.calls == [12]  # one backend call: 4 docs x 3 samples
    recs = {r["doc_id"]: r for r in read_records(tmp_path / "run")["toy_scripted"]}
    for i, rec in recs.items():
        assert [s["response"] for s in rec["attempt_1_samples"]] == SAMPLES[i]
        assert rec["attempt_1_passes"] == sum(a == str(2 * (i + 1)) for a in SAMPLES[i])
        assert rec["turns"][0]["response"] == SAMPLES[i][0]  # sample 1 is attempt 1
    mined = results["results"]["toy_scripted"]["attempt_1_samples"]
    assert mined["samples"] == 3 and mined["pass@k"] == 0.75  # docs 0, 1, 2 pass at least once
    assert mined["pass@1"] == pytest.approx((3 + 2 + 2 + 0) / 12)
    assert mined["kept_fraction"] == {rule: len(ids) / 4 for rule, ids in KEPT.items()}
    for rule, ids in KEPT.items():
        out = tmp_path / f"f-{rule}"
        code, msg = build(
            "--kind", "failures", tmp_path / "run", "--out", out, "--eval-fraction", "0", "--failure-rule", rule
        )
        assert code == 0, msg
        rows = [json.loads(line) for line in (out / "train.jsonl").read_text().splitlines()]
        assert {r["doc"]["id"] for r in rows} == ids
        for row in rows:  # the prompt reflects on a FAILED answer of that doc
            failed = next(a for a in SAMPLES[row["doc"]["id"]] if a != row["doc"]["answer"])
            assert row["attempt"] == failed and row["prompt"][1] == {"role": "assistant", "content": failed}
            assert row["attempt_1_samples"] == 3
        card = json.loads((out / "card.json").read_text())
        assert card["mining"]["failure_rule"] == rule and card["mining"]["samples"] == 3
        assert card["mining"]["kept"] == len(ids) and card["mining"]["kept_fraction"] == len(ids) / 4
        (counts,) = card["mining"]["pass_counts"].values()
        assert counts["toy_scripted"] == {str(i): recs[i]["attempt_1_passes"] for i in recs}


def test_default_rule_is_any_and_k1_rules_agree(four_docs, tmp_path):
    _run(tmp_path / "run", four_docs, protocol="single", samples=3)
    assert build("--kind", "failures", tmp_path / "run", "--out", tmp_path / "d", "--eval-fraction", "0")[0] == 0
    assert json.loads((tmp_path / "d" / "card.json").read_text())["mining"]["failure_rule"] == "any"
    _run(tmp_path / "one", four_docs, protocol="single")  # K = 1: no samples recorded, every rule = attempt 1
    kept = []
    for rule in KEPT:
        assert (
            build(
                "--kind",
                "failures",
                tmp_path / "one",
                "--out",
                tmp_path / f"o-{rule}",
                "--eval-fraction",
                "0",
                "--failure-rule",
                rule,
            )[0]
            == 0
        )
        kept.append((tmp_path / f"o-{rule}" / "train.jsonl").read_text())
    assert kept[0] == kept[1] == kept[2] and len(kept[0].splitlines()) == 2  # docs 2 and 3: wrong at attempt 1
    assert "attempt_1_samples" not in read_records(tmp_path / "one")["toy_scripted"][0]


def test_reflect_run_with_samples_continues_from_sample_1_and_resumes_equal(four_docs, tmp_path):
    _run(tmp_path / "a", four_docs, protocol="reflect", samples=3)
    assert SampledLM.calls == [12, 2, 2]  # samples; then reflections and retries of docs 2 and 3 only
    recs = read_records(tmp_path / "a")["toy_scripted"]
    assert [r["correct"][0] for r in recs] == [True, True, False, False]
    # resume: a run whose records were cut after doc 1 ends with the same records (answers from the cache)
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    path = tmp_path / "b" / "samples_toy_scripted.jsonl"
    path.write_text("".join(path.read_text().splitlines(keepends=True)[:2]))
    (tmp_path / "b" / "results.json").unlink()
    SampledLM.calls = []
    run(
        RunOptions(
            model="scripted-samples",
            tasks=str(four_docs),
            output=str(tmp_path / "b"),
            gen_kwargs=SAMPLED,
            protocol="reflect",
            samples=3,
            resume=True,
        ),
        Console(file=open("/dev/null", "w")),
    )
    assert SampledLM.calls == []  # every response came from the cache
    strip = lambda r: {
        **r,
        "turns": [{**t, "timing": None} for t in r["turns"]],  # noqa: E731
        "attempt_1_samples": [{**s, "timing": None} for s in r["attempt_1_samples"]],
    }
    assert [strip(r) for r in read_records(tmp_path / "b")["toy_scripted"]] == [strip(r) for r in recs]


def test_bad_samples_one_line_exit_2(four_docs, tmp_path):
    for args, msg in (
        (["--samples", "0"], "--samples must be at least 1"),
        (["--samples", "3", "--gen-kwargs", "do_sample=false"], "--samples 3 needs sampling"),
    ):
        result = CliRunner().invoke(
            main,
            [
                "run",
                "--model",
                "scripted-samples",
                "--tasks",
                str(four_docs),
                "--output",
                str(tmp_path / "x"),
                "--protocol",
                "single",
                *args,
            ],
        )
        assert result.exit_code == 2 and msg in result.output, result.output
        assert not (tmp_path / "x").exists()
    _run(tmp_path / "run", four_docs, protocol="single", samples=2)
    code, out = build("--kind", "failures", tmp_path / "run", "--out", tmp_path / "o", "--failure-rule", "most")
    assert code == 2 and "--failure-rule" in out and not (tmp_path / "o").exists()


def test_tiny_model_samples_k_answers_per_doc(tiny_model, tmp_path):
    """The real HF backend: K sampled answers per doc, each its own cache entry, all verified and recorded."""
    out = tmp_path / "run"
    _, results = run(
        RunOptions(
            model_args=f"pretrained={tiny_model}",
            tasks="countdown",
            limit=2,
            protocol="single",
            samples=4,
            gen_kwargs="do_sample=true,temperature=1.0,max_gen_toks=8",
            output=str(out),
        ),
        Console(file=open("/dev/null", "w")),
    )
    recs = read_records(out)["countdown"]
    assert len(recs) == 2
    for rec in recs:
        samples = rec["attempt_1_samples"]
        assert [s["sample"] for s in samples] == [1, 2, 3, 4]
        assert samples[0]["response"] == rec["turns"][0]["response"]
        assert all(isinstance(s["verdict"]["correct"], bool) for s in samples)
        assert len({s["response"] for s in samples}) > 1  # sampled, not one answer copied K times
    assert len((out / "cache" / "generator.jsonl").read_text().splitlines()) == 8
    assert results["results"]["countdown"]["attempt_1_samples"]["samples"] == 4
