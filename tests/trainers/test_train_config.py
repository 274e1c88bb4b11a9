"""`train sft|dpo` config handling: bad inputs give one line and exit 2 with nothing written; templates; --set."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from train_datafiles import write_data_dir
from train_templates_ref import SMOLLM2_TEMPLATE

from reflectevo_bench.trainers.config import SHIPPED_TEMPLATES, load_job

CONVERSATION = [
    {"role": "user", "content": "What is 2 + 3?"},
    {"role": "assistant", "content": "Answer: 6"},
    {"role": "user", "content": "Your answer is incorrect. Reflect."},
    {"role": "assistant", "content": "I added wrongly."},
    {"role": "user", "content": "Try again."},
    {"role": "assistant", "content": "Answer: 5"},
]


def _render(template: str, messages, add_generation_prompt=False) -> str:
    from transformers.utils.chat_template_utils import render_jinja_template

    rendered, _ = render_jinja_template(
        conversations=[messages], chat_template=template, add_generation_prompt=add_generation_prompt
    )
    return rendered[0]


@pytest.mark.parametrize("with_system", [False, True])
@pytest.mark.parametrize("gen_prompt", [False, True])
def test_smollm2_generation_template_renders_like_smollm2(with_system, gen_prompt):
    shipped = SHIPPED_TEMPLATES["smollm2-generation"].read_text()
    msgs = ([{"role": "system", "content": "Be brief."}] if with_system else []) + CONVERSATION
    for n in range(1, len(msgs) + 1):
        assert _render(shipped, msgs[:n], gen_prompt) == _render(SMOLLM2_TEMPLATE, msgs[:n], gen_prompt)
    assert "{% generation %}" in shipped


def test_smollm2_generation_template_matches_prepared_model():
    from reflectevo_bench.models.smollm2 import FOLDER_NAME, default_cache_dir

    cfg = default_cache_dir() / FOLDER_NAME / "tokenizer_config.json"
    if not cfg.is_file():
        pytest.skip("SmolLM2 not prepared (reflectevo-bench models fetch smollm2-135m)")
    assert json.loads(cfg.read_text())["chat_template"] == SMOLLM2_TEMPLATE


def test_chatml_generation_template_renders_like_tiny_template():
    from reflectevo_bench.models.tiny import CHAT_TEMPLATE

    shipped = SHIPPED_TEMPLATES["chatml-generation"].read_text()
    for n in range(1, len(CONVERSATION) + 1):
        for gp in (False, True):
            assert _render(shipped, CONVERSATION[:n], gp) == _render(CHAT_TEMPLATE, CONVERSATION[:n], gp)


def test_marker_template_masks_only_assistant_turns(plain_template_model):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(plain_template_model)
    out = tok.apply_chat_template(
        CONVERSATION,
        chat_template=SHIPPED_TEMPLATES["smollm2-generation"].read_text(),
        tokenize=True,
        return_dict=True,
        return_assistant_tokens_mask=True,
    )
    trained = tok.decode([t for t, m in zip(out["input_ids"], out["assistant_masks"]) if m])
    assert trained == "Answer: 6<|im_end|>I added wrongly.<|im_end|>Answer: 5<|im_end|>"


# --- bad inputs -----------------------------------------------------------------------------------------------------


def _assert_refused(result, out: Path, *words: str):
    assert result.exit_code == 2, result.output
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for w in words:
        assert w in lines[0], lines[0]
    assert not out.exists()


def test_missing_data_dir(cli, write_config, tiny_model, tmp_path):
    out = tmp_path / "out"
    cfg = write_config(model=str(tiny_model), data=str(tmp_path / "nope"), output_dir=str(out))
    _assert_refused(cli("train", "sft", "--config", cfg), out, "does not exist")


def test_empty_train_jsonl(cli, write_config, tiny_model, tmp_path):
    d = write_data_dir(tmp_path / "empty", "dplus", n=0)
    out = tmp_path / "out"
    _assert_refused(
        cli("train", "sft", "--config", write_config(model=str(tiny_model), data=str(d), output_dir=str(out))),
        out,
        "no rows",
    )


@pytest.mark.parametrize(
    "trainer,kind,word",
    [
        ("sft", "dpm", "train dpo"),
        ("sft", "dpref", "train dpo"),
        ("dpo", "dplus", "train sft"),
        ("dpo", "qa", "train sft"),
        ("sft", "failures", "train grpo"),
        ("dpo", "failures", "train grpo"),
    ],
)
def test_wrong_kind(cli, write_config, tiny_model, data_root, tmp_path, trainer, kind, word):
    out = tmp_path / "out"
    cfg = write_config(model=str(tiny_model), data=str(data_root / kind), output_dir=str(out))
    _assert_refused(cli("train", trainer, "--config", cfg), out, kind, word)


def test_unknown_config_key(cli, write_config, tiny_model, data_root, tmp_path):
    out = tmp_path / "out"
    cfg = write_config(model=str(tiny_model), data=str(data_root / "dplus"), output_dir=str(out), learning_rte=1e-4)
    _assert_refused(cli("train", "sft", "--config", cfg), out, "learning_rte", "learning_rate")


def test_unknown_set_key(cli, write_config, tiny_model, data_root, tmp_path):
    out = tmp_path / "out"
    cfg = write_config(model=str(tiny_model), data=str(data_root / "dpm"), output_dir=str(out))
    _assert_refused(cli("train", "dpo", "--config", cfg, "--set", "betta=0.2"), out, "betta")


def test_sft_only_key_in_dpo(cli, write_config, tiny_model, data_root, tmp_path):
    out = tmp_path / "out"
    cfg = write_config(
        model=str(tiny_model), data=str(data_root / "dpm"), output_dir=str(out), assistant_only_loss=True
    )
    _assert_refused(cli("train", "dpo", "--config", cfg), out, "assistant_only_loss")


def test_template_without_markers_refused(cli, write_config, plain_template_model, data_root, tmp_path):
    out = tmp_path / "out"
    cfg = write_config(model=str(plain_template_model), data=str(data_root / "dplus"), output_dir=str(out))
    _assert_refused(cli("train", "sft", "--config", cfg), out, "generation", "chat_template_path: smollm2-generation")


def test_template_without_markers_fine_for_single_message_completions(
    write_config, plain_template_model, data_root, tmp_path
):
    job = load_job(
        "sft",
        write_config(
            model=str(plain_template_model), data=str(data_root / "reflection"), output_dir=str(tmp_path / "out")
        ),
    )
    assert job.args.assistant_only_loss is False


def test_shipped_template_fixes_dplus(write_config, plain_template_model, data_root, tmp_path):
    job = load_job(
        "sft",
        write_config(
            model=str(plain_template_model),
            data=str(data_root / "dplus"),
            output_dir=str(tmp_path / "out"),
            chat_template_path="smollm2-generation",
        ),
    )
    assert job.args.assistant_only_loss is True
    assert job.args.chat_template_path == str(SHIPPED_TEMPLATES["smollm2-generation"])


def test_dplus_refuses_assistant_only_loss_false(cli, write_config, tiny_model, data_root, tmp_path):
    out = tmp_path / "out"
    cfg = write_config(
        model=str(tiny_model), data=str(data_root / "dplus"), output_dir=str(out), assistant_only_loss=False
    )
    _assert_refused(cli("train", "sft", "--config", cfg), out, "assistant_only_loss")


@pytest.mark.parametrize(
    "extra,words",
    [
        ({"stage": "two"}, ("stage two",)),
        ({"stage": "three"}, ("stage",)),
        ({"peft": {"rank": 8}}, ("rank",)),
        ({"merge": "yes"}, ("merge",)),
        ({"model": None}, ("model",)),
        ({"learning_rate": "fast"}, ("learning_rate",)),
    ],
)
def test_bad_own_keys(cli, write_config, tiny_model, data_root, tmp_path, extra, words):
    out = tmp_path / "out"
    cfg = write_config(**{"model": str(tiny_model), "data": str(data_root / "dplus"), "output_dir": str(out), **extra})
    _assert_refused(cli("train", "sft", "--config", cfg), out, *words)


def test_two_stage_wrong_dirs(cli, write_config, tiny_model, data_root, tmp_path):
    out = tmp_path / "out"
    cfg = write_config(
        model=str(tiny_model),
        output_dir=str(out),
        data={"reflection": str(data_root / "correction"), "correction": str(data_root / "correction")},
    )
    _assert_refused(cli("train", "sft", "--config", cfg), out, "data.reflection", "correction")


def test_missing_config_and_bad_yaml(cli, tmp_path):
    r = cli("train", "sft", "--config", tmp_path / "none.yaml")
    assert r.exit_code == 2 and "does not exist" in r.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: [unclosed\n")
    r = cli("train", "sft", "--config", bad)
    assert r.exit_code == 2 and "not valid YAML" in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_unknown_model(cli, write_config, data_root, tmp_path):
    out = tmp_path / "out"
    cfg = write_config(model=str(tmp_path / "no-model"), data=str(data_root / "dplus"), output_dir=str(out))
    _assert_refused(cli("train", "sft", "--config", cfg), out, "no-model")


def test_nonempty_output_dir_needs_resume(cli, write_config, tiny_model, data_root, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "something").write_text("x")
    cfg = write_config(model=str(tiny_model), data=str(data_root / "dplus"), output_dir=str(out))
    r = cli("train", "sft", "--config", cfg)
    assert r.exit_code == 2 and "resume_from_checkpoint" in r.stderr
    assert sorted(p.name for p in out.iterdir()) == ["something"]


# --- overrides and defaults -----------------------------------------------------------------------------------------


def test_set_overrides_are_typed(write_config, tiny_model, data_root, tmp_path):
    cfg = write_config(model=str(tiny_model), data=str(data_root / "dplus"), peft={"r": 4})
    job = load_job(
        "sft",
        cfg,
        [
            "learning_rate=3e-4",
            "max_steps=7",
            "bf16=false",
            f"output_dir={tmp_path / 'o'}",
            "peft.alpha=16",
            "peft.target_modules=q_proj,v_proj",
            "merge=false",
        ],
    )
    assert job.args.learning_rate == 3e-4 and job.args.max_steps == 7 and job.args.bf16 is False
    assert job.peft["r"] == 4 and job.peft["lora_alpha"] == 16 and job.peft["target_modules"] == ["q_proj", "v_proj"]
    assert job.merge is False
    assert job.output_dir == tmp_path / "o"


def test_cpu_defaults_and_default_output_dir(write_config, tiny_model, data_root):
    import torch

    job = load_job("dpo", write_config(model=str(tiny_model), data=str(data_root / "dpm")))
    assert job.args.report_to in ([], "none", ["none"])
    assert job.args.output_dir.startswith("outputs/dpo-")
    if not torch.cuda.is_available():
        assert job.args.bf16 is False and job.args.use_cpu is True
        assert job.args.gradient_checkpointing is False


def test_two_stage_set_data(write_config, tiny_model, data_root, tmp_path):
    cfg = write_config(model=str(tiny_model), data=str(data_root / "dplus"), output_dir=str(tmp_path / "o"))
    job = load_job(
        "sft",
        cfg,
        ["stage=two", f"data.reflection={data_root / 'reflection'}", f"data.correction={data_root / 'correction'}"],
    )
    assert job.stage == "two" and set(job.data) == {"reflection", "correction"}


def test_dry_run_prints_config_and_writes_nothing(cli, write_config, tiny_model, data_root, tmp_path):
    out = tmp_path / "out"
    r = cli(
        "train",
        "sft",
        "--config",
        write_config(model=str(tiny_model), data=str(data_root / "dplus"), output_dir=str(out)),
        "--dry-run",
    )
    assert r.exit_code == 0, r.output
    resolved = json.loads(r.stdout)
    assert resolved["trl"]["assistant_only_loss"] is True and resolved["stage"] == "one"
    assert not out.exists()


def test_accelerate_configs_load():
    from accelerate.commands.config.config_args import load_config_from_file

    from reflectevo_bench.trainers.config import ACCELERATE_CONFIGS

    assert set(ACCELERATE_CONFIGS) == {"ddp", "zero2", "zero3", "fsdp"}
    kinds = {name: load_config_from_file(str(p)).distributed_type.value for name, p in ACCELERATE_CONFIGS.items()}
    assert kinds == {"ddp": "MULTI_GPU", "zero2": "DEEPSPEED", "zero3": "DEEPSPEED", "fsdp": "FSDP"}


def test_train_configs_command(cli):
    r = cli("train", "configs")
    assert r.exit_code == 0 and "zero3" in r.stdout
    r = cli("train", "configs", "zero3")
    assert r.exit_code == 0 and Path(r.stdout.strip()).is_file()
    r = cli("train", "configs", "zero4")
    assert r.exit_code == 2


@pytest.mark.parametrize("name", ["llama3-8b-dplus", "smollm2-dplus-lora", "smollm2-dpm-dpo-lora"])
def test_shipped_recipes_parse(name, tiny_model, data_root, tmp_path):
    from reflectevo_bench.trainers.config import RECIPES

    trainer = "dpo" if "dpo" in name else "sft"
    data = data_root / ("dpm" if trainer == "dpo" else "dplus")
    sets = [
        f"model={tiny_model}",
        f"data={data}",
        f"output_dir={tmp_path / 'o'}",
        "bf16=false",
        "gradient_checkpointing=false",
        "report_to=none",
    ]
    job = load_job(trainer, RECIPES[name], sets)
    assert job.args.output_dir == str(tmp_path / "o")
    if trainer == "sft":
        assert job.args.assistant_only_loss is True
