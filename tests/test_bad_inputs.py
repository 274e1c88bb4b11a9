"""Bad input: one clear line on stderr, exit code 2, and nothing half written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import scripted_lm  # noqa: F401
from click.testing import CliRunner

from reflectevo_bench.cli import main


def _invoke(*args: str):
    return CliRunner().invoke(main, list(args))


def _assert_refused(res, *needles: str) -> None:
    assert res.exit_code == 2, (res.exit_code, res.output, res.exception)
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), res.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


def _toy(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "task.yaml"
    path.write_text(body)
    return path


@pytest.mark.parametrize(
    "args,needle",
    [
        (["--tasks", "no_such_task"], "unknown task 'no_such_task'"),
        (["--tasks", "countdown", "--model-args", "pretrained=/no/such/model"], "does not exist"),
        (["--tasks", "countdown", "--model-args", "pretrainedX"], "bad --model-args entry 'pretrainedX'"),
        (["--tasks", "countdown", "--protocol", "vibes"], "unknown --protocol 'vibes'"),
        (["--tasks", "countdown", "--protocol", "reflect", "--attempts", "1"], "--attempts 2 or more"),
        (["--tasks", "countdown", "--protocol", "single", "--attempts", "3"], "exactly one attempt"),
        (["--tasks", "countdown", "--limit", "0"], "--limit must be at least 1"),
        (["--tasks", "countdown", "--batch-size", "many"], "--batch-size"),
        (["--tasks", "countdown", "--gen-kwargs", "max_gen_toks"], "bad --gen-kwargs entry"),
        (["--tasks", "countdown", "--model", "no-such-backend", "--model-args", "x=1"], "unknown --model"),
        (["--tasks", "countdown", "--data-dir", "/no/such/dir"], "--data-dir /no/such/dir is not a directory"),
    ],
)
def test_bad_run_options(tmp_path, args, needle):
    out = tmp_path / "out"
    _assert_refused(_invoke("run", *args, "--output", str(out)), needle)
    assert not out.exists()


def test_malformed_yaml(tmp_path):
    task = _toy(tmp_path, "task: broken\ndoc_to_text: [unclosed\n")
    out = tmp_path / "out"
    _assert_refused(
        _invoke("run", "--model", "scripted-test", "--tasks", str(task), "--output", str(out)), "cannot load task"
    )
    assert not out.exists()


def test_missing_task_file(tmp_path):
    _assert_refused(_invoke("run", "--tasks", str(tmp_path / "nope.yaml")), "does not exist")


def test_missing_data_file(tmp_path):
    task = _toy(
        tmp_path,
        f"""task: toy_missing
dataset_path: json
dataset_kwargs:
  data_files:
    test: {tmp_path / "absent.jsonl"}
