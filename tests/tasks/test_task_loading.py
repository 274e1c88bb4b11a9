"""Every task YAML: registered, loadable by stock lm-eval, consistent shape, clear data errors."""

from __future__ import annotations

import re
import shutil

import pytest
from click.testing import CliRunner
from task_helpers import BBH, BFCL, BIGBENCH, load_task, load_tasks

from reflectevo_bench.cli import main
from reflectevo_bench.errors import BenchError
from reflectevo_bench.tasks.reflection_config import KNOWN_KEYS, resolve_callable
from reflectevo_bench.tasks.registry import TASKS_ROOT, builtin_task_dirs, own_task_names

# the paper benchmarks' leaves and groups, pinned: task names must never change (a renamed task breaks old runs)
LEAVES = (
    ["logiqa", "logiqa_reflectevo", "math", "math500", "math_reflectevo", "gsm8k", "xlam_fc", "bigbench_reflectevo"]
    + [f"bbh_{t}" for t in BBH]
    + [f"bfcl_{c}" for c in BFCL]
    + [f"bigbench_{t}" for t in BIGBENCH]
)
GROUPS = {"bbh": 27, "bfcl": 7, "bigbench": 9}
# leaves whose data the shared data folder does not hold
NOT_IN_SHARED = {"logiqa", "math", "xlam_fc"}
METRICS = {"exact_match", "pass@1"}  # pass@1: the code tasks


def _check_leaf_shape(path, cfg) -> None:
    from lm_eval.tasks._yaml_loader import load_yaml

    assert cfg["output_type"] == "generate_until" and cfg["custom_dataset"] and cfg["process_results"], path
    gen = cfg["generation_kwargs"]
    assert set(gen) == {"until", "do_sample", "max_gen_toks"} and gen["until"] == [] and gen["do_sample"] is False, path
    assert isinstance(gen["max_gen_toks"], int) and 0 < gen["max_gen_toks"] <= 512, path
    if cfg["task"] in LEAVES:  # the paper benchmarks all get the same budget
        assert gen["max_gen_toks"] == 512, path
    metric = cfg["metric_list"][0]
    assert metric["metric"] in METRICS and metric["aggregation"] == "mean" and metric["higher_is_better"] is True, path
    block = cfg["metadata"].get("reflection") or {}
    assert block.get("answer_format") and set(block) <= KNOWN_KEYS, path
    # the verifier is named once, by process_results (verdict.process_results_from carries it)
    assert "verifier" not in block, path
    hook = load_yaml(path)["process_results"]  # resolved: verdict.process_results_from's hook
    assert callable(getattr(hook, "verifier", None)), path


def _check_shapes() -> tuple[set[str], set[str]]:
    """Check the shape of every task and group YAML in every family folder (the package's own catalog: a new family
    folder is checked the moment it holds a YAML, with no list here to extend); return the leaf and group names."""
    from reflectevo_bench.tasks import catalog as cat

    infos = cat.catalog()
    yamls = [p for p in cat.TASKS_ROOT.rglob("*.yaml") if not p.name.startswith("_")]  # `_` templates: includes
    assert len(infos) == len(yamls), "every task YAML defines one task or group, and no name twice"
    leaves = {i.name: i for i in infos if i.kind == "task"}
    for info in infos:
        if info.kind == "group":  # a group lists leaves of its own folder
            members = info.members
            assert set(members) <= set(leaves) and {leaves[m].family for m in members} == {info.family}, info.yaml_path
            assert len(members) == GROUPS.get(info.name, len(members)), info.yaml_path
        else:
            _check_leaf_shape(info.yaml_path, info.config)
    return set(leaves), {i.name for i in infos if i.kind == "group"}


def test_tasks_list_shows_every_task_and_group():
    res = CliRunner().invoke(main, ["tasks", "list", "--format", "names"])
    assert res.exit_code == 0, res.output
    listed = set(res.output.split())
    assert set(LEAVES) | set(GROUPS) | set(own_task_names()) <= listed


def test_yaml_shape():
    leaves, groups = _check_shapes()
    assert set(LEAVES) <= leaves and set(GROUPS) <= groups
    assert leaves | groups == set(own_task_names())


def test_a_new_family_folder_is_checked(tmp_path, monkeypatch):
    """A family folder the test has never heard of is discovered and shape-checked: a good one passes, a bad one
    (no answer_format) fails."""
    from reflectevo_bench.tasks import catalog

    family = tmp_path / "newfam"
    shutil.copytree(TASKS_ROOT / "gsm8k", family, ignore=shutil.ignore_patterns("__pycache__"))
    (family / "gsm8k.yaml").rename(family / "newfam.yaml")
    yaml_path = family / "newfam.yaml"
    yaml_path.write_text(yaml_path.read_text().replace("task: gsm8k\n", "task: newfam\n"))
    monkeypatch.setattr(catalog, "TASKS_ROOT", tmp_path)
    assert _check_shapes() == ({"newfam"}, set())
    yaml_path.write_text(re.sub(r"\n +answer_format: .*", "", yaml_path.read_text()))
    with pytest.raises(AssertionError, match="newfam.yaml"):
        _check_shapes()


