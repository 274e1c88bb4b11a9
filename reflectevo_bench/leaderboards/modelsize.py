"""A model's parameter count, read from its files when the run's ``pretrained=`` is a local folder.

In order: ``num_parameters`` in config.json; the exact count from the safetensors headers (shapes only, no
weights are read); an estimate from config.json (hidden size, layers, vocab, MLP width, KV heads) for
decoder-only transformers. Anything else (hub ids, API models, gguf files) is unknown.
"""

from __future__ import annotations

import json
import math
import struct
from pathlib import Path
from typing import Any

from reflectevo_bench.harness.backend import parse_model_args


def model_size(model_args: str | None) -> tuple[int | None, str]:
    """(parameters, how it was found: "config", "safetensors", "estimate" or "unknown")."""
    pretrained = parse_model_args(model_args).get("pretrained") if model_args else None
    if not pretrained:
        return None, "unknown"
    folder = Path(pretrained).expanduser()
    if not folder.is_dir():
        return None, "unknown"
    config = _read_json(folder / "config.json") or {}
    config = config.get("text_config", config) if isinstance(config.get("text_config"), dict) else config
    if isinstance(config.get("num_parameters"), int):
        return config["num_parameters"], "config"
    counted = _safetensors_params(folder)
    if counted:
        return counted, "safetensors"
    estimated = _estimate(config)
    if estimated:
        return estimated, "estimate"
    return None, "unknown"


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _safetensors_params(folder: Path) -> int | None:
    files = sorted(folder.glob("*.safetensors"))
    if not files:
        return None
    total = 0
    for path in files:
        try:
            with open(path, "rb") as fh:
                (size,) = struct.unpack("<Q", fh.read(8))
                if size > 100_000_000:
                    return None
                header = json.loads(fh.read(size))
        except (OSError, ValueError, struct.error):
            return None
        total += sum(math.prod(t["shape"]) for k, t in header.items() if k != "__metadata__")
    return total or None


def _estimate(cfg: dict[str, Any]) -> int | None:
    """Decoder-only transformer: embeddings (+ untied head) + layers × (attention + gated MLP + 2 norms) + norm."""
    h = cfg.get("hidden_size") or cfg.get("n_embd") or cfg.get("d_model")
    layers = cfg.get("num_hidden_layers") or cfg.get("n_layer") or cfg.get("num_layers")
    vocab = cfg.get("vocab_size")
    if not all(isinstance(v, int) and v > 0 for v in (h, layers, vocab)):
        return None
    heads = cfg.get("num_attention_heads") or cfg.get("n_head") or 1
    head_dim = cfg.get("head_dim") or h // heads
    kv = (cfg.get("num_key_value_heads") or heads) * head_dim
    inter = cfg.get("intermediate_size") or cfg.get("n_inner") or 4 * h
    gated = cfg.get("hidden_act", "silu") in ("silu", "swiglu", "geglu") or "llama" in str(cfg.get("model_type"))
    attention = h * heads * head_dim * 2 + h * kv * 2
    mlp = (3 if gated else 2) * h * inter
    per_layer = attention + mlp + 2 * h
    embed = vocab * h * (1 if cfg.get("tie_word_embeddings", True) else 2)
    return embed + layers * per_layer + h


def format_params(params: int | None) -> str:
    if not params:
        return "?"
    for unit, scale in (("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if params >= scale:
            value = params / scale
            return f"{value:.1f}{unit}" if value < 100 else f"{value:.0f}{unit}"
    return str(params)
