"""`train sft` on the tiny model: labels, one- and two-stage, LoRA, resume, overfit, tensorboard, `run` on the result."""

from __future__ import annotations

import json

import pytest
from train_datafiles import RETRY_REQ, check_runs, read_record, write_data_dir

from reflectevo_bench.trainers.config import load_job
from reflectevo_bench.trainers.sft import build_sft_trainer


def _labelled_text(trainer, row_index: int = 0) -> tuple[str, str]:
    batch = next(iter(trainer.get_train_dataloader()))
    tok = trainer.processing_class
    ids, labels = batch["input_ids"][row_index].tolist(), batch["labels"][row_index].tolist()
    mask = batch["attention_mask"][row_index].tolist()
    full = tok.decode([i for i, m in zip(ids, mask) if m])
    trained = tok.decode([i for i, lab in zip(ids, labels) if lab != -100])
    return full, trained


def _job(write_config, model, data, tmp_path, **extra):
    cfg = write_config(
        model=str(model), data=str(data), output_dir=str(tmp_path / "out"), seed=0, shuffle_dataset=False, **extra
    )
    return load_job("sft", cfg)


def test_dplus_labels_only_assistant_completion_turns(write_config, tiny_model, data_root, tmp_path):
    job = _job(write_config, tiny_model, data_root / "dplus", tmp_path)
    trainer = build_sft_trainer(job, "train", tmp_path / "out", job.model)
    rows = job.data["train"].train
    expected = {
        r["completion"][0]["content"] + "<|im_end|>" + r["completion"][2]["content"] + "<|im_end|>" for r in rows
    }
    for i in range(2):
        full, trained = _labelled_text(trainer, i)
        assert trained in expected
        # every row of the batch: exactly the reflection and the passing retry, each with its end-of-turn token
        assert trained.startswith("I computed") and trained.endswith("<|im_end|>")
        parts = trained.split("<|im_end|>")
        assert len(parts) == 3 and parts[2] == ""
        assert parts[1].startswith("Answer: ")
        assert RETRY_REQ in full and RETRY_REQ not in trained  # the user turn inside the completion is not trained
        assert "What is" not in trained and "incorrect" not in trained  # nor the prompt


@pytest.mark.parametrize("kind", ["reflection", "correction", "qa"])
def test_single_turn_completion_labels(write_config, tiny_model, data_root, tmp_path, kind):
    job = _job(write_config, tiny_model, data_root / kind, tmp_path)
    assert job.args.assistant_only_loss is False
    trainer = build_sft_trainer(job, "train", tmp_path / "out", job.model)
    completions = {r["completion"][0]["content"] for r in job.data["train"].train}
    for i in range(2):
        full, trained = _labelled_text(trainer, i)
        # the completion and the template's text after it (its end-of-turn token and newline), nothing before
        assert trained.endswith("<|im_end|>\n") and trained[: -len("<|im_end|>\n")] in completions
        assert full.endswith(trained)


def test_smollm2_style_template_with_shipped_markers(write_config, plain_template_model, data_root, tmp_path):
    """The plain SmolLM2 template + chat_template_path: smollm2-generation trains the assistant turns only, and
    the checkpoint keeps a template that renders like SmolLM2's."""
    job = _job(
        write_config, plain_template_model, data_root / "dplus", tmp_path, chat_template_path="smollm2-generation"
    )
    trainer = build_sft_trainer(job, "train", tmp_path / "out", job.model)
    full, trained = _labelled_text(trainer)
    assert full.startswith("<|im_start|>system\nYou are a helpful AI assistant named SmolLM")
    assert RETRY_REQ not in trained and len(trained.split("<|im_end|>")) == 3


