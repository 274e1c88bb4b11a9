"""Attempt 1 of our harness equals stock ``lm_eval.simple_evaluate`` on the same config (tiny random model).

A random model scores about 0, so besides the accuracies the per-doc responses are compared: stock lm-eval's
logged samples must equal our recorded attempt-1 responses doc by doc.
"""

from __future__ import annotations

import json

import pytest
from rich.console import Console

LIMIT = 8
GEN = "max_gen_toks=16"


@pytest.fixture(scope="module")
def noisy_model(tmp_path_factory):
    """The tiny model with larger random weights: the seed-0 tiny model only echoes the prompt's last token
    (the same for every doc), which would make the per-doc comparison unable to fail."""
    import torch
    from transformers import AutoModelForCausalLM

    from reflectevo_bench.models.tiny import build_tiny_model

    path = build_tiny_model(tmp_path_factory.mktemp("noisy") / "tiny", seed=0)
    model = AutoModelForCausalLM.from_pretrained(path)
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for weight in model.parameters():
            if weight.dim() == 2:
                weight.copy_(torch.randn(weight.shape, generator=gen) * 0.3)
    model.save_pretrained(path)
    return path


TASKS = ["gsm8k", "bbh_boolean_expressions"]


def _ours(model, data, out):
    from reflectevo_bench.harness.run import RunOptions, run

    _, results = run(
        RunOptions(
            model="hf",
            model_args=f"pretrained={model}",
            tasks=",".join(TASKS),
            protocol="single",
            limit=LIMIT,
            data_dir=str(data),
            gen_kwargs=GEN,
            batch_size="4",
            output=str(out),
            device="cpu",
        ),
        Console(quiet=True),
    )
    accs, responses = {}, {}
    for task in TASKS:
        records = [json.loads(line) for line in (out / f"samples_{task}.jsonl").read_text().splitlines()]
        responses[task] = {r["doc_id"]: r["turns"][0]["response"] for r in records}
        accs[task] = results["results"][task]["acc@t1"]
    return accs, responses


def _stock(model, data):
    import lm_eval

    from reflectevo_bench.tasks.registry import task_manager

    out = lm_eval.simple_evaluate(
        model="hf",
        model_args=f"pretrained={model},device=cpu",
        tasks=list(TASKS),
        task_manager=task_manager(data_dir=str(data)),
        limit=LIMIT,
        apply_chat_template=True,
        gen_kwargs=f"{GEN},do_sample=False",
        batch_size=4,
        log_samples=True,
    )
    accs = {task: out["results"][task]["exact_match,none"] for task in TASKS}
    responses = {task: {s["doc_id"]: s["resps"][0][0] for s in out["samples"][task]} for task in TASKS}
    return accs, responses


def test_attempt_one_equals_stock_lm_eval(noisy_model, shared_data, tmp_path):
    ours_acc, ours = _ours(noisy_model, shared_data, tmp_path / "run")
    stock_acc, stock = _stock(noisy_model, shared_data)
    for task in TASKS:
        assert sorted(ours[task]) == sorted(stock[task]) == list(range(LIMIT)), task
        assert ours[task] == stock[task], task  # the same prompts went in: the same greedy continuations came out
        assert len(set(ours[task].values())) > 1, task  # doc-dependent output: the comparison can fail
        assert ours_acc[task] == stock_acc[task], task
