"""The trainer registry: the shipped records, and a trainer registered from a file outside the package
(tests/fixtures/plugins/toy_trainer.py, loaded through REFLECTEVO_PLUGINS) run by `train toy` and by an experiment
recipe `trainer: toy` on the tiny model. The toy trainer is TRL's SFTTrainer with a scaled loss: scale 1 moves the
weights (positive control), scale 0 leaves them exactly as they were (negative control)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from reflectevo_bench.trainers import registry
from reflectevo_bench.trainers.data.datadir import KINDS

REPO = Path(__file__).resolve().parents[2]
PLUGIN = REPO / "tests" / "fixtures" / "plugins" / "toy_trainer.py"
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "tests" / "experiment"))

from exp_helpers import FAST as EXP_FAST  # noqa: E402
from parity_task import write_parity_task  # noqa: E402


@pytest.fixture
def toy_plugin(monkeypatch):
    """REFLECTEVO_PLUGINS names the toy trainer's file; the registration is undone afterwards."""
    monkeypatch.setenv(registry.PLUGINS_ENV, str(PLUGIN))
    yield
    registry._TRAINERS.pop("toy", None)
    registry._loaded.discard(str(PLUGIN))
    sys.modules.pop("reflectevo_plugin_toy_trainer", None)


def weights(folder: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(str(folder / "model.safetensors"))


def changed(a: dict, b: dict) -> bool:
    return any(not a[k].equal(b[k]) for k in a)


def test_shipped_trainers_cover_every_kind_once():
    table = registry.trainers()
    assert list(table)[:3] == ["sft", "dpo", "grpo"]
    kinds = [k for t in table.values() for k in t.kinds]
    assert sorted(kinds) == sorted(KINDS)  # each data kind has exactly one shipped trainer
    assert table["sft"].two_stage and table["sft"].assistant_masks and not table["dpo"].two_stage
    assert table["grpo"].trl_defaults == {"beta": 0.001}
    assert table["dpo"].columns() == {
        "dpm": ("prompt", "chosen", "rejected"),
        "dpref": ("prompt", "chosen", "rejected"),
    }
    from trl import DPOConfig, GRPOConfig, SFTConfig

    assert [t.config_class() for t in table.values()][:3] == [SFTConfig, DPOConfig, GRPOConfig]


def test_register_refuses_an_unknown_kind():
    from reflectevo_bench.errors import BenchError

    with pytest.raises(BenchError, match="unknown data kind"):
        registry.register(registry.Trainer(name="bad", config=object, run=print, kinds=("nonsense",), help=""))
    assert "bad" not in registry.trainers()


def test_register_refuses_a_key_shared_by_every_trainer():
    from reflectevo_bench.errors import BenchError
    from reflectevo_bench.trainers.keys import Key

    with pytest.raises(BenchError, match="shared by every trainer"):
        registry.register(
            registry.Trainer(name="bad", config=object, run=print, kinds=("qa",), help="", keys=(Key("peft"),))
        )
    assert "bad" not in registry.trainers()


@pytest.fixture
def keyed():
    """A trainer registered with a key of its own (``scale``: a number > 0, default 2); undone afterwards."""
    from reflectevo_bench.trainers.keys import Key, number

    registry.register(
        registry.Trainer(
            name="keyed",
            config="trl:SFTConfig",
            run=print,
            kinds=("qa",),
            help="SFT with a key of its own.",
            keys=(Key("scale", 2, number("a number > 0", lambda v: v > 0), "a scale", option=True),),
        )
    )
    yield
    registry._TRAINERS.pop("keyed", None)


def test_a_trainers_own_key_is_checked_from_its_record(keyed, tiny_model, data_root, write_config, tmp_path, cli):
    """No trainer name is written in the config loader: a registered trainer's key gets its default, its check,
    the `--KEY` option and `train NAME --help`; the same key in another trainer's config is refused by name."""
    from reflectevo_bench.errors import BenchError
    from reflectevo_bench.trainers.config import OWN_KEYS, load_job

    assert "scale" in OWN_KEYS and "objective" in OWN_KEYS
    cfg = write_config(model=str(tiny_model), data=str(data_root / "qa"), output_dir=str(tmp_path / "o"))
    job = load_job("keyed", cfg)
    assert job.scale == 2.0 and job.options == {"scale": 2.0} and job.resolved_config()["scale"] == 2.0
    assert load_job("keyed", cfg, ["scale=0.5"]).scale == 0.5
    with pytest.raises(BenchError, match=r"scale must be a number > 0, got -1"):
        load_job("keyed", cfg, ["scale=-1"])
    with pytest.raises(BenchError, match=r"`scale` is a train keyed key; train sft has none"):
        load_job("sft", cfg, ["scale=1"])
    with pytest.raises(BenchError, match=r"`objective` is a train grpo key; train keyed has none"):
        load_job("keyed", cfg, ["objective=answer"])
    res = cli("train", "keyed", "--help")
    assert res.exit_code == 0 and "--scale" in res.output and "a scale" in res.output
    res = cli("train", "keyed", "--config", cfg, "--scale", "0", "--dry-run")
    assert res.exit_code == 2 and "scale must be a number > 0" in res.output


def test_a_missing_plugin_is_one_line_exit_2(cli, monkeypatch):
    monkeypatch.setenv(registry.PLUGINS_ENV, "/nowhere/plugin.py")
    try:
        r = cli("train", "sft", "--help")
    finally:
        registry._loaded.discard("/nowhere/plugin.py")
    assert r.exit_code == 2
    assert r.output.strip().splitlines() == ["error: REFLECTEVO_PLUGINS: plugin file /nowhere/plugin.py does not exist"]


def test_train_toy_from_a_plugin_file(tiny_model, data_root, write_config, tmp_path):
    """`reflectevo-bench train toy` in a fresh process, the plugin named only by the environment."""
    out = tmp_path / "toy-out"
    cfg = write_config(
        model=str(tiny_model), data=str(data_root / "qa"), output_dir=str(out), loss_scale=1.0, learning_rate=1e-2
    )
    env = {**os.environ, registry.PLUGINS_ENV: str(PLUGIN), "PYTHONPATH": str(REPO)}
    listing = subprocess.run(
        [sys.executable, "-m", "reflectevo_bench.cli", "train", "--help"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert listing.returncode == 0 and "toy" in listing.stdout
    r = subprocess.run(
        [sys.executable, "-m", "reflectevo_bench.cli", "train", "toy", "--config", str(cfg)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    record = json.loads((out / "reflectevo_checkpoint.json").read_text())
    assert record["trainer"] == "toy" and "TRL's toy scaled-loss SFT trainer" in (out / "README.md").read_text()
    assert changed(weights(tiny_model), weights(out))  # positive control: the scaled loss trained


def test_toy_with_zero_loss_scale_trains_nothing(tiny_model, data_root, write_config, tmp_path, cli, toy_plugin):
    """Negative control: the plugin's own loss is the one used (its config key reaches it through TRL's parser)."""
    out = tmp_path / "toy-zero"
    cfg = write_config(
        model=str(tiny_model), data=str(data_root / "qa"), output_dir=str(out), loss_scale=0.0, learning_rate=1e-2
    )
    r = cli("train", "toy", "--config", cfg)
    assert r.exit_code == 0, r.output
    assert not changed(weights(tiny_model), weights(out))


def test_toy_refuses_data_of_another_trainer(tiny_model, data_root, write_config, tmp_path, cli, toy_plugin):
    cfg = write_config(model=str(tiny_model), data=str(data_root / "dpm"), output_dir=str(tmp_path / "o"))
    r = cli("train", "toy", "--config", cfg)
    assert r.exit_code == 2
    assert "train toy needs qa (dpm is for train dpo)" in r.output
    assert not (tmp_path / "o").exists()


def test_toy_in_an_experiment_recipe(tiny_model, tmp_path, cli, toy_plugin):
    task = write_parity_task(tmp_path / "task", "toy", {"train": range(100, 112), "test": range(4)}, max_gen_toks=5)
    spec = {
        "base": {"name": "tiny", "model": "hf", "model_args": f"pretrained={tiny_model}"},
        "data": {
            "tasks": [str(task)],
            "split": "train",
            "limit": 12,
            "kinds": ["qa"],
            "eval_fraction": 0.0,
            "gen_kwargs": "do_sample=true,temperature=1.0,max_gen_toks=5",
        },
        "recipes": {
            "toy": {
                "trainer": "toy",
                "data": "qa",
                "config": {**EXP_FAST, "per_device_train_batch_size": 1, "loss_scale": 1.0},
            }
        },
        "eval": {"tasks": [str(task)], "split": "test", "limit": 4, "protocol": "reflect", "controls": []},
        "report": {"metric": "acc@t2", "max_drop": 1.0, "alpha": 0.05},
        "batch_size": "8",
    }
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    plan = cli("experiment", "plan", path)
    assert plan.exit_code == 0, plan.output
    assert "train toy on qa" in plan.output
    r = cli("experiment", "run", path, "--out", tmp_path / "exp", "-q")
    assert r.exit_code == 0, r.output
    records = [json.loads(p.read_text()) for p in (tmp_path / "exp").rglob("reflectevo_checkpoint.json")]
    assert [rec["trainer"] for rec in records] == ["toy"]


def test_an_unknown_trainer_in_a_recipe_names_the_registered_ones(tiny_model, tmp_path, cli, toy_plugin):
    from reflectevo_bench.errors import BenchError
    from reflectevo_bench.experiment.spec import load_spec

    spec = {
        "base": {"name": "tiny", "model": "hf", "model_args": f"pretrained={tiny_model}"},
        "data": {"tasks": ["toy"], "split": "train", "kinds": ["qa"]},
        "recipes": {"x": {"trainer": "ppo", "data": "qa"}},
        "eval": {"tasks": ["toy"], "split": "test", "protocol": "reflect"},
    }
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec))
    with pytest.raises(BenchError, match="trainer must be sft, dpo, grpo or toy, got 'ppo'"):
        load_spec(path)