test_split: test
output_type: generate_until
doc_to_text: "{{{{q}}}}"
doc_to_target: "{{{{a}}}}"
generation_kwargs: {{until: [], max_gen_toks: 4}}
metric_list: [{{metric: exact_match}}]
""",
    )
    out = tmp_path / "out"
    _assert_refused(
        _invoke("run", "--model", "scripted-test", "--tasks", str(task), "--output", str(out)), "cannot load task"
    )
    assert not out.exists()


def test_model_without_chat_template(tmp_path, tiny_model):
    import shutil

    plain = tmp_path / "plain"
    shutil.copytree(tiny_model, plain)
    cfg_path = plain / "tokenizer_config.json"
    cfg = json.loads(cfg_path.read_text())
    cfg.pop("chat_template", None)
    cfg_path.write_text(json.dumps(cfg))
    (plain / "chat_template.jinja").unlink(missing_ok=True)
    out = tmp_path / "out"
    _assert_refused(
        _invoke(
            "run", "--tasks", "countdown", "--limit", "1", "--model-args", f"pretrained={plain}", "--output", str(out)
        ),
        "chat template",
    )
    assert not out.exists()


def test_output_dir_rules(tmp_path):
    FIXTURES = Path(__file__).resolve().parent / "fixtures"

    data = FIXTURES / "toy" / "toy_scripted.jsonl"
    task = tmp_path / "toy_scripted.yaml"
    task.write_text(
        (FIXTURES / "toy" / "toy_scripted.yaml").read_text().replace("test: toy_scripted.jsonl", f"test: {data}")
    )
    (tmp_path / "toy_verifier.py").write_text((FIXTURES / "toy" / "toy_verifier.py").read_text())
    out = tmp_path / "out"
    base = ["run", "--model", "scripted-test", "--tasks", str(task), "--output", str(out)]
    assert _invoke(*base).exit_code == 0
    snapshot = {p.name: p.read_bytes() for p in out.glob("*.json*")}
    _assert_refused(_invoke(*base), "already holds this run", "--resume")
    _assert_refused(_invoke(*base, "--protocol", "retry"), "holds a different run", "protocol")
    assert {p.name: p.read_bytes() for p in out.glob("*.json*")} == snapshot
    stray = tmp_path / "stray"
    stray.mkdir()
    (stray / "notes.txt").write_text("mine")
    _assert_refused(
        _invoke("run", "--model", "scripted-test", "--tasks", str(task), "--output", str(stray)), "not empty"
    )
    _assert_refused(
        _invoke(
            "run", "--model", "scripted-test", "--tasks", str(task), "--output", str(tmp_path / "fresh"), "--resume"
        ),
        "no run to resume",
    )
    assert _invoke(*base, "--resume").exit_code == 0  # nothing left to do is fine


def test_score_bad_inputs(tmp_path):
    out = tmp_path / "scored"
    _assert_refused(
        _invoke("score", "--task", "countdown", "--predictions", str(tmp_path / "nope.jsonl"), "--output", str(out)),
        "does not exist",
    )
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"doc_id": 0, "response": "x"}\n{not json\n')
    _assert_refused(_invoke("score", "--task", "countdown", "--predictions", str(bad), "--output", str(out)), "line 2")
    bad.write_text('{"doc_id": 99999, "response": "x"}\n')
    _assert_refused(
        _invoke("score", "--task", "countdown", "--predictions", str(bad), "--output", str(out)), "doc_id 99999"
    )
    assert not out.exists()


def test_results_on_a_non_run_dir(tmp_path):
    _assert_refused(_invoke("results", str(tmp_path)), "not a reflectevo-bench run dir")


# --- issue 17 item 8: late or ugly failures become one line, exit 2, nothing half written -------------------------


def _toy_task(tmp_path: Path) -> Path:
    fixtures = Path(__file__).resolve().parent / "fixtures" / "toy"
    task = tmp_path / "toy_scripted.yaml"
    task.write_text(
        (fixtures / "toy_scripted.yaml")
        .read_text()
        .replace("test: toy_scripted.jsonl", f"test: {fixtures / 'toy_scripted.jsonl'}")
    )
    (tmp_path / "toy_verifier.py").write_text((fixtures / "toy_verifier.py").read_text())
    return task


@pytest.mark.parametrize(
    "gen_kwargs,needle",
    [
        ("max_gen_toks=abc", "max_gen_toks must be a positive integer"),
        ("max_gen_toks=-5", "max_gen_toks must be a positive integer"),
        ("max_gen_toks=0", "max_gen_toks must be a positive integer"),
        ("temperature=abc", "temperature must be a number >= 0"),
        ("temperature=-1", "temperature must be a number >= 0"),
        ("do_sample=maybe", "do_sample must be true or false"),
        ("top_p=2", "top_p must be a number in (0, 1]"),
    ],
)
def test_bad_gen_kwargs_write_nothing_and_the_corrected_command_runs(tmp_path, gen_kwargs, needle):
    task = _toy_task(tmp_path)
    out = tmp_path / "out"
    base = ["run", "--model", "scripted-test", "--tasks", str(task), "--output", str(out)]
    _assert_refused(_invoke(*base, "--gen-kwargs", gen_kwargs), needle, "--gen-kwargs")
    assert not out.exists()  # no run.json, no cache/: the corrected command is not "a different run"
    res = _invoke(*base, "--gen-kwargs", "max_gen_toks=32")
    assert res.exit_code == 0, res.output
    assert (out / "results.json").is_file()


def test_gen_kwargs_parser_types_values():
    from reflectevo_bench.errors import BenchError
    from reflectevo_bench.harness.gen_kwargs import parse_gen_kwargs

    assert parse_gen_kwargs("do_sample=true,temperature=0.8,max_gen_toks=16,until=END,seed=3") == {
        "do_sample": True,
        "temperature": 0.8,
        "max_gen_toks": 16,
        "until": ["END"],
        "seed": 3,
    }
    assert parse_gen_kwargs("temperature=0,top_k=-1,custom_key=abc")["custom_key"] == "abc"  # others pass through
    for bad in ("temperature=.nan", "max_gen_toks=1.5", "max_gen_toks=true", "until=[1, 2]", "seed=x"):
        with pytest.raises(BenchError):
            parse_gen_kwargs(bad)


# --- train: bad values are one line and leave no output dir


@pytest.fixture(scope="module")
def train_setup(tiny_model, tmp_path_factory):
    import sys as _sys

    _sys.path.insert(0, str(Path(__file__).resolve().parent / "trainers"))
    from train_datafiles import rows, write_data_dir

    root = tmp_path_factory.mktemp("train-bad")
    write_data_dir(root / "dplus", "dplus")
    write_data_dir(root / "dpm", "dpm")
    failures = root / "failures"  # the columns the GRPO rollout reads (load_job checks them, loads no task)
    failures.mkdir()
    with open(failures / "train.jsonl", "w") as fh:
        for row in rows("failures"):
            fh.write(json.dumps({**row, "attempt_prompt": row["prompt"][:1], "feedback": "wrong"}) + "\n")
    (failures / "eval.jsonl").write_text("")
    (failures / "card.json").write_text(json.dumps({"kind": "failures", "source_runs": []}))
    (root / "a-file").write_text("not a folder")
    return {"model": tiny_model, "root": root}


@pytest.mark.parametrize(
    "trainer,setting,needle",
    [
        ("sft", "learning_rate=-1", "learning_rate must be a number >= 0"),
        ("sft", "learning_rate=[1,2]", "learning_rate"),
        ("sft", "per_device_train_batch_size=0", "per_device_train_batch_size must be a positive integer"),
        ("sft", "gradient_accumulation_steps=0", "gradient_accumulation_steps must be a positive integer"),
        ("sft", "num_train_epochs=-1", "num_train_epochs must be a number > 0"),
        ("sft", "max_steps=-3", "max_steps must be -1"),
        ("sft", "max_length=0", "max_length must be a positive integer"),
        ("sft", "peft.r=abc", "r must be a positive integer"),
        ("sft", "peft.r=0", "r must be a positive integer"),
        ("sft", "peft.dropout=2", "lora_dropout must be a number in [0, 1)"),
        ("dpo", "beta=-1", "beta must be a number >= 0"),
        ("grpo", "max_completion_length=0", "max_completion_length must be a positive integer"),
        ("grpo", "temperature=-1", "temperature must be a number > 0"),
        ("grpo", "num_generations=3", "divisible"),
        ("sft", "output_dir={root}/a-file/sub", "which is a file"),
    ],
)
def test_bad_train_values_one_line_no_output_dir(train_setup, tmp_path, trainer, setting, needle):
    import yaml

    root = train_setup["root"]
    out = tmp_path / "out"
    data = {"sft": "dplus", "dpo": "dpm", "grpo": "failures"}[trainer]
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(
        yaml.safe_dump(
            {
                "model": str(train_setup["model"]),
                "data": str(root / data),
                "output_dir": str(out),
                "max_steps": 1,
                "per_device_train_batch_size": 2,
                "save_strategy": "no",
                **({"num_generations": 2} if trainer == "grpo" else {}),
            }
        )
    )
    _assert_refused(_invoke("train", trainer, "--config", str(cfg), "--set", setting.format(root=root)), needle)
    assert not out.exists() and not (root / "a-file" / "sub").exists()


def test_train_list_value_in_yaml(train_setup, tmp_path):
    import yaml

    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(
        yaml.safe_dump(
            {
                "model": str(train_setup["model"]),
                "data": str(train_setup["root"] / "dplus"),
                "output_dir": str(tmp_path / "out"),
                "learning_rate": [1, 2],
            }
        )
    )
    _assert_refused(_invoke("train", "sft", "--config", str(cfg)), "learning_rate=[1, 2]", "must be a number")
    assert not (tmp_path / "out").exists()


def test_failed_training_removes_the_empty_output_dir_it_made(tmp_path):
    from types import SimpleNamespace

    from reflectevo_bench.trainers.cli import run_fresh

    out = tmp_path / "made"
    job = SimpleNamespace(output_dir=out)

    def fails(job):
        job.output_dir.mkdir()
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        run_fresh(fails, job)
    assert not out.exists()
    kept = tmp_path / "kept"

    def writes_then_fails(job):
        job.output_dir.mkdir()
        (job.output_dir / "checkpoint-1").mkdir()
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        run_fresh(writes_then_fails, SimpleNamespace(output_dir=kept))
    assert (kept / "checkpoint-1").is_dir()  # a resumable checkpoint stays


# --- data build on records of another shape


@pytest.mark.parametrize(
    "line,needle",
    [
        ("[1, 2]", "line 1 is a JSON list, not a record object"),  # the one record reader refuses it, naming the line
        ('{"doc_id": 0, "turns": []}', "line 1"),
        (
            '{"task": "toy_scripted", "doc_id": 0, "doc_hash": "h", "doc": {}, "correct": [false], "turns": "abc"}',
            "records of another shape",
        ),
        (
            '{"task": "toy_scripted", "doc_id": 0, "doc_hash": "h", "doc": {}, "correct": "no", '
            '"turns": [{"kind": "attempt", "round": 1, "branch": 1, "response": "x"}]}',
            "correct is str",
        ),
        (
            '{"task": "toy_scripted", "doc_id": 0, "doc_hash": "h", "doc": {}, "correct": [false], '
            '"turns": [{"kind": "attempt", "round": 1, "branch": 1}]}',
            "response is NoneType",
        ),
    ],
)
@pytest.mark.parametrize("kind", ["dplus", "failures", "dpm"])
def test_data_build_on_records_of_another_shape(tmp_path, line, needle, kind):
    task = _toy_task(tmp_path)
    run = tmp_path / "run"
    assert _invoke("run", "--model", "scripted-test", "--tasks", str(task), "--output", str(run)).exit_code == 0
    samples = next(run.glob("samples_*.jsonl"))
    samples.write_text(line + "\n")
    out = tmp_path / "data"
    _assert_refused(_invoke("data", "build", "--kind", kind, str(run), "--out", str(out)), needle, str(run))
    assert not out.exists() and not list(tmp_path.glob(".data.*"))


# --- score: a doc the verifier cannot read, an empty dataset


@pytest.mark.parametrize(
    "doc", [{"nums": ["a", "b"], "target": 3}, {"nums": [1, 2], "target": "x"}, {"nums": [None, 2], "target": 3}]
)
def test_score_non_numeric_countdown_doc(tmp_path, doc):
    preds = tmp_path / "p.jsonl"
    preds.write_text(
        json.dumps({"doc": {"nums": [1, 2], "target": 3}, "response": "Answer: 1+2"})
        + "\n"
        + json.dumps({"doc": doc, "response": "Answer: 1+2"})
        + "\n"
    )
    out = tmp_path / "scored"
    _assert_refused(
        _invoke("score", "--task", "countdown", "--predictions", str(preds), "--output", str(out)),
        "prediction row 2",
        "does not fit task countdown",
    )
    assert not out.exists()


def test_score_good_countdown_doc_still_scores(tmp_path):
    preds = tmp_path / "p.jsonl"
    preds.write_text(json.dumps({"doc": {"nums": [1, 2], "target": 3}, "response": "Answer: 1+2"}) + "\n")
    res = _invoke("score", "--task", "countdown", "--predictions", str(preds), "--output", str(tmp_path / "o"))
    assert res.exit_code == 0, res.output


def test_empty_dataset_is_one_line_without_stopiteration(tmp_path):
    (tmp_path / "empty.jsonl").write_text("")
    task = _toy(
        tmp_path,
        f"""task: toy_empty
