"""The options of ``reflectevo-bench run``, declared once.

Each ``RunOptions`` field says, through ``option(...)``, its help text, how the command line spells it and whether
it belongs to the run's identity (what a resumed run must match exactly). The ``run`` command's click options
(``click_options``) and the identity recorded in ``run.json`` (``run_identity``) are generated from those fields,
so a new option is one field here. Kept light (no torch, no lm-eval): the CLI imports it to build ``run``.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import click

from reflectevo_bench.defaults import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_CHUNK_SIZE,
    DEFAULT_LIMIT,
    DEFAULT_SEED,
    DEFAULT_TASKS,
    FEWSHOT_AS_MULTITURN,
)

F = TypeVar("F", bound=Callable[..., Any])

# ``identity=WHEN_SET``: recorded only when given -- a key added after run dirs were written, so older run dirs,
# which lack it, still match when the option is unused
WHEN_SET = "when-set"


class LimitType(click.ParamType):
    """``--limit`` as lm-eval reads it: an int is N docs, a float in (0, 1) that fraction of each task's docs."""

    name = "N|FRACTION"

    def convert(self, value: Any, param: Any, ctx: Any) -> int | float:
        if isinstance(value, (int, float)):
            return value
        text = str(value).strip()
        try:
            return int(text)
        except ValueError:
            pass
        try:
            number = float(text)
        except ValueError:
            self.fail(f"{value!r} is neither a whole number of docs nor a fraction such as 0.1", param, ctx)
        if number.is_integer() and number >= 1:
            return int(number)
        if not 0 < number < 1:
            self.fail(f"{value!r}: a fraction must lie between 0 and 1 (or give a whole number of docs)", param, ctx)
        return number


def option(
    default: Any,
    help: str | Callable[[], str] | None = None,
    *,
    identity: bool | str = False,
    flags: tuple[str, ...] = (),
    cli: bool = True,
    **click_kwargs: Any,
) -> Any:
    """A ``RunOptions`` field. ``help``: its ``run --help`` text (or a function giving it when the command is
    built). ``identity``: part of the run identity (``True``, or ``WHEN_SET``). ``flags``: the option's
    declarations (default ``--field-name``). ``cli=False``: no option generated (another decorator declares it).
    ``click_kwargs`` go to ``click.option`` over what the field's type implies (an int or float type, a bool:
    a flag, a tuple: repeatable)."""
    spec = {"flags": flags, **click_kwargs} if cli else None
    return dataclasses.field(default=default, metadata={"help": help, "identity": identity, "cli": spec})


def _protocol_help() -> str:
    from reflectevo_bench.harness.protocols import help_text

    return help_text()


@dataclass
class RunOptions:
    """Everything ``run`` takes; the field order is the order of ``run --help``."""

    model: str = option("hf", "lm-eval model type: hf, vllm, local-chat-completions, ...", identity=True)
    model_args: str | None = option(None, "K=V,... for the model (hf default: SmolLM2-135M-Instruct).", identity=True)
    reflector_model: str | None = option(None, "A separate model type that writes the reflection turns.", identity=True)
    reflector_model_args: str | None = option(None, "K=V,... for the Reflector model.", identity=True)
    tasks: str | None = option(
        None, f"Task names or YAML paths, comma-separated (default: {DEFAULT_TASKS}).", identity=True
    )
    protocol: str = option("reflect", _protocol_help, identity=True)
    attempts: int | None = option(None, "Rounds K (default 2; 1 for single).", identity=True)
    limit: int | float | None = option(
        None,
        "First N docs per task, or a fraction in (0, 1) of each task's docs, as lm-eval's --limit "
        f"(default {DEFAULT_LIMIT} with no --tasks).",
        identity=True,
        type=LimitType(),
    )
    include_path: tuple[str, ...] = option(
        (),
        "A folder of task YAMLs whose names --tasks may use (as lm-eval's --include_path); repeatable.",
        identity=WHEN_SET,
        flags=("--include-path", "--include_path"),
        metavar="DIR",
    )
    log_samples: bool = option(
        False,
        "Accepted for lm-eval users: samples are always logged (samples_<task>.jsonl).",
        flags=("--log-samples", "--log_samples"),
    )
    seed: int = option(DEFAULT_SEED, identity=True)
    batch_size: str = option(DEFAULT_BATCH_SIZE, "Backend batch size, or auto.")
    gen_kwargs: str | None = option(
        None, "K=V,... over the task's (default do_sample=False,max_gen_toks=512).", identity=True
    )
    data_dir: str | None = option(
        None,
        "Folder with local benchmark files (instead of the hub).",
        identity=True,
        envvar="REFLECTEVO_DATA_DIR",
        show_envvar=True,
    )
    output: str | None = option(None, "Run dir (default runs/<time>-<protocol>).")
    resume: bool = option(False, "Continue the run in --output without redoing finished docs.")
    chunk_size: int = option(DEFAULT_CHUNK_SIZE, "Docs per chunk (one call per phase per chunk).")
    system_instruction: str | None = option(None, "System message for every conversation.", identity=True)
    device: str | None = option(None, "Device for hf models (default: cuda if available, else cpu).")
    num_fewshot: int | None = option(None, "Few-shot examples per prompt (overrides the task's).", identity=True)
    fewshot_as_multiturn: bool = option(
        FEWSHOT_AS_MULTITURN,
        "Few-shot exemplars as user/assistant turns (stock lm-eval's default) or in one user turn.",
        identity=True,
        flags=("--fewshot-as-multiturn/--no-fewshot-as-multiturn",),
    )
    metadata: str | None = option(
        None,
        "Merged into every task's metadata / dataset hook (as lm-eval's --metadata): a JSON object or "
        "key=value,... e.g. num_examples=2000,max_target=500 (countdown's generator, xlam_fc's test_size).",
        identity=True,
    )
    split: str | None = option(
        None, "Dataset split to run on (default: the task's test split, else validation).", identity=True
    )
    reflections: int = option(
        1,
        "Reflection branches per doc that goes on after attempt 1, each with its own retry (needs sampling).",
        identity=True,
    )
    samples: int = option(
        1,
        "Attempt-1 answers sampled per doc, all recorded (failure mining for `data build --kind failures`; "
        "needs sampling); sample 1 goes on through the protocol.",
        identity=True,
    )
    reflection_pool: str | None = option(
        None,
        "YAML list of reflection-request templates, one drawn per doc (or the built-in 'reflectevo').",
        identity=True,
    )
    reflection_instruction: str | None = option(
        None,
        "Use this one pool entry (its name, or index) for every doc instead of a per-doc draw.",
        identity=True,
        metavar="NAME",
    )
    reflection_gen_kwargs: str | None = option(
        None,
        "K=V,... over --gen-kwargs for reflection turns only (ReflectEvo: do_sample=true,temperature=0.8).",
        identity=True,
    )
    shard: str | None = option(
        None,
        "Run shard i of N (i from 0) into the shared --output; default: RANK/WORLD_SIZE or "
        "SLURM_PROCID/SLURM_NTASKS when the launcher starts several processes. The last shard merges.",
        metavar="i/N",
    )
    # the printed summary: auto (a table on a TTY, else md), table, md or json; its --format option is shared
    # with `results` (cli._results_options)
    summary_format: str = option("auto", cli=False)


