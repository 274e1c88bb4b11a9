"""`data import --format reflectevo`: released ReflectEvo-460K rows → rows + card, prompts rebuilt from the state
before generation (no completion inside its own prompt), then `train sft` and the checkpoint runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from reflectevo_bench.cli import main
from reflectevo_bench.trainers.data.importers.reflectevo import strip_transcript

HEAD = "In this task. You are required to solve a question...\nYou are solving the following question: {q}\n"
TAIL = (
    "\nBelow is the history of what your solving progress so far:\n(BEGIN)\n{t}\n(END)\n\xa0\n"
    "Please complete the current step."
)


def dplus_row(i: int) -> dict:
    q = f"What is {i} + {i}?\nOptions:\nA. {2 * i}\nB. {2 * i + 1}"
    first = f"\nThought: it is {2 * i + 1}.\nAction: \nFinish[B] \n\nObservation: Answer is INCORRECT"
    second = f"\nThought: doubling {i} gives {2 * i}.\nAction: \nFinish[A] \n\nObservation: Answer is CORRECT"
    reflection = f"I added one too many ({i})."
    return {
        "id": i,
        "question": q,
        "answer": "a",
        "first_trial_reasoning": first,
        "first_trial_answer": "B",
        "second_trial_reasoning": second,
        "second_trial_answer": "A",
        "reflections": reflection,
        "reason_prompt": [
            HEAD.format(q=q) + TAIL.format(t=""),
            HEAD.format(q=q) + f"Reflections:\n- {reflection}\n" + TAIL.format(t=second),
        ],
        "reflect_prompt": f"Given the question... Question: {q}\nPrevious trial and your incorrect solution: {first}\n"
        "Based on this information, please provide the following: ...",
    }


def dpm_row(i: int) -> dict:
    row = dplus_row(i)
    return {
        "id": i,
        "question": row["question"],
        "answer": "a",
        "first_trial_reasoning": row["first_trial_reasoning"],
        "first_trial_answer": "B",
        "second_trial_reasoning_chosen": row["second_trial_reasoning"],
        "second_trial_answer_chosen": "A",
        "reflection_chosen": row["reflections"],
        "second_trial_reasoning_rejected": "Finish[B]",
        "second_trial_answer_rejected": "B",
        "reflection_rejected": "It was fine.",
        "reason_prompt": row["reason_prompt"][0],
        "reflection_prompt": row["reflect_prompt"],
    }


def _write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _import(*args) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["data", "import", "--format", "reflectevo", *map(str, args)])
    return result.exit_code, result.output


def _rows(out: Path, part: str = "train") -> list[dict]:
    return [json.loads(line) for line in (out / f"{part}.jsonl").read_text().splitlines()]


def test_dplus_import_strips_post_hoc_transcripts_and_no_completion_is_in_its_prompt(tmp_path):
    src = _write(tmp_path / "dplus.jsonl", [dplus_row(i) for i in range(1, 9)])
    code, out = _import(src, "--kind", "dplus", "--out", tmp_path / "d", "--eval-fraction", "0")
    assert code == 0, out
    rows = _rows(tmp_path / "d")
    assert len(rows) == 8
    for row in rows:
        reflection, retry_request, retry = row["completion"]
        prompt = "\n".join(m["content"] for m in row["prompt"])
        assert reflection["content"] not in prompt and retry["content"] not in prompt
        # the rebuilt trial-2 prompt holds no transcript and no verdict; the retry holds no Observation
        assert "Answer is CORRECT" not in retry_request["content"] and "(BEGIN)\n\n(END)" in retry_request["content"]
        assert retry["content"].endswith("Finish[A]") and "Observation" not in retry["content"]
    card = json.loads((tmp_path / "d" / "card.json").read_text())
    assert card["kind"] == "dplus" and card["imported"]["transcripts_stripped"] == 8
    assert any("(BEGIN)" in line for line in card["imported"]["rebuilt"])


def test_dpm_and_oneturn_imports(tmp_path):
    src = _write(tmp_path / "dpm.jsonl", [dpm_row(i) for i in range(1, 5)])
    code, out = _import(src, "--kind", "dpm", "--out", tmp_path / "p", "--eval-fraction", "0")
    assert code == 0, out
    row = _rows(tmp_path / "p")[0]
    assert row["chosen"][0]["content"].startswith("I added") and row["rejected"][0]["content"] == "It was fine."
    src = _write(tmp_path / "dplus.jsonl", [dplus_row(i) for i in range(1, 5)])
    code, out = _import(src, "--kind", "dplus-oneturn", "--out", tmp_path / "o", "--eval-fraction", "0")
    assert code == 0, out
    row = _rows(tmp_path / "o")[0]
    assert row["completion"][0]["content"].startswith("I added one too many")
    assert "\n\nNew answer: Thought: doubling" in row["completion"][0]["content"]
    assert "New answer:" in row["prompt"][-1]["content"]


def test_a_prompt_that_holds_its_completion_is_refused(tmp_path):
    leaky = dplus_row(1)
    leaky["reflect_prompt"] += "\n" + leaky["reflections"]
    src = _write(tmp_path / "leaky.jsonl", [dplus_row(2), leaky])
    code, out = _import(src, "--kind", "dplus", "--out", tmp_path / "d")
    assert code == 2 and "row 2" in out and "appears in its own prompt" in out
    assert not (tmp_path / "d").exists()
    code, out = _import(_write(tmp_path / "bad.jsonl", [{"question": "q"}]), "--kind", "dplus", "--out", tmp_path / "e")
    assert code == 2 and "reflect_prompt or reflection_prompt" in out
    code, out = _import(src, "--kind", "qa", "--out", tmp_path / "f")
    assert code == 2 and "unknown --kind" in out


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80), st.text(max_size=80), st.text(max_size=80))
def test_strip_transcript_leaves_only_empty_transcripts(head, inside, tail):
    from reflectevo_bench.trainers.data.importers.reflectevo import TRANSCRIPT

    out, _ = strip_transcript(f"{head}(BEGIN){inside}(END){tail}")
    assert all(m.group(0) == "(BEGIN)\n\n(END)" for m in TRANSCRIPT.finditer(out))


def test_round_trip_import_train_sft_checkpoint_runs(tmp_path, tiny_model, write_config):
    src = _write(tmp_path / "dplus.jsonl", [dplus_row(i) for i in range(1, 9)])
    code, out = _import(src, "--kind", "dplus", "--out", tmp_path / "d", "--eval-fraction", "0")
    assert code == 0, out
    cfg = write_config(model=str(tiny_model), data=str(tmp_path / "d"), output_dir=str(tmp_path / "ckpt"))
    result = CliRunner().invoke(main, ["train", "sft", "--config", str(cfg)])
    assert result.exit_code == 0, result.output
    task = tmp_path / "task"
    task.mkdir()
    (task / "docs.jsonl").write_text(json.dumps({"q": "1+1", "a": "2"}) + "\n")
    (task / "t.yaml").write_text(
        "task: imported_check\ndataset_path: json\ndataset_kwargs:\n  data_files:\n"
        f"    test: {task / 'docs.jsonl'}\ntest_split: test\noutput_type: generate_until\n"
        'doc_to_text: "{{q}}"\ndoc_to_target: "{{a}}"\ngeneration_kwargs:\n  until: []\n  max_gen_toks: 4\n'
        "metric_list:\n  - metric: exact_match\n"
    )
    result = CliRunner().invoke(
        main,
        [
            "run",
            "--model",
            "hf",
            "--model-args",
            f"pretrained={tmp_path / 'ckpt'}",
            "--device",
            "cpu",
            "--tasks",
            str(task / "t.yaml"),
            "--protocol",
            "single",
            "--output",
            str(tmp_path / "run"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "run" / "results.json").is_file()


@pytest.mark.parametrize("text", ["no markers", "(BEGIN)\n\n(END)"])
def test_strip_transcript_reports_nothing_when_empty(text):
    assert strip_transcript(text) == (text, False)
