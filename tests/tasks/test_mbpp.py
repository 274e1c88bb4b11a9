"""MBPP tasks: code extraction, sandboxed verdicts and feedback, data loading, gold/corrupted solutions, end to end.

The bulk checks run every reference solution of the shared data through the sandbox pool (2 workers).
"""

from __future__ import annotations

import ast
import json
import os
import time
from pathlib import Path

import pytest
from task_helpers import asserts_equal_to, load_task, load_tasks, score_cli

from reflectevo_bench.errors import BenchError
from reflectevo_bench.tasks.common import code_execution as execution
from reflectevo_bench.tasks.common.code_extraction import called_function, extract_code, parse
from reflectevo_bench.tasks.mbpp.verifier import verify, verify_many, verify_reflectevo

DOC = {
    "text": "Write a function to square a number.",
    "code": "def square(x):\r\n    return x * x",
    "task_id": 11,
    "test_setup_code": "",
    "test_list": ["assert square(3) == 9", "assert square(-2) == 4", "assert square(0) == 0"],
    "challenge_test_list": ["assert square(100) == 10000"],
}
RIGHT = "def square(x):\n    return x * x\n"

# Reference solutions of the shared data that do not pass their own tests in our sandbox, by task_id.
# Upstream (checked with plain CPython, one process per problem, code + setup + asserts): every reference solution
# of mbpp.jsonl (974), sanitized-mbpp.json (427) and reflectevo/mbpp_test.jsonl (500) passes; none times out.
UPSTREAM_FAILURES: dict[str, set[int]] = {"full": set(), "sanitized": set()}
# Sandbox limitation, not upstream: `assert check_str("annie")` asserts the truthiness of an re.Match the function
# returns; the sandbox's codec refuses to carry a Match out of the program, so the test fails with a CodecError.
# When the sandbox judges such bare-truthiness asserts, this set must become empty.
SANDBOX_CODEC_FAILURES = {737, 787, 794}


pytestmark = pytest.mark.usefixtures("sandbox_pool")


def _sanitized(shared_data: Path) -> list[dict]:
    return json.loads((shared_data / "mbpp" / "sanitized-mbpp.json").read_text())


def _full(shared_data: Path) -> list[dict]:
    return [json.loads(line) for line in (shared_data / "mbpp" / "mbpp.jsonl").read_text().splitlines()]


def fenced(code: str) -> str:
    return f"Here is my solution:\n```python\n{code}\n```\nIt squares the number."


# ----------------------------------------------------------------------------------------------- extraction


@pytest.mark.parametrize(
    "response,expected,source",
    [
        (fenced(RIGHT), RIGHT, "fence"),
        ("```\n" + RIGHT + "```", RIGHT, "fence"),
        ("```py\n" + RIGHT + "```", RIGHT, "fence"),
        ("[BEGIN]\n" + RIGHT + "[END]", RIGHT, "begin_end"),
        ("Action: [BEGIN]def square(x):\n    return x * x\n[END]", RIGHT, "begin_end"),
        ("[BEGIN]\n```python\n" + RIGHT + "```\n[END]", RIGHT, "begin_end"),
        ("[BEGIN]\n" + RIGHT + "[DONE]", RIGHT, "begin_end"),
        ("[BEGIN]\n" + RIGHT, RIGHT, "begin_end"),  # cut before [END]
        ("```python\n" + RIGHT, RIGHT, "fence_unclosed"),  # cut by max_gen_toks
        ("```python\ndef square(x):\n    return x * x```", RIGHT, "fence"),  # closing fence on the code line
        ("```python\n    def square(x):\n        return x * x\n```", RIGHT, "fence"),  # indented block
        (RIGHT, RIGHT, "whole"),
        ("Sure! Here you go:\n\n" + RIGHT + "\nThis works because squaring multiplies x by itself.", RIGHT, "stripped"),
        (
            "import statements are not needed.\n" + RIGHT + "Done.",
            RIGHT,
            "stripped",
        ),  # a prose line that looks like code
        ("```bash\npip install nothing\n```\n```python\n" + RIGHT + "```", RIGHT, "fence"),
        ("```text\n" + RIGHT + "```", RIGHT, "fence"),  # only another language
    ],
)
def test_extraction(response, expected, source):
    found = extract_code(response, "square")
    assert found is not None and (found.code, found.source) == (expected, source)