def test_sft_one_stage_full_then_run(cli, write_config, tiny_model, data_root, tmp_path):
    out = tmp_path / "ckpt"
    r = cli(
        "train",
        "sft",
        "--config",
        write_config(model=str(tiny_model), data=str(data_root / "dplus"), output_dir=str(out)),
    )
    assert r.exit_code == 0, r.output
    rec = read_record(out)
    assert rec["trainer"] == "sft" and rec["stage"] == "one" and rec["saved"]["kind"] == "full"
    assert rec["base_model"]["path"] == str(tiny_model)
    card = json.loads((data_root / "dplus" / "card.json").read_text())
    assert rec["data"]["train"]["content_hash"] == card["content_hash"]
    assert rec["data"]["train"]["source_runs"] == ["run-test"]
    assert rec["config"]["trl"]["assistant_only_loss"] is True and rec["config"]["trl"]["max_steps"] == 2
    m = rec["metrics"]
    assert m["global_step"] == 2 and m["final_loss"] > 0 and m["seconds_per_step"] > 0 and m["runtime_s"] > 0
    assert {"transformers", "trl", "torch"} <= set(rec["package_versions"])
    assert "git_revision" in rec
    check_runs(cli, tmp_path, f"pretrained={out}")


def test_sft_one_stage_lora_merged(cli, write_config, tiny_model, data_root, tmp_path):
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    out = tmp_path / "ckpt"
    r = cli(
        "train",
        "sft",
        "--config",
        write_config(
            model=str(tiny_model),
            data=str(data_root / "dplus"),
            output_dir=str(out),
            learning_rate=1e-2,
            peft={"r": 4, "alpha": 8, "dropout": 0.0},
        ),
    )
    assert r.exit_code == 0, r.output
    rec = read_record(out)
    assert rec["saved"]["kind"] == "lora-merged" and rec["config"]["peft"]["r"] == 4
    assert (out / "config.json").is_file() and (out / "adapter" / "adapter_config.json").is_file()
    assert not (out / "adapter_config.json").exists()  # the top folder is a plain model
    ids = torch.tensor([[5, 17, 42, 99, 3]])
    merged = AutoModelForCausalLM.from_pretrained(out).eval()
    base = AutoModelForCausalLM.from_pretrained(tiny_model).eval()
    adapted = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(tiny_model), out / "adapter").eval()
    with torch.no_grad():
        lm, lb, la = merged(ids).logits, base(ids).logits, adapted(ids).logits
    assert torch.allclose(lm, la, atol=1e-4)
    assert not torch.allclose(lm, lb, atol=1e-4)  # training changed the model
    check_runs(cli, tmp_path, f"pretrained={out}")


@pytest.mark.parametrize("lora", [False, True])
def test_sft_two_stage(cli, write_config, tiny_model, data_root, tmp_path, lora):
    out = tmp_path / "ckpt"
    cfg = write_config(
        model=str(tiny_model),
        output_dir=str(out),
        data={"reflection": str(data_root / "reflection"), "correction": str(data_root / "correction")},
        **({"peft": {"r": 4}} if lora else {}),
    )
    r = cli("train", "sft", "--config", cfg, *(["--no-merge"] if lora else []))
    assert r.exit_code == 0, r.output
    rec = read_record(out)
    assert rec["stage"] == "two" and [s["stage"] for s in rec["stages"]] == ["reflection", "correction"]
    assert all(s["metrics"]["global_step"] == 2 for s in rec["stages"])
    assert set(rec["data"]) == {"reflection", "correction"}
    stage1 = out / "stage1-reflection"
    assert (stage1 / "reflectevo_stage.json").is_file()
    if lora:
        assert rec["saved"]["kind"] == "lora-adapter" and (out / "adapter_config.json").is_file()
        assert (stage1 / "adapter_config.json").is_file()
        check_runs(cli, tmp_path, f"pretrained={tiny_model},peft={out}")
    else:
        assert rec["saved"]["kind"] == "full" and (stage1 / "model.safetensors").is_file()
        check_runs(cli, tmp_path, f"pretrained={out}")


