"""Bad input: one clear line on stderr, exit code 2, and nothing half written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import scripted_lm  # noqa: F401
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


@pytest.mark.parametrize("args,needle", [
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
])
def test_bad_run_options(tmp_path, args, needle):
    out = tmp_path / "out"
    _assert_refused(_invoke("run", *args, "--output", str(out)), needle)
    assert not out.exists()


def test_malformed_yaml(tmp_path):
    task = _toy(tmp_path, "task: broken\ndoc_to_text: [unclosed\n")
    out = tmp_path / "out"
    _assert_refused(_invoke("run", "--model", "scripted-test", "--tasks", str(task), "--output", str(out)),
                    "cannot load task")
    assert not out.exists()


def test_missing_task_file(tmp_path):
    _assert_refused(_invoke("run", "--tasks", str(tmp_path / "nope.yaml")), "does not exist")


def test_missing_data_file(tmp_path):
    task = _toy(tmp_path, f"""task: toy_missing
dataset_path: json
dataset_kwargs:
  data_files:
    test: {tmp_path / 'absent.jsonl'}
test_split: test
output_type: generate_until
doc_to_text: "{{{{q}}}}"
doc_to_target: "{{{{a}}}}"
generation_kwargs: {{until: [], max_gen_toks: 4}}
metric_list: [{{metric: exact_match}}]
""")
    out = tmp_path / "out"
    _assert_refused(_invoke("run", "--model", "scripted-test", "--tasks", str(task), "--output", str(out)),
                    "cannot load task")
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
    _assert_refused(_invoke("run", "--tasks", "countdown", "--limit", "1", "--model-args", f"pretrained={plain}",
                            "--output", str(out)), "chat template")
    assert not out.exists()


def test_output_dir_rules(tmp_path):
    FIXTURES = Path(__file__).resolve().parent / "fixtures"

    data = FIXTURES / "toy" / "toy_scripted.jsonl"
    task = tmp_path / "toy_scripted.yaml"
    task.write_text((FIXTURES / "toy" / "toy_scripted.yaml").read_text().replace("test: toy_scripted.jsonl",
                                                                                   f"test: {data}"))
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
    _assert_refused(_invoke("run", "--model", "scripted-test", "--tasks", str(task), "--output", str(stray)),
                    "not empty")
    _assert_refused(_invoke("run", "--model", "scripted-test", "--tasks", str(task), "--output",
                            str(tmp_path / "fresh"), "--resume"), "no run to resume")
    assert _invoke(*base, "--resume").exit_code == 0  # nothing left to do is fine


def test_score_bad_inputs(tmp_path):
    out = tmp_path / "scored"
    _assert_refused(_invoke("score", "--task", "countdown", "--predictions", str(tmp_path / "nope.jsonl"),
                            "--output", str(out)), "does not exist")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"doc_id": 0, "response": "x"}\n{not json\n')
    _assert_refused(_invoke("score", "--task", "countdown", "--predictions", str(bad), "--output", str(out)),
                    "line 2")
    bad.write_text('{"doc_id": 99999, "response": "x"}\n')
    _assert_refused(_invoke("score", "--task", "countdown", "--predictions", str(bad), "--output", str(out)),
                    "doc_id 99999")
    assert not out.exists()


def test_results_on_a_non_run_dir(tmp_path):
    _assert_refused(_invoke("results", str(tmp_path)), "not a reflectevo-bench run dir")
