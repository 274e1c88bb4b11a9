"""kill -9 mid-run, then --resume, on a few-shot task with lm-eval's random sampler: the resumed docs get the
exemplars an uninterrupted run gives them (exemplars are a function of the doc id), so records are equal."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from kill_resume import ENV, kill_mid_run, run_cmd, sample_lines


def _task(folder: Path) -> Path:
    (folder / "test.jsonl").write_text(
        "".join(json.dumps({"q": f"What is {i} plus 1?", "a": str(i + 1)}) + "\n" for i in range(10))
    )
    (folder / "train.jsonl").write_text(
        "".join(json.dumps({"q": f"What is {i} plus 2?", "a": str(i + 2)}) + "\n" for i in range(8))
    )
    path = folder / "fs_resume.yaml"
    path.write_text(f"""task: fs_resume
dataset_path: json
dataset_kwargs: {{data_files: {{test: {folder / "test.jsonl"}, train: {folder / "train.jsonl"}}}}}
test_split: test
fewshot_split: train
num_fewshot: 2
output_type: generate_until
doc_to_text: "Q: {{{{q}}}}"
doc_to_target: "{{{{a}}}}"
generation_kwargs: {{until: [], do_sample: false, max_gen_toks: 16}}
metric_list: [{{metric: exact_match, aggregation: mean, higher_is_better: true}}]
""")
    return path


@pytest.mark.timeout(600)
def test_sigkill_then_resume_few_shot_equals_uninterrupted(tiny_model, tmp_path):
    task = _task(tmp_path)

    args = ["--tasks", str(task), "--protocol", "reflect", "--batch-size", "1", "--chunk-size", "2"]
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    subprocess.run(run_cmd(tiny_model, whole, *args), check=True, env=ENV, capture_output=True)
    done_before = kill_mid_run(run_cmd(tiny_model, killed, *args), killed / "samples_fs_resume.jsonl", 3, 300)
    assert 3 <= done_before < 10, "the kill should land mid-run"
    resumed = subprocess.run(run_cmd(tiny_model, killed, *args, "--resume"), env=ENV, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert sample_lines(killed, "fs_resume") == sample_lines(whole, "fs_resume")
    firsts = {
        json.dumps(json.loads(line)["turns"][0]["messages"][:-1])
        for line in (whole / "samples_fs_resume.jsonl").read_text().splitlines()
    }
    assert len(firsts) > 1  # the random sampler gave different docs different exemplars