def test_extraction_prefers_the_block_that_defines_the_tested_function():
    first = "def square(x):\n    return x + x\n"
    usage = "print(square(3))\n"
    response = f"```python\n{first}```\nOops, fixed:\n```python\n{RIGHT}```\nUsage:\n```python\n{usage}```"
    assert extract_code(response, "square").code == RIGHT  # last defining block, not the usage block
    assert extract_code(f"```python\n{RIGHT}```\n```python\n{usage}```", None).code == usage  # unknown name: last
    broken = "def square(x)\n    return x * x\n"
    assert extract_code(f"```python\n{RIGHT}```\n```python\n{broken}```", "square").code == RIGHT  # parseable wins


@pytest.mark.parametrize("response", ["", "   \n", "I am not sure how to do this.", "```python\n```"])
def test_no_code(response):
    assert extract_code(response, "square") is None


def test_called_function():
    assert called_function(["assert set(similar_elements((3, 4), (4, 5))) == set((4,))"]) == "similar_elements"
    assert called_function(["assert math.isclose(area(1), 3.14, rel_tol=0.01)"]) == "area"
    assert called_function(["assert len([1]) == 1"]) is None


# ----------------------------------------------------------------------------------------------- verdicts


def test_right_answer_in_any_format():
    for response in (fenced(RIGHT), "[BEGIN]\n" + RIGHT + "[END]", RIGHT):
        verdict = verify(DOC, response)
        assert verdict.correct and verdict.score == 1.0 and verdict.feedback == "", verdict
        assert verdict.extracted == RIGHT and verdict.details["tests_passed"] == 3


def test_wrong_value_names_the_first_failing_assert_and_the_value():
    verdict = verify(DOC, fenced("def square(x):\n    return x * x - 1"))
    assert not verdict.correct
    assert verdict.feedback == "Test failed: assert square(3) == 9\nAssertionError: square(3) returned 8"
    assert verdict.details["status"] == "failed" and verdict.details["first_failure"] == 0
    assert "10000" not in verdict.feedback  # the challenge test is never used nor shown


def test_later_failure_is_the_first_failing_one():
    verdict = verify(DOC, fenced("def square(x):\n    return x * x if x else 1"))
    assert verdict.feedback == "Test failed: assert square(0) == 0\nAssertionError: square(0) returned 1"
    assert verdict.details["tests_passed"] == 2


@pytest.mark.parametrize(
    "code,expected",
    [
        ("def square(x) return x", "Your code raised an error before any test ran:\nSyntaxError:"),
        (
            "def square(x):\n    return x * x\nimport sys\nsys.exit(0)",
            "Your code raised an error before any test ran:\nSystemExit: 0",
        ),
        ("def sq(x):\n    return x * x", "Test failed: assert square(3) == 9\nNameError: name 'square' is not defined"),
        (
            "def square(x):\n    return None",
            "Test failed: assert square(3) == 9\nAssertionError: square(3) returned None",
        ),
        (
            "def square(x):\n    return x * x + 1",
            "Test failed: assert square(3) == 9\nAssertionError: square(3) returned 10",
        ),
        ("def square(x):\n    raise ValueError('no')", "Test failed: assert square(3) == 9\nValueError: no"),
    ],
)
def test_failure_feedback(code, expected):
    verdict = verify(DOC, fenced(code))
    assert not verdict.correct and verdict.feedback.startswith(expected), verdict.feedback


@pytest.mark.parametrize(
    "prefix",
    [
        "import sys\nsys.exit(0)\n",
        "import os\nos._exit(0)\n",
        "raise SystemExit(0)\n",
        "import sys\nsys.stdout.write('OK\\n')\nsys.exit(0)\n",
    ],
)
def test_exiting_early_never_passes(prefix):
    verdict = verify(DOC, fenced(prefix + RIGHT))
    assert not verdict.correct and verdict.feedback, verdict


def test_os_exit_inside_the_function_is_reported():
    verdict = verify(DOC, fenced("import os\ndef square(x):\n    os._exit(0)"))
    assert not verdict.correct
    assert verdict.feedback.startswith("Your program stopped before this test ran (the program exited"), (
        verdict.feedback
    )
    assert "assert square(3) == 9" in verdict.feedback


def test_always_equal_object_does_not_pass():
    code = "class Eq:\n    def __eq__(self, other):\n        return True\ndef square(x):\n    return Eq()"
    assert not verify(DOC, fenced(code)).correct