def test_task_dirs_are_flat():
    """lm-eval indexes each include path recursively: nested YAML folders would be indexed twice."""
    dirs = builtin_task_dirs()
    assert len(dirs) >= 11
    assert all(d.parent == TASKS_ROOT for d in dirs), [d for d in dirs if d.parent != TASKS_ROOT]


def _stock_manager(data_dir):
    from lm_eval.tasks import TaskManager

    return TaskManager(
        include_path=[str(d) for d in builtin_task_dirs()],
        include_defaults=False,
        metadata={"data_dir": str(data_dir)},
    )


def test_stock_lm_eval_loads_and_scores_like_our_verifier(shared_data):
    """Stock lm-eval (its own TaskManager, no reflectevo registry) loads every task and group; its
    process_results agrees with our verifier on a right and a wrong response."""
    tm = _stock_manager(shared_data)
    names = [n for n in LEAVES if n not in NOT_IN_SHARED]
    loaded = {}
    for name in names:
        loaded.update(tm.load(name)["tasks"])
    for group, size in GROUPS.items():
        assert len(tm.load(group)["tasks"]) == size
    assert sorted(loaded) == sorted(names)
    ours = {t.name: t for t in load_tasks(",".join(names), shared_data, limit=3)}
    for name, task in ours.items():  # run.json's verifier names: the package module, resolving to what runs
        module, _, fn = task.verifier_name.partition(":")
        assert re.fullmatch(r"reflectevo_bench\.tasks\.[a-z0-9_]+\.verifier", module) and fn.startswith("verify"), name
        assert resolve_callable(name, task.verifier_name, None) is task.verify, name
    for name, stock in loaded.items():
        docs = list(stock.eval_docs)[:3]
        assert docs == ours[name].docs, name
        for doc in docs:
            for response in (f"Answer: {stock.doc_to_target(doc)}", "I do not know."):
                verdict = ours[name].verify(doc, response)
                assert stock.process_results(doc, [response])["exact_match"] == int(verdict.correct), name


def test_stock_lm_eval_loads_fixture_only_tasks(mini_data):
    tm = _stock_manager(mini_data)
    for name, n in (("logiqa", 2), ("math", 7), ("xlam_fc", 1), ("gsm8k", 3)):  # xlam_fc: test is a fifth of 3 rows
        assert len(list(tm.load(name)["tasks"][name].eval_docs)) == n


@pytest.mark.parametrize(
    "task,hub",
    [
        ("logiqa", "lucasmccabe/logiqa"),
        ("math", "EleutherAI/hendrycks_math"),
        ("bbh_snarks", "lukaemon/bbh"),
        ("bigbench_navigate", "hails/bigbench"),
        ("xlam_fc", "Salesforce/xlam-function-calling-60k"),
        ("bfcl_simple", "gorilla-llm/Berkeley-Function-Calling-Leaderboard"),
    ],
)
def test_offline_hub_error_is_one_clear_line(task, hub):
    with pytest.raises(BenchError) as err:
        load_task(task, None)
    text = str(err.value)
    assert hub in text and "not available offline" in text and "--data-dir" in text and "\n" not in text


@pytest.mark.parametrize(
    "task,expected",
    [
        ("bbh_snarks", "bbh/snarks.json"),
        ("bigbench_navigate", "bigbench/navigate/task.json"),
        ("bfcl_multiple", "bfcl/BFCL_v4_multiple.json"),
        ("xlam_fc", "xlam/xlam_function_calling_60k.json"),
        ("logiqa_reflectevo", "reflectevo/logiqa_test.jsonl"),
        ("math", "MATH/test/algebra"),
    ],
)
def test_missing_local_file_names_the_expected_path(task, expected, tmp_path):
    with pytest.raises(BenchError) as err:
        load_task(task, tmp_path)
    assert str(tmp_path / expected) in str(err.value) and "\n" not in str(err.value)


def test_cli_run_reports_missing_data_in_one_line(tmp_path):
    res = CliRunner().invoke(
        main,
        ["run", "--tasks", "gsm8k", "--data-dir", str(tmp_path), "--limit", "1", "--output", str(tmp_path / "run")],
    )
    assert res.exit_code == 2
    assert "gsm8k/test.jsonl not found" in res.output and len(res.output.strip().splitlines()) == 1