dataset_path: json
dataset_kwargs:
  data_files:
    test: {tmp_path / "empty.jsonl"}
test_split: test
output_type: generate_until
doc_to_text: "{{{{q}}}}"
doc_to_target: "{{{{a}}}}"
generation_kwargs: {{until: [], max_gen_toks: 4}}
metric_list: [{{metric: exact_match}}]
""",
    )
    preds = tmp_path / "p.jsonl"
    preds.write_text('{"doc_id": 0, "response": "x"}\n')
    for args in (
        ["score", "--task", str(task), "--predictions", str(preds), "--output", str(tmp_path / "s")],
        ["run", "--model", "scripted-test", "--tasks", str(task), "--output", str(tmp_path / "r")],
    ):
        res = _invoke(*args)
        _assert_refused(res, "has no rows")
        assert "StopIteration" not in res.stderr
    assert not (tmp_path / "s").exists() and not (tmp_path / "r").exists()


def test_gen_kwargs_parser_fuzz():
    """Any --gen-kwargs text is a typed dict or one BenchError; the keys every backend reads are always typed."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from reflectevo_bench.errors import BenchError
    from reflectevo_bench.harness.gen_kwargs import parse_gen_kwargs

    keys = st.sampled_from(["max_gen_toks", "temperature", "top_p", "top_k", "do_sample", "until", "seed", "other"])
    values = st.one_of(
        st.text(max_size=12),
        st.integers(-10, 10).map(str),
        st.floats(allow_nan=True).map(str),
        st.sampled_from(["true", "false", "[1,2]", "{a: 1}", "null", ".inf", "-.inf", "1e309"]),
    )
    pairs = st.lists(st.tuples(keys, values), max_size=4).map(lambda kv: ",".join(f"{k}={v}" for k, v in kv))

    @settings(max_examples=300, deadline=None)
    @given(st.one_of(pairs, st.text(max_size=40), st.sampled_from(["a\nb", "temperature=1\n,x", "\x00=1"])))
    def check(text):
        try:
            out = parse_gen_kwargs(text)
        except BenchError as exc:
            assert "\n" not in str(exc)
            return
        if "max_gen_toks" in out:
            assert isinstance(out["max_gen_toks"], int) and out["max_gen_toks"] >= 1
        if "temperature" in out:
            assert isinstance(out["temperature"], (int, float)) and out["temperature"] >= 0
        if "until" in out:
            assert all(isinstance(s, str) for s in out["until"])

    check()