def test_no_code_feedback_names_the_format():
    assert verify(DOC, "I do not know.").feedback.endswith("in one ```python code block.")
    verdict = verify_reflectevo(DOC, "I do not know.")
    assert not verdict.correct and "[BEGIN] and [END]" in verdict.feedback and verdict.details["reason"] == "no_code"


def test_timeout_feedback_names_the_running_test():
    execution.configure(workers=2, timeout_s=1)
    try:
        started = time.monotonic()
        verdict = verify(DOC, fenced("def square(x):\n    while True:\n        pass"))
        assert time.monotonic() - started < 8
    finally:
        execution.configure(workers=2)
    assert verdict.feedback == "Timed out (limit 1 s) while running the test: assert square(3) == 9"
    assert verdict.details["status"] == "timeout"


def test_code_runs_in_the_sandbox_not_here(tmp_path):
    if not execution.executor().backend.isolated:
        pytest.skip("backend 'none' does not isolate the file system")
    marker = tmp_path / "ran-here"
    code = f"open({str(marker)!r}, 'w').write('x')\n" + RIGHT
    verdict = verify(DOC, fenced(code))
    assert not marker.exists()
    # inside the sandbox the host's tmp dir does not exist: the write fails there, so the program is judged wrong
    assert not verdict.correct and "Error" in verdict.feedback, verdict


def test_verify_many_keeps_order_and_mixes_no_code():
    docs = [DOC] * 4
    responses = [fenced(RIGHT), "no code here, sorry.", fenced("def square(x):\n    return 0"), RIGHT]
    assert [v.correct for v in verify_many(docs, responses)] == [True, False, False, True]
    assert verify.many is verify_many  # the batch form: one sandbox pool call


def test_backend_setting(monkeypatch):
    monkeypatch.setenv(execution.BACKEND_ENV, "nonsense")
    with pytest.raises(BenchError, match="REFLECTEVO_SANDBOX=nonsense"):
        execution.settings()
    monkeypatch.setenv(execution.BACKEND_ENV, "bwrap")
    assert execution.settings()["backend"] == "bwrap"
    assert execution.settings()["workers"] == 2  # the module setting of this test file


def test_one_executor_per_process():
    first = execution.executor()
    verify(DOC, RIGHT)
    verify(DOC, RIGHT)
    assert execution.executor() is first and first.mode == "pool"


def test_bad_doc_is_one_clear_error():
    with pytest.raises(BenchError, match="test_list"):
        verify({"text": "x"}, RIGHT)


# ----------------------------------------------------------------------------------------------- tasks (fixture data)


def test_fixture_tasks(mini_data):
    tasks = {t.name: t for t in load_tasks("mbpp,mbpp_full,mbpp_sanitized,mbpp_reflectevo", mini_data)}
    assert [d["task_id"] for d in tasks["mbpp"].docs] == [11, 12, 510]  # the test split only
    assert [d["task_id"] for d in tasks["mbpp_full"].docs] == [3, 11, 12, 510, 600]
    assert [d["task_id"] for d in tasks["mbpp_sanitized"].docs] == [11, 20]
    assert [d["task_id"] for d in tasks["mbpp_reflectevo"].docs] == [11, 12, 510]
    for task in tasks.values():
        verdicts = [task.verify(d, fenced(task.target(d))) for d in task.docs]
        assert all(v.correct for v in verdicts), (task.name, [v.feedback for v in verdicts])
        assert task.generation_kwargs({}, {}) == {"until": [], "do_sample": False, "max_gen_toks": 512}
    messages, _ = tasks["mbpp"].first_turn(tasks["mbpp"].docs[0], lambda m, add_generation_prompt=True: "")
    text = messages[0]["content"]
    assert "square a number" in text and "assert square(-2) == 4" in text and "```python" in text
    assert "10000" not in text  # challenge tests stay hidden
    refl = tasks["mbpp_reflectevo"].task.doc_to_text(tasks["mbpp_reflectevo"].docs[0])
    assert "[BEGIN] and [END]" in refl and "assert square(0) == 0" in refl
    assert "circle of radius" in tasks["mbpp_sanitized"].task.doc_to_text(tasks["mbpp_sanitized"].docs[1])
    assert tasks["mbpp_reflectevo"].reflection.answer_format.endswith("between [BEGIN] and [END].")


