"""`models tiny --scale N`: about N times the parameters; scale 1 is the default model, byte for byte."""

from __future__ import annotations

import hashlib

from click.testing import CliRunner

from reflectevo_bench.leaderboards.modelsize import model_size
from reflectevo_bench.models.tiny import build_tiny_model, hidden_for_scale, param_count


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_scale_one_is_the_default_model(tmp_path, tiny_model):
    again = build_tiny_model(tmp_path / "s1", seed=0, scale=1)
    for name in ("model.safetensors", "config.json", "tokenizer.json", "tokenizer_config.json"):
        assert _sha(again / name) == _sha(tiny_model / name), name


def test_scale_ten_has_about_ten_times_the_parameters(tmp_path, tiny_model):
    from reflectevo_bench.cli import main

    out = tmp_path / "s10"
    result = CliRunner().invoke(main, ["models", "tiny", str(out), "--scale", "10"])
    assert result.exit_code == 0, result.output
    small, _ = model_size(f"pretrained={tiny_model}")
    big, how = model_size(f"pretrained={out}")
    assert how == "safetensors" and 9 <= big / small <= 11, (small, big)
    assert param_count(768, 64) == small or abs(param_count(768, 64) - small) < 1000
    assert hidden_for_scale(768, 1) == 64
    bad = CliRunner().invoke(main, ["models", "tiny", str(tmp_path / "bad"), "--scale", "0"])
    assert bad.exit_code == 2 and not (tmp_path / "bad").exists()
