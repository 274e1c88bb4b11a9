"""lm-eval's spellings on `run` (--include_path, --limit FRACTION, --log_samples) and `tasks list` / `tasks show`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from reflectevo_bench.cli import main
from reflectevo_bench.tasks.registry import TASKS_ROOT, resolve_limit


def _user_task_dir(tmp_path: Path) -> Path:
    """A folder of one user YAML, named so that only --include_path makes it loadable."""
    folder = tmp_path / "my_tasks"
    folder.mkdir()
    (folder / "my_sums.yaml").write_text(
        f"include: {TASKS_ROOT / 'arith' / 'arith_1op.yaml'}\ntask: my_sums\n", encoding="utf-8"
    )
    return folder


@pytest.fixture(scope="module")
def include_run(tiny_model, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("spell")
    folder = _user_task_dir(tmp)
    out = tmp / "run"
    res = CliRunner().invoke(
        main,
        [
            "run",
            "--model-args",
            f"pretrained={tiny_model}",
            "--tasks",
            "my_sums",
            "--include_path",
            str(folder),
            "--limit",
            "0.01",
            "--log_samples",
            "--gen-kwargs",
            "max_gen_toks=4",
            "--batch-size",
            "8",
            "--output",
            str(out),
            "--format",
            "json",
        ],
    )
    assert res.exit_code == 0, res.output + str(res.exception)
    return out, res.output


def test_include_path_fraction_limit_and_log_samples(include_run):
    out, output = include_run
    lines = (out / "samples_my_sums.jsonl").read_text().splitlines()
    assert len(lines) == 5  # ceil(500 * 0.01), as lm-eval's get_sample_size
    manifest = json.loads((out / "run.json").read_text())
    assert manifest["identity"]["limit"] == 0.01
    assert manifest["environment"]["task_sizes_limited"] == {"my_sums": 5}
    assert manifest["environment"]["task_sizes"] == {"my_sums": 500}
    assert manifest["identity"]["task_specs"] == [str((out.parent / "my_tasks" / "my_sums.yaml").resolve())]
    assert output.count("samples are always logged") == 1


def test_include_path_run_rescores_without_the_flag(include_run):
    out, _ = include_run
    res = CliRunner().invoke(main, ["results", str(out), "--rescore", "--format", "json"])
    assert res.exit_code == 0, res.output + str(res.exception)
    assert json.loads((out / "results.json").read_text())["results"]["my_sums"]["n"] == 5


def test_user_task_needs_include_path(tmp_path):
    _user_task_dir(tmp_path)
    res = CliRunner().invoke(main, ["run", "--tasks", "my_sums", "--limit", "1", "--output", str(tmp_path / "r")])
    assert res.exit_code == 2 and "unknown task 'my_sums'" in res.output
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("spelling", ["--include_path", "--include-path"])
def test_include_path_not_a_folder_is_one_line(tmp_path, spelling):
    res = CliRunner().invoke(
        main, ["run", "--tasks", "arith_1op", spelling, str(tmp_path / "nope"), "--output", str(tmp_path / "r")]
    )
    assert res.exit_code == 2
    assert "is not a directory" in res.output and len(res.output.strip().splitlines()) == 1
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("bad", ["1.5", "0", "-0.2", "ten", "0.0"])
def test_bad_limit_is_refused(tmp_path, bad):
    res = CliRunner().invoke(main, ["run", "--tasks", "arith_1op", "--limit", bad, "--output", str(tmp_path / "r")])
    assert res.exit_code == 2, res.output
    assert "--limit" in res.output
    assert not (tmp_path / "r").exists()


@settings(deadline=None)
@given(st.integers(0, 5000), st.one_of(st.floats(0.0001, 0.9999), st.integers(1, 10000)))
def test_resolve_limit_matches_lm_eval(n_docs, limit):
    from types import SimpleNamespace

    from lm_eval.evaluator_utils import get_sample_size

    expected = get_sample_size(SimpleNamespace(eval_docs=[None] * n_docs), limit)
    assert resolve_limit(limit, n_docs) == min(n_docs, expected)
    assert len(list(range(n_docs))[: resolve_limit(limit, n_docs)]) == min(n_docs, expected)


def _markdown_rows(text: str) -> list[list[str]]:
    lines = [line for line in text.splitlines() if line.startswith("|")]
    assert lines[1].replace("|", "").replace("-", "").replace(":", "") == ""  # the alignment row
    return [[c.strip() for c in line.strip("|").split("|")] for line in [lines[0], *lines[2:]]]


def test_tasks_list_is_markdown_without_a_tty():
    from reflectevo_bench.tasks.registry import own_task_names

    res = CliRunner().invoke(main, ["tasks", "list"])
    assert res.exit_code == 0, res.output
    header, *rows = _markdown_rows(res.output)
    assert header == ["task", "family / group", "splits", "size", "data needed"]
    by_name = {r[0].removesuffix(" (group)"): r for r in rows}
    assert set(by_name) == set(own_task_names())
    assert by_name["arith_1op"][1:] == ["arith / arith", "train, test", "500", "generated"]
    assert by_name["gsm8k"][3] == "1319" and "hub openai/gsm8k" in by_name["gsm8k"][4]
    assert "gsm8k/test.jsonl" in by_name["gsm8k"][4]
    assert by_name["bbh"][0] == "bbh (group)" and by_name["bbh"][4] == "27 tasks"
    assert by_name["bbh_snarks"][2:4] == ["test, fewshot", "178"]


@pytest.mark.parametrize("args", [["bbh_*"], ["--filter", "bbh_*"]])
def test_tasks_list_filter(args):
    res = CliRunner().invoke(main, ["tasks", "list", *args, "--format", "names"])
    names = res.output.split()
    assert res.exit_code == 0 and len(names) == 27 and all(n.startswith("bbh_") for n in names)


def test_tasks_list_filter_by_family_and_no_match():
    res = CliRunner().invoke(main, ["tasks", "list", "function_calling", "--format", "names"])
    assert "xlam_fc" in res.output.split() and "bfcl_simple" in res.output.split() and "gsm8k" not in res.output
    res = CliRunner().invoke(main, ["tasks", "list", "zzz_nothing"])
    assert res.exit_code == 0 and "no shipped task matches 'zzz_nothing'" in res.output


def test_every_data_hook_has_a_source():
    from reflectevo_bench.tasks.catalog import DATA_SOURCES, catalog

    hooks = {i.hook for i in catalog() if i.kind == "task"}
    assert None not in hooks and hooks <= set(DATA_SOURCES), hooks - set(DATA_SOURCES)


def test_tasks_show_generated_task_offline():
    res = CliRunner().invoke(main, ["tasks", "show", "arith_1op"])
    assert res.exit_code == 0, res.output + str(res.exception)
    out = res.output
    yaml_line = next(line for line in out.splitlines() if line.startswith("yaml: "))
    assert Path(yaml_line.removeprefix("yaml: ")).is_file()
    assert "splits: training=train, test=test" in out and "data: generated" in out
    assert "verifier: arith/verifier.process_results" in out
    assert "example prompt (doc 0):" in out and "Calculate" in out
    assert "feedback on the wrong answer" in out and "Your answer 0 is not the value of" in out


def test_tasks_show_hub_task_says_what_it_needs(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    res = CliRunner().invoke(main, ["tasks", "show", "gsm8k", "--data-dir", str(tmp_path)])
    assert res.exit_code == 0, res.output
    assert "data: hub openai/gsm8k or --data-dir gsm8k/test.jsonl" in res.output
    assert "example: not available here" in res.output and "gsm8k/test.jsonl" in res.output


def test_tasks_show_unknown_is_one_line():
    res = CliRunner().invoke(main, ["tasks", "show", "no_such_task"])
    assert res.exit_code == 2 and "unknown task 'no_such_task'" in res.output
    assert len(res.output.strip().splitlines()) == 1


@given(st.text(max_size=12))
def test_limit_parser_never_crashes(text):
    """Any --limit text is a count >= 0, a fraction in (0, 1), or one click usage error (never a traceback)."""
    import click

    from reflectevo_bench.cli import LimitType

    try:
        value = LimitType().convert(text, None, None)
    except click.BadParameter:
        return
    if isinstance(value, int):
        try:  # a count (run refuses one below 1 in one line); "1E0" and "2.0" are whole counts too
            assert value == int(text.strip())
        except ValueError:
            assert value == float(text.strip()) >= 1
    else:
        assert isinstance(value, float) and 0 < value < 1