def test_setup_code_builds_objects_from_the_program(mini_data):
    doc = load_task("mbpp", mini_data).docs[1]
    assert doc["test_setup_code"]
    assert verify(doc, fenced(doc["code"])).correct
    wrong = doc["code"].replace("n += 1", "n += 2")
    assert verify(doc, fenced(wrong)).feedback.startswith("Test failed: assert count_nodes(head) == 3\n")
    missing_class = "def count_nodes(node):\n    return 3"
    assert "NameError: name 'Node' is not defined" in verify(doc, fenced(missing_class)).feedback


def test_yaml_shape():
    from lm_eval.tasks._yaml_loader import load_yaml

    from reflectevo_bench.tasks.registry import TASKS_ROOT

    paths = sorted((TASKS_ROOT / "mbpp").glob("[!_]*.yaml"))  # the tasks; _mbpp_template.yaml is their include
    assert [p.stem for p in paths] == ["mbpp", "mbpp_full", "mbpp_reflectevo", "mbpp_sanitized"]
    for path in paths:
        cfg = load_yaml(path, resolve_func=False)
        assert cfg["output_type"] == "generate_until" and cfg["custom_dataset"] and cfg["process_results"]
        assert cfg["generation_kwargs"] == {"until": [], "do_sample": False, "max_gen_toks": 512}
        assert set(cfg["metadata"]["reflection"]) == {"answer_format"}  # the verifier is named once: process_results


def test_stock_lm_eval_scores_like_our_verifier(mini_data):
    from lm_eval.tasks import TaskManager

    from reflectevo_bench.tasks.registry import TASKS_ROOT

    tm = TaskManager(
        include_path=[str(TASKS_ROOT / "mbpp")], include_defaults=False, metadata={"data_dir": str(mini_data)}
    )
    stock = tm.load("mbpp_reflectevo")["tasks"]["mbpp_reflectevo"]
    docs = list(stock.eval_docs)
    assert [d["task_id"] for d in docs] == [11, 12, 510]
    doc = docs[0]
    assert stock.process_results(doc, ["[BEGIN]\n" + RIGHT + "[END]"]) == {"pass@1": 1}
    assert stock.process_results(doc, ["[BEGIN]\ndef square(x):\n    return x\n[END]"]) == {"pass@1": 0}


def test_score_cli_with_raw_rows(mini_data, tmp_path):
    rows = [json.loads(line) for line in (mini_data / "reflectevo" / "mbpp_test.jsonl").read_text().splitlines()]
    preds = [
        {"doc": rows[0], "response": "[BEGIN]\n" + RIGHT + "[END]"},
        {"doc": rows[2], "response": "```python\ndef reverse_string(s):\n    return s\n```"},
        {"doc_id": 1, "response": "no idea"},
    ]
    scores = score_cli(tmp_path, "mbpp_reflectevo", preds, mini_data)
    assert [s["correct"] for s in scores] == [True, False, False]
    assert scores[1]["feedback"].startswith('Test failed: assert reverse_string("abc") == "cba"')
    san = json.loads((mini_data / "mbpp" / "sanitized-mbpp.json").read_text())
    scores = score_cli(tmp_path, "mbpp_sanitized", [{"doc": san[1], "response": fenced(san[1]["code"])}], mini_data)
    assert scores[0]["correct"]  # test_imports ("import math") run before the asserts


def test_offline_hub_error_is_one_line(tmp_path):
    with pytest.raises(BenchError) as err:
        load_task("mbpp", None)
    text = str(err.value)
    assert "google-research-datasets/mbpp" in text and "mbpp/mbpp.jsonl" in text and "\n" not in text
    with pytest.raises(BenchError) as err:
        load_task("mbpp_sanitized", tmp_path)
    assert str(tmp_path / "mbpp" / "sanitized-mbpp.json") in str(err.value)


# ----------------------------------------------------------------------------------------------- shared data


def _return_none(code: str, name: str) -> str | None:
    """The reference with the tested function's body replaced by ``return None`` (None if it has no such def)."""
    tree = parse(code)
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == name:
            node.body = [ast.Return(ast.Constant(None))]
            return ast.unparse(tree)
    return None


def _failures(rows, responses) -> dict[int, str]:
    verdicts = verify_many(rows, responses)
    return {r["task_id"]: v.feedback for r, v in zip(rows, verdicts) if not v.correct}


