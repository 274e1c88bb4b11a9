"""``run``'s options come from one place, the ``RunOptions`` fields: the click options and the run identity are
generated from their metadata, and a resume is refused exactly when an identity option changed."""

from __future__ import annotations

import dataclasses
import inspect
import json
import re
import shutil
from pathlib import Path

import click
import pytest
import scripted_lm  # noqa: F401  (registers the scripted models)
from click.testing import CliRunner

from reflectevo_bench.cli import main
from reflectevo_bench.cli import run as run_command
from reflectevo_bench.defaults import DEFAULT_CHUNK_SIZE, DEFAULT_SEED, FEWSHOT_SEED
from reflectevo_bench.harness.run_options import (
    WHEN_SET,
    RunOptions,
    click_options,
    identity_fields,
    option,
    run_identity,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
SAMPLED = "do_sample=true,temperature=0.8"
SHARED = {"summary_format", "wandb_args", "tensorboard"}  # _results_options: shared with `results`
# what a run records today (run dirs written before must keep resuming): the options...
IDENTITY = [
    "model",
    "model_args",
    "reflector_model",
    "reflector_model_args",
    "tasks",
    "protocol",
    "attempts",
    "limit",
    "include_path",
    "seed",
    "gen_kwargs",
    "data_dir",
    "system_instruction",
    "num_fewshot",
    "fewshot_as_multiturn",
    "metadata",
    "split",
    "reflections",
    "samples",
    "reflection_pool",
    "reflection_instruction",
    "reflection_gen_kwargs",
]
COMPUTED = {"task_specs", "protocol_file"}  # ...and what is no option


def _cli_fields(cls: type = RunOptions) -> list[dataclasses.Field]:
    return [f for f in dataclasses.fields(cls) if f.metadata.get("cli")]


def _params(command: click.Command) -> dict[str, click.Parameter]:
    return {p.name: p for p in command.params}


def _parse(argv: list[str]) -> RunOptions:
    """``run``'s parsed command line as RunOptions (under main's context, as the CLI parses it: click caches the
    help option a command is first parsed with)."""
    with main.make_context("reflectevo-bench", ["run"]) as parent:
        ctx = run_command.make_context("run", argv, parent=parent)
    return RunOptions(**{k: v for k, v in ctx.params.items() if k not in ("wandb_args", "tensorboard")})


def test_every_cli_field_is_an_option_of_its_name_flag_help_and_default(monkeypatch):
    monkeypatch.delenv("REFLECTEVO_DATA_DIR", raising=False)
    params = _params(run_command)
    for f in _cli_fields():
        p = params[f.name]
        assert ("--" + f.name.replace("_", "-")) in p.opts, f.name
        assert p.help == (f.metadata["help"]() if callable(f.metadata["help"]) else f.metadata["help"]), f.name
    # nothing declared by hand beside them: every other option of `run` is one it shares with `results`
    assert set(params) - {f.name for f in _cli_fields()} == SHARED
    # no arguments at all: click hands over exactly the dataclass defaults
    assert _parse([]) == RunOptions()
    assert RunOptions().seed == DEFAULT_SEED and RunOptions().chunk_size == DEFAULT_CHUNK_SIZE


def test_every_option_reaches_its_field():
    argv = [
        "--seed", "7", "--batch-size", "2", "--limit", "0.5", "--include_path", "a", "--include-path", "b",
        "--no-fewshot-as-multiturn", "--log_samples", "--chunk-size", "3", "--attempts", "4", "--format", "json",
    ]  # fmt: skip
    opts = _parse(argv)
    assert (opts.seed, opts.batch_size, opts.limit, opts.include_path) == (7, "2", 0.5, ("a", "b"))
    assert (opts.fewshot_as_multiturn, opts.log_samples, opts.chunk_size, opts.attempts) == (False, True, 3, 4)
    assert opts.summary_format == "json"


def test_run_help_keeps_its_flags_and_types():
    text = CliRunner().invoke(main, ["run", "--help"], terminal_width=200).output
    for line in (
        "--limit N|FRACTION",
        "--include-path, --include_path DIR",
        "--log-samples, --log_samples",
        "--seed INTEGER",
        "--fewshot-as-multiturn / --no-fewshot-as-multiturn",
        "--reflection-instruction NAME",
        "--shard i/N",
        "[env var: REFLECTEVO_DATA_DIR]",
        "[default: 1234]",
    ):
        assert line in text, line
    flags = [f for f in re.findall(r"^  (--[a-z-]+)", text, re.M) if f != "--help"]  # "-h, --help" via main
    assert flags[:3] == ["--model", "--model-args", "--reflector-model"]  # field order is help order
    assert flags[-4:] == ["--shard", "--format", "--wandb-args", "--tensorboard"]


def test_a_new_field_with_metadata_becomes_an_option_and_an_identity_entry():
    @dataclasses.dataclass
    class Extended(RunOptions):
        min_p: float | None = option(None, "Sampling floor (a new knob).", identity=True)
        verbose: bool = option(False, "Say more.")

    made = dataclasses.make_dataclass(
        "Made", [("top_k", int, option(5, "Top k for attempt 1.", identity=True))], bases=(RunOptions,)
    )

    for cls, flag, shown in ((Extended, "--min-p FLOAT", "Sampling floor"), (made, "--top-k INTEGER", "[default: 5]")):
        command = click_options(cls)(click.command("run")(lambda **kw: click.echo(json.dumps(kw))))
        text = CliRunner().invoke(command, ["--help"], terminal_width=200).output
        assert flag in text and shown in text and "--reflection-gen-kwargs" in text
    command = click_options(Extended)(click.command("run")(lambda **kw: click.echo(json.dumps(kw))))
    parsed = json.loads(CliRunner().invoke(command, ["--min-p", "0.05", "--verbose"], env={}).output)
    assert parsed["min_p"] == 0.05 and parsed["verbose"] is True
    assert identity_fields(Extended) == IDENTITY + ["min_p"]
    assert identity_fields(made)[-1] == "top_k"
    assert run_identity(Extended(min_p=0.1), {}, {})["min_p"] == 0.1
    assert "verbose" not in run_identity(Extended(verbose=True), {}, {})


def test_the_identity_is_exactly_the_identity_fields():
    assert identity_fields() == IDENTITY
    ident = run_identity(RunOptions(), {"tasks": ["t"]}, {"task_specs": ["t"]})
    assert set(ident) == set(IDENTITY) - {"include_path"} | {"task_specs"}  # include_path: only when given
    assert ident["tasks"] == ["t"] and ident["seed"] == DEFAULT_SEED
    assert run_identity(RunOptions(include_path=("d",)), {}, {})["include_path"] == ("d",)
    assert [f.name for f in dataclasses.fields(RunOptions) if f.metadata["identity"] == WHEN_SET] == ["include_path"]
    with pytest.raises(ValueError, match="batch_size"):
        run_identity(RunOptions(), {"batch_size": 2}, {})  # not an identity field: cannot sneak in
    with pytest.raises(ValueError, match="seed"):
        run_identity(RunOptions(), {}, {"seed": 1})


def test_seeds_have_one_source():
    from lm_eval.evaluator import simple_evaluate

    from reflectevo_bench.experiment.spec import Spec
    from reflectevo_bench.harness.engine import EngineConfig
    from reflectevo_bench.harness.environment import set_seeds

    assert FEWSHOT_SEED == inspect.signature(simple_evaluate).parameters["fewshot_random_seed"].default
    assert set_seeds(99)["fewshot_seed"] == FEWSHOT_SEED  # --seed does not move the few-shot draw
    for cls in (EngineConfig, Spec):
        assert {f.name: f.default for f in dataclasses.fields(cls)}["seed"] == DEFAULT_SEED


# --- resume: refused exactly when an identity option changed ------------------------------------------------------


def _toy(folder: Path, name: str = "toy_scripted") -> Path:
    """The scripted toy task in ``folder``, named ``name``, its data path absolute."""
    folder.mkdir(parents=True, exist_ok=True)
    for f in ("toy_scripted.jsonl", "toy_verifier.py"):
        shutil.copy(FIXTURES / "toy" / f, folder / f)
    text = (FIXTURES / "toy" / "toy_scripted.yaml").read_text()
    text = text.replace("test: toy_scripted.jsonl", f"test: {folder / 'toy_scripted.jsonl'}")
    path = folder / f"{name}.yaml"
    path.write_text(text.replace("task: toy_scripted", f"task: {name}"))
    return path


def _run(out: Path, task: Path, *extra: str) -> tuple[int, str]:
    args = ["run", "--model", "scripted-test", "--tasks", str(task), "--gen-kwargs", SAMPLED, "--output", str(out)]
    res = CliRunner().invoke(main, [*args, *map(str, extra)], env={"REFLECTEVO_DATA_DIR": None})
    return res.exit_code, res.output


@pytest.fixture(scope="module")
def base_run(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("runopts")
    task = _toy(root / "toy")
    code, output = _run(root / "run", task)
    assert code == 0, output
    return root, task


def test_the_recorded_identity_is_what_older_run_dirs_hold(base_run):
    root, task = base_run
    recorded = json.loads((root / "run" / "run.json").read_text())["identity"]
    assert recorded == {  # as written before the options were generated: such run dirs must still resume
        "model": "scripted-test",
        "model_args": "",
        "reflector_model": None,
        "reflector_model_args": None,
        "tasks": ["toy_scripted"],
        "task_specs": [str(task)],
        "protocol": "reflect",
        "attempts": 2,
        "limit": None,
        "seed": 1234,
        "gen_kwargs": {"do_sample": True, "temperature": 0.8},
        "system_instruction": None,
        "data_dir": None,
        "num_fewshot": None,
        "metadata": {},
        "split": None,
        "reflections": 1,
        "samples": 1,
        "fewshot_as_multiturn": None,
        "reflection_pool": None,
        "reflection_gen_kwargs": {},
        "reflection_instruction": None,
    }


def _changed(root: Path, task: Path) -> dict[str, list[str]]:
    """Per identity option, a resume command line that changes it (and only what it implies)."""
    other = _toy(root / "other", "toy_other")
    return {
        "model": ["--model", "scripted-branch"],
        "model_args": ["--model-args", "x=1"],
        "reflector_model": ["--reflector-model", "scripted-reflector"],
        "reflector_model_args": ["--reflector-model-args", "x=1"],
        "tasks": ["--tasks", f"{task},{other}"],
        "protocol": ["--protocol", "retry"],
        "attempts": ["--attempts", "3"],
        "limit": ["--limit", "3"],
        "include_path": ["--include-path", root / "other"],
        "seed": ["--seed", "7"],
        "gen_kwargs": ["--gen-kwargs", "do_sample=true,temperature=0.7"],
        "data_dir": ["--data-dir", root / "other"],
        "system_instruction": ["--system-instruction", "Be brief."],
        "num_fewshot": ["--num-fewshot", "0"],
        "metadata": ["--metadata", "numbers=4"],
        "split": ["--split", "test"],
        "reflections": ["--reflections", "2"],
        "samples": ["--samples", "2"],
        "reflection_pool": ["--reflection-pool", "reflectevo"],
        "reflection_instruction": ["--reflection-instruction", "1"],
        "reflection_gen_kwargs": ["--reflection-gen-kwargs", "temperature=0.9"],
    }


def test_changing_any_identity_option_refuses_the_resume(base_run):
    root, task = base_run
    changed = _changed(root, task)
    # every identity option is tried (fewshot_as_multiturn counts only with few-shot: its own test below)
    assert set(changed) == set(identity_fields()) - {"fewshot_as_multiturn"}
    for name, args in changed.items():
        code, output = _run(root / "run", task, "--resume", *args)
        assert code == 2, (name, output)
        differs = re.search(r"differs in: ([a-z_, ]+)\)", output)
        assert differs and name in differs.group(1).split(", "), (name, output)


def test_changing_other_options_resumes(base_run):
    root, task = base_run
    others = {
        "batch_size": ["--batch-size", "2"],
        "chunk_size": ["--chunk-size", "2"],
        "device": ["--device", "cpu"],
        "log_samples": ["--log-samples"],
        "summary_format": ["--format", "json"],
        "fewshot_as_multiturn": ["--no-fewshot-as-multiturn"],  # no task here uses few-shot: not recorded
    }
    non_identity = {f.name for f in dataclasses.fields(RunOptions) if not f.metadata["identity"]}
    assert non_identity == set(others) - {"fewshot_as_multiturn"} | {"output", "resume", "shard"}
    code, output = _run(root / "run", task, "--resume", *[a for args in others.values() for a in args])
    assert code == 0, output
    assert "resuming: 5 docs already finished, 0 to go" in output


def test_fewshot_as_multiturn_is_identity_when_a_task_uses_few_shot(tmp_path):
    task = _toy(tmp_path / "toy")
    code, output = _run(tmp_path / "run", task, "--num-fewshot", "1", "--limit", "2")
    assert code == 0, output
    code, output = _run(
        tmp_path / "run", task, "--num-fewshot", "1", "--limit", "2", "--resume", "--no-fewshot-as-multiturn"
    )
    assert code == 2 and "differs in: fewshot_as_multiturn)" in output, output


def test_command_line_gives_every_option_back(monkeypatch):
    """Isolated experiment stages run `run` in a subprocess from RunOptions: every option set away from its default
    (each field with a flag, whatever its type) reaches the command line and parses back to the same options."""
    monkeypatch.delenv("REFLECTEVO_DATA_DIR", raising=False)  # --data-dir's default comes from it
    from reflectevo_bench.experiment.execute import run_argv
    from reflectevo_bench.harness.run_options import command_line

    opts = RunOptions(
        model="vllm",
        model_args="pretrained=x",
        tasks="a,b",
        protocol="retry",
        attempts=3,
        limit=0.5,
        include_path=("d1", "d2"),
        log_samples=True,
        seed=7,
        batch_size="auto",
        fewshot_as_multiturn=False,
        num_fewshot=2,
        samples=4,
        metadata="num_examples=9",
        shard="0/2",
    )
    argv = command_line(opts)
    assert argv[argv.index("--include-path") + 1 :][:3] == ["d1", "--include-path", "d2"]
    assert "--no-fewshot-as-multiturn" in argv and "--log-samples" in argv and "--seed" in argv
    assert command_line(RunOptions()) == []
    assert run_argv(opts)[-len(argv) :] == argv
    assert _parse(argv) == dataclasses.replace(opts, summary_format=RunOptions().summary_format)
