"""One small question-answer YAML run twice, by our `run` and by stock `lm_eval.simple_evaluate` (same model, chat
template, greedy decoding), for the tests that compare the two (harness equality, lm-eval sample export)."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from rich.console import Console

from reflectevo_bench.harness.run import RunOptions, run

QUESTIONS = [
    ("What is 2 plus 3?", "5"),
    ("Name a colour of the sky.", "blue"),
    ("What is 10 minus 4?", "6"),
    ("Spell the word cat.", "cat"),
    ("What is 3 times 3?", "9"),
    ("Say yes.", "yes"),
]
FILTERS = {  # lm-eval filter pipelines by name
    "first_word": [{"function": "regex", "regex_pattern": r"(\w+)"}, {"function": "take_first"}],
    "last_word": [{"function": "regex", "regex_pattern": r"(\w+)\W*$"}, {"function": "take_first"}],
    "whole": [{"function": "take_first"}],
}


def _jsonl(path: Path, rows) -> str:
    path.write_text("".join(json.dumps({"question": q, "answer": a}) + "\n" for q, a in rows))
    return str(path)


def write_qa_task(
    folder: Path,
    name: str,
    rows,
    filters: list[str],
    max_gen_toks: int,
    train=None,
    num_fewshot: int = 0,
    target: str = "{{answer}}",
) -> Path:
    """``folder/NAME.yaml``: a generate_until task over (question, answer) ``rows`` scored by exact_match under each
    named filter; with ``train`` rows, a fewshot_split and ``num_fewshot`` (lm-eval's default random sampler)."""
    files = {"test": _jsonl(folder / f"{name}_test.jsonl", rows)}
    cfg = {"task": name, "dataset_path": "json", "dataset_kwargs": {"data_files": files}, "test_split": "test"}
    if train:
        files["train"] = _jsonl(folder / f"{name}_train.jsonl", train)
        cfg.update(fewshot_split="train", num_fewshot=num_fewshot)
    cfg.update(
        output_type="generate_until",
        doc_to_text="Question: {{question}}\nAnswer:",
        doc_to_target=target,
        generation_kwargs={"until": ["\n\n"], "do_sample": False, "max_gen_toks": max_gen_toks},
        filter_list=[{"name": f, "filter": FILTERS[f]} for f in filters],
        metric_list=[{"metric": "exact_match", "aggregation": "mean", "higher_is_better": True, "ignore_case": True}],
    )
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def ours_and_stock(model: Path, yaml_path: Path, out: Path, protocol: str, batch_size: int, **stock_kwargs):
    """(run dir, our results, stock results with logged samples) for the YAML on the HF model at ``model``.
    ``fewshot_as_multiturn=False`` in ``stock_kwargs`` is set on our run too."""
    import lm_eval

    from reflectevo_bench.tasks.registry import task_manager

    opts = RunOptions(
        model="hf",
        model_args=f"pretrained={model}",
        tasks=str(yaml_path),
        protocol=protocol,
        batch_size=str(batch_size),
        output=str(out),
    )
    if stock_kwargs.get("fewshot_as_multiturn") is False:
        opts.fewshot_as_multiturn = False
    out_dir, ours = run(opts, Console(file=open("/dev/null", "w")))
    stock = lm_eval.simple_evaluate(
        model="hf",
        model_args=f"pretrained={model}",
        tasks=[str(yaml_path)],
        task_manager=task_manager([str(yaml_path.parent)]),
        apply_chat_template=True,
        batch_size=batch_size,
        device="cpu",
        log_samples=True,
        **stock_kwargs,
    )
    return out_dir, ours, stock


def context(arguments) -> str:
    """The context string of a logged lm-eval sample (the layout differs between lm-eval releases)."""
    if isinstance(arguments, dict):
        return arguments["gen_args_0"]["arg_0"]
    return arguments[0][0]
