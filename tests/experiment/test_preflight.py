"""The whole spec is checked before the first stage (issue 17 item 8) and `experiment plan SPEC` shows the stage
table and every check without running anything; the train/test leak guard compares doc content across every task
and split (item 4)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from exp_helpers import FAST, make_spec, refused, write_spec_file
from parity_task import write_parity_task

from reflectevo_bench.cli import main


def cli(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def test_plan_prints_stages_and_checks_and_runs_nothing(tiny_model, big_tiny, toy_task, tmp_path):
    spec = make_spec(tiny_model, big_tiny, toy_task)
    path = write_spec_file(tmp_path, spec)
    before = sorted(p.name for p in tmp_path.iterdir())
    r = cli("experiment", "plan", path)
    assert r.exit_code == 0, r.output + r.stderr
    from reflectevo_bench.experiment.graph import plan
    from reflectevo_bench.experiment.spec import load_spec

    keys = [s.key for s in plan(load_spec(path))]
    table = r.output.split("\n\n")[0].splitlines()
    assert [line.split()[0] for line in table[1:]] == keys
    checks = [line for line in r.output.splitlines() if line.startswith(("ok", "FAIL"))]
    assert checks and all(c.startswith("ok") for c in checks), checks
    for what in (
        "batch_size",
        "tasks toy (split train, train)",
        "tasks toy (split test, eval)",
        "model tiny (base)",
        "model tiny-10x (reference)",
        "recipe sft",
        "recipe dpo",
        "recipe grpo",
        "leak",
    ):
        assert any(c.split(None, 1)[1].startswith(what) for c in checks), (what, checks)
    assert "all" in r.output.splitlines()[-1] and "checks passed" in r.output.splitlines()[-1]
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing written
    (tmp_path / "exp").mkdir()
    r = cli("experiment", "plan", path, "--out", tmp_path / "exp")  # with a dir: each stage's state there
    assert r.exit_code == 0 and r.output.splitlines()[0].split()[-1] == "state"
    assert all(line.split()[-1] == "pending" for line in r.output.split("\n\n")[0].splitlines()[1:])
    assert not any((tmp_path / "exp").iterdir())


def test_model_checks():
    from reflectevo_bench.errors import BenchError
    from reflectevo_bench.experiment.preflight import check_model

    for model, args, message in [
        ("hf", "pretrained=/no/such/folder", "does not exist"),
        ("hf", "pretrained=justaname", "neither a local folder"),
        ("hf", f"pretrained={Path(__file__).parent}", "not a model folder"),
        ("nope", "pretrained=x/y", "unknown model type"),
    ]:
        with pytest.raises(BenchError, match=message):
            check_model(model, args)
    assert "known alias" in check_model("hf", "pretrained=smollm2-135m")


def _variant(tiny_model, big_tiny, toy_task, name):
    spec = make_spec(tiny_model, big_tiny, toy_task)
    grpo = spec["recipes"]["grpo"]["config"]
    if name == "backend":
        spec["references"][0]["model"] = "no-such-backend"
        return spec, "unknown model type 'no-such-backend'"
    if name == "vllm":
        spec["references"][0]["model"] = "vllm"
        return spec, "needs the vllm package"
    if name == "hub":
        spec["references"][0]["model_args"] = "pretrained=nobody/no-such-model-anywhere"
        return spec, "not in the local cache"
    if name == "grpo-batch":
        grpo.update(num_generations=3, per_device_train_batch_size=4)
        return spec, "divisible by num_generations"
    if name == "grpo-launch":  # 2 per device on 1 process is not divisible by 4; not on 2 processes either
        grpo.update(num_generations=4, per_device_train_batch_size=1)
        spec["recipes"]["grpo"]["launch"] = {"accelerate": "ddp", "num_processes": 2}
        return spec, "divisible by num_generations"
    if name == "batch-size":
        spec["batch_size"] = "0"
        return spec, "batch_size must be a positive integer"
    if name == "recipe-value":
        spec["recipes"]["sft"]["config"] = {**FAST, "learning_rate": -1}
        return spec, "learning_rate must be a number >= 0"
    if name == "recipe-type":
        spec["recipes"]["dpo"]["config"] = {**FAST, "per_device_train_batch_size": [2]}
        return spec, "per_device_train_batch_size"
    if name == "peft":
        spec["recipes"]["sft"]["config"] = {**FAST, "peft": {"r": "abc"}}
        return spec, "r must be a positive integer"
    if name == "split":
        spec["eval"]["split"] = "validation"
        return spec, "no split 'validation'"
    raise KeyError(name)


HOST_CHECKS = ("vllm", "hub")  # failures of this machine (a backend package, uncached weights), not of the spec


@pytest.mark.parametrize(
    "name",
    [
        "backend",
        "vllm",
        "hub",
        "grpo-batch",
        "grpo-launch",
        "batch-size",
        "recipe-value",
        "recipe-type",
        "peft",
        "split",
    ],
)
def test_bad_spec_found_before_the_first_stage(tiny_model, big_tiny, toy_task, tmp_path, monkeypatch, name):
    if name == "vllm" and importlib.util.find_spec("vllm") is not None:
        pytest.skip("vllm is installed here")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    spec, message = _variant(tiny_model, big_tiny, toy_task, name)
    path = write_spec_file(tmp_path, spec)
    out = tmp_path / "exp"
    refused(cli("experiment", "run", path, "--out", out), message)
    assert not out.exists()  # not one stage ran
    r = cli("experiment", "plan", path)
    if name in HOST_CHECKS:  # what this machine lacks: a plan passes with a HOST line, --strict refuses
        assert r.exit_code == 0, r.output + r.stderr
        host = [line for line in r.output.splitlines() if line.startswith("HOST")]
        assert host and message in host[0], r.output
        r = cli("experiment", "plan", path, "--strict")
        refused(r, message)
        return
    refused(r, message)
    fails = [line for line in r.output.splitlines() if line.startswith("FAIL")]
    assert fails and message in fails[0], r.output


def test_grpo_launch_batch_checked_for_its_processes(tiny_model, big_tiny, toy_task, tmp_path):
    """2 per device x 2 processes = 4 rows per step: divisible by num_generations 4 (TRL's parser alone, on one
    process, would see 2 and refuse a good multi-process recipe)."""
    spec = make_spec(tiny_model, big_tiny, toy_task)
    spec["recipes"]["grpo"]["config"].update(num_generations=4, per_device_train_batch_size=2)
    spec["recipes"]["grpo"]["launch"] = {"accelerate": "ddp", "num_processes": 2}
    r = cli("experiment", "plan", write_spec_file(tmp_path, spec))
    assert r.exit_code == 0, r.output + r.stderr
    lines = r.output.splitlines()
    assert any(line.startswith("ok    recipe grpo") and "x 2 process(es), G 4" in line for line in lines)


def test_copied_task_whose_train_split_is_the_test_file_is_a_leak(tiny_model, big_tiny, toy_task, tmp_path):
    """A copy of the toy task under another name whose train file is the toy's test file: the doc hashes per task
    name never met; the content does."""
    copy = write_parity_task(
        tmp_path / "copy", "toy_copy", {"train": range(10), "test": range(200, 210)}, max_gen_toks=5
    )
    spec = make_spec(tiny_model, big_tiny, toy_task)
    spec["data"]["tasks"] = [str(copy)]
    path = write_spec_file(tmp_path, spec)
    line = refused(cli("experiment", "plan", path), "train/test leak")
    assert "6 of 6 docs of eval task toy (split test)" in line and "task toy_copy (split train)" in line, line
    out = tmp_path / "exp"
    refused(cli("experiment", "run", path, "--out", out), "6 of 6 docs of eval task toy (split test)")
    assert not out.exists()
    # control: the same copy with train docs the eval never sees passes
    clean = write_parity_task(
        tmp_path / "clean", "toy_clean", {"train": range(300, 320), "test": range(400, 402)}, max_gen_toks=5
    )
    spec["data"]["tasks"] = [str(clean)]
    r = cli("experiment", "plan", write_spec_file(tmp_path, spec))
    assert r.exit_code == 0, r.output + r.stderr


def test_content_keys_match_across_prompt_frames_and_ignore_shared_boilerplate():
    from types import SimpleNamespace

    from reflectevo_bench.errors import BenchError
    from reflectevo_bench.experiment.honesty import TaskDocs, check_content_disjoint, doc_content_keys

    boiler = "Answer the question below with one short sentence please."
    a = SimpleNamespace(
        docs=[{"text": f"Write a function that returns the number {i} squared.", "note": boiler} for i in range(4)],
        task=SimpleNamespace(doc_to_text=lambda d: "Task: " + d["text"]),
    )
    b = SimpleNamespace(
        docs=[
            {"text": "WRITE a function that returns the number 2   squared.", "note": boiler},
            {"text": "Something else entirely, long enough to count.", "note": boiler},
        ],
        task=SimpleNamespace(doc_to_text=lambda d: "[BEGIN]" + d["text"]),
    )
    ka, kb = doc_content_keys(a), doc_content_keys(b)
    assert not (ka[0] & kb[1])  # the shared boilerplate field says nothing about identity
    with pytest.raises(BenchError, match=r"1 of 2 docs of eval task b \(split test\).*task a \(split train\)"):
        check_content_disjoint([TaskDocs("a", "train", set(), ka)], [TaskDocs("b", "test", set(), kb)], "x")
    check_content_disjoint([TaskDocs("a", "train", set(), ka[:2] + ka[3:])], [TaskDocs("b", "test", set(), kb)], "x")


def test_mbpp_full_and_mbpp_reflectevo_leak_into_mbpp(shared_data):
    from reflectevo_bench.errors import BenchError
    from reflectevo_bench.experiment.honesty import check_content_disjoint, task_docs

    train = task_docs(["mbpp_full"], "test", None, str(shared_data))
    evaluated = task_docs(["mbpp", "mbpp_reflectevo"], "test", None, str(shared_data))
    with pytest.raises(BenchError, match=r"500 of 500 docs of eval task mbpp \(split test\).*mbpp_full \(split test\)"):
        check_content_disjoint(train, evaluated[:1], "the data run")
    # mbpp_reflectevo frames the question differently; its MBPP text field still matches (499: ReflectEvo's copy
    # holds the older wording of task 341, see the data README)
    with pytest.raises(BenchError, match=r"(499|500) of 500 docs of eval task mbpp_reflectevo"):
        check_content_disjoint(train, evaluated[1:], "the data run")
    check_content_disjoint(evaluated[:1], task_docs(["countdown"], "test", 50, None), "the data run")  # control


def test_sft_dplus_on_a_template_without_generation_markers_found_before_the_data_run(
    tiny_model, big_tiny, toy_task, tmp_path
):
    """`train sft` on dplus refuses a chat template without `{% generation %}` markers; the experiment finds it
    before the data run, not after it. Setting a shipped template with markers passes (control)."""
    import json
    import shutil
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "trainers"))
    from train_templates_ref import SMOLLM2_TEMPLATE

    plain = tmp_path / "tiny-plain"
    shutil.copytree(tiny_model, plain)
    cfg = json.loads((plain / "tokenizer_config.json").read_text())
    cfg["chat_template"] = SMOLLM2_TEMPLATE
    (plain / "tokenizer_config.json").write_text(json.dumps(cfg))
    if (plain / "chat_template.jinja").exists():
        (plain / "chat_template.jinja").write_text(SMOLLM2_TEMPLATE)
    spec = make_spec(
        plain, big_tiny, toy_task, recipes={"sft": {"trainer": "sft", "data": "dplus", "config": dict(FAST)}}
    )
    spec["data"]["kinds"] = ["dplus"]
    path = write_spec_file(tmp_path, spec)
    out = tmp_path / "exp"
    refused(cli("experiment", "run", path, "--out", out), "recipe sft", "no {% generation %} markers")
    assert not out.exists()
    spec["recipes"]["sft"]["config"]["chat_template_path"] = "smollm2-generation"
    r = cli("experiment", "plan", write_spec_file(tmp_path, spec))
    assert r.exit_code == 0, r.output + r.stderr
