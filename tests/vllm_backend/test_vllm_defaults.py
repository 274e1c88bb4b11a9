"""`--model vllm` defaults (reflectevo_bench.harness.backend.vllm_model_args): pure argument logic, no vLLM needed,
so these run in the main suite too."""

from __future__ import annotations

import json

import pytest

from reflectevo_bench.harness import backend
from reflectevo_bench.harness.backend import VLLM_CPU_KV_CACHE_BYTES, VLLM_MAX_MODEL_LEN_CAP, vllm_model_args
from reflectevo_bench.harness.run import resolve_model_args


@pytest.fixture()
def long_context_model(tmp_path):
    """A config-only model folder declaring a 128k-token context (as Llama-3.1 does)."""
    folder = tmp_path / "long"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": "llama", "max_position_embeddings": 131072}))
    return folder


def test_defaults_for_this_workload(tiny_model):
    args = resolve_model_args("vllm", f"pretrained={tiny_model}", None, seed=7)
    assert args["enable_prefix_caching"] == "True"
    assert args["seed"] == "7"
    assert args["max_model_len"] == str(json.loads((tiny_model / "config.json").read_text())["max_position_embeddings"])


def test_the_users_args_win(tiny_model):
    args = resolve_model_args(
        "vllm",
        f"pretrained={tiny_model},enable_prefix_caching=False,max_model_len=512,seed=3,kv_cache_memory_bytes=1000000",
        None,
        seed=7,
    )
    assert args == {
        "pretrained": str(tiny_model),
        "enable_prefix_caching": "False",
        "max_model_len": "512",
        "seed": "3",
        "kv_cache_memory_bytes": "1000000",
    }
    assert "max_model_len" not in vllm_model_args({"pretrained": str(tiny_model), "max_length": "256"}, None)


def test_a_long_context_is_capped(long_context_model):
    assert vllm_model_args({"pretrained": str(long_context_model)}, 1)["max_model_len"] == str(VLLM_MAX_MODEL_LEN_CAP)


def test_an_unreadable_config_leaves_max_model_len_to_vllm(tmp_path):
    args = vllm_model_args({"pretrained": "no-such-org/no-such-model"}, None)  # offline: the config cannot be read
    assert "max_model_len" not in args and "seed" not in args


def test_vllm_cpu_gets_a_bounded_kv_cache(tiny_model, monkeypatch):
    monkeypatch.setattr(backend, "_vllm_cpu", lambda: True)
    monkeypatch.delenv("VLLM_CPU_KVCACHE_SPACE", raising=False)
    assert vllm_model_args({"pretrained": str(tiny_model)}, 1)["kv_cache_memory_bytes"] == str(VLLM_CPU_KV_CACHE_BYTES)
    assert "kv_cache_memory_bytes" not in vllm_model_args(
        {"pretrained": str(tiny_model), "gpu_memory_utilization": "0.3"}, 1
    )
    monkeypatch.setenv("VLLM_CPU_KVCACHE_SPACE", "2")  # vLLM's own setting for the same thing
    assert "kv_cache_memory_bytes" not in vllm_model_args({"pretrained": str(tiny_model)}, 1)
    monkeypatch.setattr(backend, "_vllm_cpu", lambda: False)  # a GPU build sizes its cache from GPU memory
    monkeypatch.delenv("VLLM_CPU_KVCACHE_SPACE")
    assert "kv_cache_memory_bytes" not in vllm_model_args({"pretrained": str(tiny_model)}, 1)


def test_hf_args_are_left_alone(tiny_model):
    assert resolve_model_args("hf", f"pretrained={tiny_model}", None, seed=7) == {"pretrained": str(tiny_model)}