def test_gold_full_and_sanitized_pass_in_the_sandbox(shared_data):
    full, san = _full(shared_data), _sanitized(shared_data)
    assert len(full) == 974 and [r["task_id"] for r in full] == list(range(1, 975)) and len(san) == 427
    started = time.monotonic()
    failed_full = _failures(full, [fenced(r["code"]) for r in full])
    failed_san = _failures(san, [fenced(r["code"]) for r in san])
    elapsed = time.monotonic() - started
    print(f"\nmbpp gold: full {974 - len(failed_full)}/974, sanitized {427 - len(failed_san)}/427 in {elapsed:.1f} s")
    assert set(failed_full) == UPSTREAM_FAILURES["full"], failed_full
    assert set(failed_san) == UPSTREAM_FAILURES["sanitized"] | SANDBOX_CODEC_FAILURES, failed_san
    for task_id in SANDBOX_CODEC_FAILURES:
        assert "CodecError" in failed_san[task_id] and "Match" in failed_san[task_id]


def test_tasks_on_shared_data(shared_data):
    tasks = {t.name: t for t in load_tasks("mbpp,mbpp_full,mbpp_sanitized,mbpp_reflectevo", shared_data)}
    assert {n: len(t.docs) for n, t in tasks.items()} == {
        "mbpp": 500,
        "mbpp_full": 974,
        "mbpp_sanitized": 427,
        "mbpp_reflectevo": 500,
    }
    assert [d["task_id"] for d in tasks["mbpp"].docs] == list(range(11, 511))
    # ReflectEvo's file is the test split; it differs from mbpp.jsonl only in task 18's reference code
    diff = [
        (a["task_id"], k) for a, b in zip(tasks["mbpp_reflectevo"].docs, tasks["mbpp"].docs) for k in a if a[k] != b[k]
    ]
    assert diff == [(18, "code")]
    doc18 = tasks["mbpp_reflectevo"].docs[7]
    assert doc18["task_id"] == 18 and "NO_OF_CHARS = 258" in doc18["code"]
    assert tasks["mbpp_reflectevo"].verify(doc18, "[BEGIN]\n" + doc18["code"] + "\n[END]").correct


def off_by_one(code: str, name: str) -> str:
    """The program with every int or float its function ``name`` returns off by one (wrapped, the body untouched)."""
    return (
        f"{code}\n\n_reference_{name} = {name}\n\ndef {name}(*args, **kwargs):\n"
        f"    result = _reference_{name}(*args, **kwargs)\n"
        f"    return result + 1 if type(result) in (int, float) else result\n"
    )


def test_corrupted_references_fail(shared_data):
    full = _full(shared_data)
    rows, responses, no_def = [], [], []
    for r in full:
        broken = _return_none(r["code"], called_function(r["test_list"]))
        if broken is None:
            no_def.append(r["task_id"])
            continue
        rows.append(r)
        responses.append(fenced(broken))
    assert no_def == [126]  # its tested function is bound by an assignment, not a def
    assert set(_failures(rows, responses)) == {r["task_id"] for r in rows}  # `return None` fails all 973
    ints = [r for r in full if all(asserts_equal_to(ast.parse(t).body[0], int) for t in r["test_list"])]
    assert len(ints) > 150
    wrong = [fenced(off_by_one(r["code"], called_function(r["test_list"]))) for r in ints]
    assert len(_failures(ints, wrong)) == len(ints)
    sample = full[10:60]
    for prefix in ("import sys\nsys.exit(0)\n", "import os\nos._exit(0)\n"):
        assert len(_failures(sample, [fenced(prefix + r["code"]) for r in sample])) == len(sample)


# ----------------------------------------------------------------------------------------------- end to end