def test_resume_from_checkpoint(cli, write_config, tiny_model, data_root, tmp_path):
    out = tmp_path / "ckpt"
    cfg = write_config(
        model=str(tiny_model), data=str(data_root / "qa"), output_dir=str(out), save_strategy="steps", save_steps=2
    )
    r = cli("train", "sft", "--config", cfg)
    assert r.exit_code == 0, r.output
    assert (out / "checkpoint-2").is_dir() and read_record(out)["metrics"]["global_step"] == 2
    r = cli("train", "sft", "--config", cfg, "--set", "max_steps=4", "--set", "resume_from_checkpoint=true")
    assert r.exit_code == 0, r.output
    m = read_record(out)["metrics"]
    assert m["global_step"] == 4 and m["resumed_from_step"] == 2 and m["steps_this_session"] == 2
    assert (out / "checkpoint-4").is_dir()


def test_overfit_loss_falls(cli, write_config, tiny_model, tmp_path):
    data = write_data_dir(tmp_path / "overfit", "dplus", n=8)
    out = tmp_path / "ckpt"
    cfg = write_config(
        model=str(tiny_model),
        data=str(data),
        output_dir=str(out),
        max_steps=30,
        per_device_train_batch_size=8,
        learning_rate=1e-2,
        lr_scheduler_type="constant",
        seed=0,
    )
    r = cli("train", "sft", "--config", cfg)
    assert r.exit_code == 0, r.output
    m = read_record(out)["metrics"]
    assert len(m["loss_history"]) == 30
    assert m["final_loss"] < 0.5 * m["first_loss"], m["loss_history"]


def test_report_to_tensorboard(cli, write_config, tiny_model, data_root, tmp_path):
    pytest.importorskip("tensorboard")
    out = tmp_path / "ckpt"
    cfg = write_config(model=str(tiny_model), data=str(data_root / "qa"), output_dir=str(out), report_to="tensorboard")
    r = cli("train", "sft", "--config", cfg)
    assert r.exit_code == 0, r.output
    events = list(out.rglob("events.out.tfevents.*"))
    assert events and events[0].stat().st_size > 0


def test_two_stage_resume_skips_finished_stage_one(cli, write_config, tiny_model, data_root, tmp_path):
    out = tmp_path / "ckpt"
    cfg = write_config(
        model=str(tiny_model),
        output_dir=str(out),
        save_strategy="steps",
        save_steps=2,
        data={"reflection": str(data_root / "reflection"), "correction": str(data_root / "correction")},
    )
    assert cli("train", "sft", "--config", cfg).exit_code == 0
    first = read_record(out)
    r = cli("train", "sft", "--config", cfg, "--set", "max_steps=4", "--set", "resume_from_checkpoint=true")
    assert r.exit_code == 0, r.output
    rec = read_record(out)
    assert rec["stages"][0] == first["stages"][0]  # stage 1 was finished: not trained again
    m = rec["stages"][1]["metrics"]
    assert m["global_step"] == 4 and m["resumed_from_step"] == 2


def test_llama3_template_is_patched_by_trl(write_config, tiny_model, data_root, tmp_path):
    """The GPU recipe's path: Llama 3's own template has no markers; TRL swaps in its training template, so D+
    trains without chat_template_path, and the checkpoint keeps the original template."""
    import shutil
    from pathlib import Path

    import trl
    from transformers import AutoTokenizer

    template = (Path(trl.__file__).parent / "chat_templates" / "llama3.jinja").read_text()
    model = tmp_path / "tiny-llama3"
    shutil.copytree(tiny_model, model)
    tok = AutoTokenizer.from_pretrained(model)
    tok.chat_template = template
    tok.bos_token = "<|endoftext|>"
    tok.save_pretrained(model)
    job = _job(write_config, model, data_root / "dplus", tmp_path)
    assert job.args.assistant_only_loss is True and job.args.chat_template_path is None
    trainer = build_sft_trainer(job, "train", tmp_path / "out", job.model)
    full, trained = _labelled_text(trainer)
    assert "<|start_header_id|>assistant" in full
    assert trained.count("<|eot_id|>") == 2 and RETRY_REQ not in trained and "What is" not in trained
    assert trainer.processing_class.chat_template == template
