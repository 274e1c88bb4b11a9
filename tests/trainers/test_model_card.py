"""A checkpoint's README.md names its base model (TRL's own card says "fine-tuned version of [None]" for a local
base folder)."""

from __future__ import annotations

from types import SimpleNamespace

from huggingface_hub import ModelCard

from reflectevo_bench.trainers.model_card import base_model_name, model_card


def test_checkpoint_readme_names_its_base_model(cli, write_config, tiny_model, data_root, tmp_path):
    out = tmp_path / "ckpt"
    # checkpoints at every step: TRL writes its own README.md ("[None]") into the output dir at each save
    cfg = write_config(
        model=str(tiny_model), data=str(data_root / "qa"), output_dir=str(out), save_strategy="steps", save_steps=1
    )
    r = cli("train", "sft", "--config", cfg)
    assert r.exit_code == 0, r.output
    assert (out / "checkpoint-1").is_dir()  # TRL saved (and wrote its card) before the final save
    text = (out / "README.md").read_text()
    assert "[None]" not in text and "None" not in text.split("---")[2].split("\n\n")[1]
    assert f"fine-tuned version of `{tiny_model.name}`" in text and str(tiny_model) in text
    assert f"pretrained={out.resolve()}" in text and "source runs: run-test" in text
    card = ModelCard.load(out / "README.md")  # the hub's own reader
    assert "trl" in card.data.tags and card.data.base_model is None  # a local folder is no hub id


def test_hub_base_model_in_front_matter(data_root):
    from reflectevo_bench.trainers.config import read_data_dir

    job = SimpleNamespace(
        model_spec="HuggingFaceTB/SmolLM2-360M-Instruct",
        model="HuggingFaceTB/SmolLM2-360M-Instruct",
        trainer="dpo",
        stage="one",
        data={"train": read_data_dir(data_root / "dpm", "dpo")},
    )
    saved = {"path": "/x/ckpt", "kind": "full", "run": "--model-args pretrained=/x/ckpt"}
    card = ModelCard(model_card(job, saved, {"global_step": 2, "final_loss": 0.5, "runtime_s": 1.0}))
    assert card.data.base_model == "HuggingFaceTB/SmolLM2-360M-Instruct"
    assert "fine-tuned version of [HuggingFaceTB/SmolLM2-360M-Instruct](https://huggingface.co/HuggingFace" in card.text
    assert "TRL's DPO trainer" in card.text
    assert base_model_name("smollm2-135m", "/cache/smollm2") == ("HuggingFaceTB/SmolLM2-135M-Instruct",) * 2
    assert base_model_name("tiny", "/cache/tiny-llama") == ("tiny-llama", None)
