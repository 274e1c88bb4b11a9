"""The task contract (tasks/verdict.py): a Verifier is (doc, response) -> Verdict with an optional batch form,
checked where tasks load; one factory makes lm-eval's process_results from it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from task_helpers import load_task

from reflectevo_bench.errors import BenchError
from reflectevo_bench.tasks.reflection_config import callable_ref, resolve_callable
from reflectevo_bench.tasks.verdict import (
    FunctionVerifier,
    Verdict,
    Verifier,
    check_verifier,
    process_results_from,
    verify_many,
)


def load_yaml_hook(family: str, key: str):
    from lm_eval.tasks._yaml_loader import load_yaml

    from reflectevo_bench.tasks.registry import TASKS_ROOT

    return load_yaml(TASKS_ROOT / family / f"{family}.yaml")[key]


def _yes(doc, response):
    return Verdict(
        response.strip() == doc["a"],
        float(response.strip() == doc["a"]),
        "" if response.strip() == doc["a"] else "That is not it.",
        response.strip(),
    )


def _write(folder: Path, verifier_py: str, reflection: str = "", hook: str = "") -> str:
    (folder / "rows.jsonl").write_text("".join(json.dumps({"q": f"q{i}", "a": str(i)}) + "\n" for i in range(3)))
    (folder / "my_verifier.py").write_text(verifier_py)
    path = folder / "contract_task.yaml"
    path.write_text(f"""task: contract_task
dataset_path: json
dataset_kwargs: {{data_files: {{test: {folder / "rows.jsonl"}}}}}
test_split: test
output_type: generate_until
doc_to_text: "{{{{q}}}}"
doc_to_target: "{{{{a}}}}"
generation_kwargs: {{until: [], max_gen_toks: 4}}
{hook}
metric_list: [{{metric: exact_match, aggregation: mean, higher_is_better: true}}]
metadata:
  version: 1
{reflection}
""")
    return str(path)


VERIFIER_PY = """
from reflectevo_bench.tasks.verdict import FunctionVerifier, Verdict, process_results_from

CALLS = []

def one(doc, response):
    ok = response.strip() == doc["a"]
    return Verdict(ok, float(ok), "" if ok else "Not the number asked for.", response.strip())

def many(docs, responses):
    CALLS.append(len(docs))
    return [one(d, r) for d, r in zip(docs, responses)]

verify = FunctionVerifier(one, many)
process_results = process_results_from(verify)

def legacy(doc, response):
    return one(doc, response)
legacy.batch = many

def wrong_arity(doc):
    return None
"""


def test_a_yaml_names_its_verifier_once_through_process_results(tmp_path):
    task = load_task(_write(tmp_path, VERIFIER_PY, hook="process_results: !function my_verifier.process_results"), None)
    assert isinstance(task.verify, Verifier)
    verdicts = task.verify_batch(task.docs, ["0", "5", "2"])
    assert [v.correct for v in verdicts] == [True, False, True] and verdicts[1].feedback  # the verifier's feedback
    assert task.verify.many.__module__ and len(task.verify.many.__globals__["CALLS"]) == 1  # one batch call
    assert task.task.process_results(task.docs[1], ["1"]) == {"exact_match": 1}  # what stock lm-eval scores


def test_a_verifier_found_through_process_results_is_recorded_by_a_name_that_resolves(tmp_path):
    """lm-eval imports `!function` files under a path-based module name; run.json records the reference a YAML
    would write instead: `file.py:attr` beside the YAML (the name it is bound to, not the wrapped function's)."""
    path = _write(tmp_path, VERIFIER_PY, hook="process_results: !function my_verifier.process_results")
    task = load_task(path, None)
    assert task.verifier_name == "my_verifier.py:verify"
    again = resolve_callable("contract_task", task.verifier_name, path)
    assert [again(d, r).correct for d, r in zip(task.docs, ["0", "5", "2"])] == [True, False, True]


def test_a_yaml_naming_two_different_verifiers_is_refused(tmp_path):
    hook = "process_results: !function my_verifier.process_results"
    same = load_task(_write(tmp_path, VERIFIER_PY, "  reflection:\n    verifier: my_verifier.py:verify", hook), None)
    assert same.verifier_name == "my_verifier.py:verify"  # named twice, but the same verifier: accepted
    with pytest.raises(
        BenchError,
        match=r"my_verifier.py:legacy is not the verifier its process_results scores with "
        r"\(my_verifier.py:verify\): name the verifier once",
    ):
        load_task(_write(tmp_path, VERIFIER_PY, "  reflection:\n    verifier: my_verifier.py:legacy", hook), None)


def test_a_shipped_verifier_is_named_by_its_package_module():
    from reflectevo_bench.tasks.gsm8k import verifier

    hook = load_yaml_hook("gsm8k", "process_results")
    assert hook.verifier is not verifier.verify  # lm-eval's own copy of the file, under a path-based module name
    fn, name = callable_ref(hook.verifier, None)
    assert name == "reflectevo_bench.tasks.gsm8k.verifier:verify" and fn is verifier.verify


def test_the_older_batch_attribute_still_works(tmp_path):
    reflection = "  reflection:\n    verifier: my_verifier.py:legacy"
    task = load_task(_write(tmp_path, VERIFIER_PY, reflection=reflection), None)
    assert [v.correct for v in task.verify_batch(task.docs, ["0", "1", "x"])] == [True, True, False]
    assert task.verify.batch.__globals__["CALLS"] == [3]


def test_a_verifier_that_cannot_take_doc_and_response_is_refused_at_load(tmp_path):
    reflection = "  reflection:\n    verifier: my_verifier.py:wrong_arity"
    with pytest.raises(BenchError, match=r"cannot be called as \(doc, response\)"):
        load_task(_write(tmp_path, VERIFIER_PY, reflection=reflection), None)
    with pytest.raises(BenchError, match="not callable"):
        check_verifier("verify", "task 't'")


def test_factory_and_verify_many():
    hook = process_results_from(_yes, extra=lambda v: {"f1": v.score})
    assert hook({"a": "3"}, ["3"]) == {"exact_match": 1, "f1": 1.0} and hook.verifier is _yes
    both = FunctionVerifier(_yes)
    assert [v.correct for v in verify_many(both, [{"a": "1"}, {"a": "2"}], ["1", "1"])] == [True, False]
    with pytest.raises(BenchError, match="not a Verdict"):
        verify_many(lambda d, r: {"correct": True}, [{"a": "1"}], ["1"])