def _teach(model_dir: Path, prompts: list[str], reply: str, steps: int = 150) -> None:
    """A few optimizer steps so the tiny random model answers every prompt with ``reply`` (a wrong program)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir)
    torch.manual_seed(0)
    batches = []
    for prompt in prompts:
        context = tok.apply_chat_template(
            [{"role": "user", "content": prompt}], tokenize=False, add_generation_prompt=True
        )
        ids_c = tok(context, add_special_tokens=False)["input_ids"]
        ids_r = tok(reply + tok.eos_token, add_special_tokens=False)["input_ids"]
        ids = torch.tensor([ids_c + ids_r])
        labels = torch.tensor([[-100] * len(ids_c) + ids_r])
        batches.append((ids, labels))
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    model.train()
    for step in range(steps):
        ids, labels = batches[step % len(batches)]
        loss = model(input_ids=ids, labels=labels).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    model.save_pretrained(model_dir)


def test_end_to_end_records_carry_sandbox_feedback(tiny_model, mini_data, tmp_path):
    import shutil

    from rich.console import Console

    from reflectevo_bench.harness.run import RunOptions, run

    model_dir = tmp_path / "tiny-coder"
    shutil.copytree(tiny_model, model_dir)
    task = load_task("mbpp_reflectevo", mini_data, limit=3)
    reply = "def square(x):\n    return x + 1"  # 12 tokens: fits max_gen_toks=16
    _teach(model_dir, [task.task.doc_to_text(d) for d in task.docs], reply)
    out = tmp_path / "run"
    with open(os.devnull, "w") as devnull:
        run(
            RunOptions(
                model="hf",
                model_args=f"pretrained={model_dir}",
                tasks="mbpp_reflectevo",
                limit=3,
                data_dir=str(mini_data),
                gen_kwargs="max_gen_toks=16",
                output=str(out),
                device="cpu",
            ),
            Console(file=devnull),
        )
    records = [json.loads(line) for line in (out / "samples_mbpp_reflectevo.jsonl").read_text().splitlines()]
    assert [r["doc_id"] for r in records] == [0, 1, 2] and all(r["doc"]["task_id"] for r in records)
    first = {r["doc"]["task_id"]: r["turns"][0] for r in records}
    assert all(t["response"].startswith("def square(x):") for t in first.values()), [
        t["response"] for t in first.values()
    ]
    assert (
        first[11]["verdict"]["feedback"] == "Test failed: assert square(3) == 9\nAssertionError: square(3) returned 4"
    )
    assert first[12]["verdict"]["feedback"].startswith("Your code raised an error before any test ran:\nNameError")
    assert first[510]["verdict"]["feedback"].startswith('Test failed: assert reverse_string("abc") == "cba"\nNameError')
    for rec in records:
        attempts = [t for t in rec["turns"] if t["kind"] == "attempt"]
        assert len(attempts) == 2 and rec["correct"] == [False, False]
        for turn in attempts:  # every wrong attempt carries the verifier's feedback (sandbox status or no code)
            assert turn["verdict"]["feedback"] and turn["verdict"]["details"]["reason"] != "passed"
        reflection = next(t for t in rec["turns"] if t["kind"] == "reflection")
        shown = reflection["messages"][-1]["content"]
        assert attempts[0]["verdict"]["feedback"] in shown  # the reflection turn saw the sandbox feedback
        assert attempts[0]["verdict"]["details"]["status"] in ("failed", "error")


# ----------------------------------------------------- issue 13: bounded work on untrusted responses


@pytest.mark.parametrize(
    "response",
    [
        ("Here is some prose that explains the approach in detail. " * 3 + "\n") * 250,  # ~36 KB, no code
        ("def f(x):\n    return x  and then prose (not code) follows here\n") * 600,  # every line a start
        "import os\n" + ("This line is prose, not Python; it goes on and on.\n" * 150) + "def f(x):\n    (\n" * 300,
        "[BEGIN]x = 1[END]\n" * 3000,  # many blocks
        "\n" * 200_000 + "de f",  # regex fallback
    ],
)
def test_extraction_is_bounded_on_hostile_responses(response: str) -> None:
    start = time.monotonic()
    extract_code(response, "f")
    assert time.monotonic() - start < 3.0


def test_extraction_still_strips_prose_after_code() -> None:
    response = "def f(x):\n    return x + 1\nThat is the whole solution, as you can see.\nIt works."
    found = extract_code(response, "f")
    assert found is not None and found.source == "stripped" and found.code == "def f(x):\n    return x + 1\n"


def test_a_run_without_a_sandbox_fails_before_it_generates(mini_data, tmp_path, monkeypatch):
    """No sandbox to be had: `run` on a code task stops at its start with one line, exit 2, no run dir (the
    verifier's prepare() starts the pool before the model is even built)."""
    import scripted_lm  # noqa: F401  (registers the scripted-test model)
    from click.testing import CliRunner

    from reflectevo_bench.cli import main

    execution.close_executor()
    monkeypatch.setenv(execution.BACKEND_ENV, "docker")
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    out = tmp_path / "run"
    res = CliRunner().invoke(
        main, ["run", "--model", "scripted-test", "--tasks", "mbpp", "--data-dir", str(mini_data), "--output", str(out)]
    )
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert res.exit_code == 2 and len(lines) == 1, (res.exit_code, res.stderr)
    assert lines[0].startswith("error: code tasks need a sandbox (REFLECTEVO_SANDBOX=docker)"), lines[0]
    assert not out.exists()
    execution.close_executor()