def _default(f: dataclasses.Field) -> Any:
    return f.default_factory() if f.default is dataclasses.MISSING else f.default  # type: ignore[misc]


def _click_option(f: dataclasses.Field, hint: Any) -> Callable[[F], F]:
    spec = dict(f.metadata["cli"])
    flags = spec.pop("flags") or ("--" + f.name.replace("_", "-"),)
    help = f.metadata.get("help")
    kwargs: dict[str, Any] = {"help": help() if callable(help) else help}
    optional = typing.get_origin(hint) in (typing.Union, types.UnionType)
    base = [a for a in typing.get_args(hint) if a is not type(None)] if optional else [hint]
    default = _default(f)
    if typing.get_origin(hint) is tuple:
        kwargs["multiple"] = True
    elif hint is bool and "/" not in flags[0]:
        kwargs["is_flag"] = True
    elif len(base) == 1 and base[0] in (int, float):
        kwargs["type"] = base[0]
    if default is not False and default != ():  # else click's own default for a flag / a repeatable option
        kwargs["default"] = default
    if default is not None and default is not False and default != ():
        kwargs["show_default"] = True
    kwargs.update(spec)
    return click.option(*flags, f.name, **kwargs)


def click_options(cls: type = RunOptions) -> Callable[[F], F]:
    """A decorator adding one click option per field of ``cls`` that has CLI metadata, in field order."""
    hints = typing.get_type_hints(cls)
    decorators = [_click_option(f, hints[f.name]) for f in dataclasses.fields(cls) if f.metadata.get("cli")]

    def apply(command: F) -> F:
        for decorate in reversed(decorators):
            command = decorate(command)
        return command

    return apply


def identity_fields(cls: type = RunOptions) -> list[str]:
    """The fields that belong to the run identity, in field order."""
    return [f.name for f in dataclasses.fields(cls) if f.metadata.get("identity")]


def run_identity(opts: Any, resolved: Mapping[str, Any], computed: Mapping[str, Any]) -> dict[str, Any]:
    """The identity recorded in ``run.json``: every identity field of ``opts``, as ``resolved`` gives it where the
    run resolved it (parsed kwargs, an absolute path, the protocol's name), else as given; then ``computed``,
    entries that are no option (e.g. ``task_specs``). A ``WHEN_SET`` field left empty is left out."""
    names = identity_fields(type(opts))
    stray = sorted(set(resolved) - set(names)) + sorted(set(computed) & set(names))
    if stray:
        raise ValueError(f"not identity fields of {type(opts).__name__} (or given twice): {', '.join(stray)}")
    out: dict[str, Any] = {}
    for f in dataclasses.fields(opts):
        if not f.metadata.get("identity"):
            continue
        value = resolved[f.name] if f.name in resolved else getattr(opts, f.name)
        if f.metadata["identity"] == WHEN_SET and not value:
            continue
        out[f.name] = value
    return {**out, **computed}


def command_line(opts: Any) -> list[str]:
    """The ``run`` arguments that give ``opts`` back: each field with an option whose value differs from its
    default, spelled by its first flag (a tuple field repeated, a bool by its on or off flag)."""
    hints = typing.get_type_hints(type(opts))
    argv: list[str] = []
    for f in dataclasses.fields(opts):
        spec = f.metadata.get("cli")
        value = getattr(opts, f.name)
        if spec is None or value == _default(f):
            continue
        flag = (spec.get("flags") or ("--" + f.name.replace("_", "-"),))[0]
        if hints[f.name] is bool:
            on, _, off = flag.partition("/")
            argv.append(on if value else off)
            if not value and not off:
                raise ValueError(f"--{f.name} has no off flag")  # a plain flag's default is False
        elif typing.get_origin(hints[f.name]) is tuple:
            for item in value:
                argv += [flag, str(item)]
        else:
            argv += [flag, str(value)]
    return argv
