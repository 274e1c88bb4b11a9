"""`train NAME --config FILE.yaml [--set key=value ...]` (NAME: a registered trainer): one YAML → a validated `TrainJob`.

The YAML holds TRL's own `SFTConfig` / `DPOConfig` keys (parsed with TRL's `TrlParser`, so a TRL config carries
over) plus the keys of this project:

    model: smollm2-135m          # a local folder, an alias (smollm2-135m, tiny), or a hub id when online
    data: runs/data/dplus        # a `data build` dir; for `stage: two` a mapping {reflection: DIR, correction: DIR}
    stage: one                   # two-stage trainers: one | two (default: two when `data` is a mapping, else one)
    peft: {r: 16, alpha: 32, dropout: 0.05, target_modules: all-linear}   # optional LoRA (null: full fine-tune)
    merge: true                  # LoRA: merge the adapter into the saved checkpoint (false keeps the adapter)

plus the trainer's own keys, which its registry record lists (`trainers.registry`, `trainers.keys`) with their
defaults and checks; the job holds them in ``options`` and reads them as attributes (``job.KEY``).

`--set key=value` overrides any key; TRL keys are typed by TRL's argument parser (the dataclass field types), the
project's keys by YAML (`--set peft.r=8`, `--set data.correction=DIR`, `--set peft=null`).
Everything is checked before anything is written: bad input raises `BenchError` (one line, exit 2).
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from reflectevo_bench.errors import BenchError, one_line
from reflectevo_bench.trainers.data.datadir import NOTES, DataDir, read_card
from reflectevo_bench.trainers.data.datadir import read_data_dir as read_rows_of
from reflectevo_bench.trainers.keys import SHARED_KEYS
from reflectevo_bench.yaml_files import read_yaml

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
# short names for the chat templates shipped in trainers/templates (usable as `chat_template_path`)
SHIPPED_TEMPLATES = {
    "smollm2-generation": TEMPLATES_DIR / "smollm2_generation.jinja",
    "mistral-v0.2-generation": TEMPLATES_DIR / "mistral_v02_generation.jinja",
    "chatml-generation": TEMPLATES_DIR / "chatml_generation.jinja",
}
ACCELERATE_DIR = Path(__file__).resolve().parent / "accelerate"
# accelerate launch --config_file <one of these> -m reflectevo_bench train sft ...
ACCELERATE_CONFIGS = {p.stem: p for p in sorted(ACCELERATE_DIR.glob("*.yaml"))}
RECIPES_DIR = Path(__file__).resolve().parent / "recipes"
RECIPES = {p.stem: p for p in sorted(RECIPES_DIR.glob("*.yaml"))}
LORA_DEFAULTS = {"r": 16, "lora_alpha": 32, "lora_dropout": 0.05, "target_modules": "all-linear"}
LORA_ALIASES = {"alpha": "lora_alpha", "dropout": "lora_dropout"}
CHECKPOINT_FILE = "reflectevo_checkpoint.json"
STAGE_FILE = "reflectevo_stage.json"


@dataclass
class TrainJob:
    trainer: str  # a registered trainer's name (trainers.registry): sft, dpo, grpo, ...
    model: str  # resolved local folder (or hub id)
    model_spec: str  # as written in the config
    stage: str  # "one" | "two" (two-stage trainers only)
    data: dict[str, DataDir]  # {"train": ...} or {"reflection": ..., "correction": ...}
    peft: dict[str, Any] | None
    merge: bool
    args: Any  # the trainer's TRL config (SFTConfig, DPOConfig, GRPOConfig, ...)
    resume: bool | str | None
    config_file: Path
    explicit_keys: list[str] = field(default_factory=list)
    overrides: list[str] = field(default_factory=list)
    options: dict[str, Any] = field(default_factory=dict)  # the trainer's own keys (its registry record's), checked

    def __getattr__(self, name: str) -> Any:
        """A trainer's own key reads as an attribute: ``job.objective`` is ``job.options["objective"]``."""
        options = self.__dict__.get("options") or {}
        if name in options:
            return options[name]
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")

    @property
    def output_dir(self) -> Path:
        return Path(self.args.output_dir)

    def resolved_config(self) -> dict[str, Any]:
        """Every setting of the job: the project's keys plus the full TRL config (tokens hidden by TRL)."""
        data: Any = {k: str(d.path) for k, d in self.data.items()}
        if self.stage == "one":
            data = data["train"]
        return {
            "model": self.model_spec,
            "data": data,
            "stage": self.stage,
            "peft": self.peft,
            "merge": self.merge,
            **self.options,
            "trl": _jsonable(self.args.to_dict()),
        }


def config_class(trainer: str):
    from reflectevo_bench.trainers.registry import get

    return get(trainer).config_class()


def own_keys(trainer: str | None = None) -> tuple[str, ...]:
    """The project's config keys (not TRL's): the shared ones plus ``trainer``'s own (every trainer's when None)."""
    from reflectevo_bench.trainers.registry import trainers

    specs = [_spec(trainer)] if trainer is not None else list(trainers().values())
    return SHARED_KEYS + tuple(dict.fromkeys(k.name for spec in specs for k in spec.keys))


def __getattr__(name: str) -> Any:
    # OWN_KEYS: every registered trainer's keys (plugins included), read when asked for
    if name == "OWN_KEYS":
        return own_keys()
    raise AttributeError(f"module {__name__} has no attribute {name!r}")


def load_job(
    trainer: str, config_path: Path, overrides: tuple[str, ...] | list[str] = (), no_merge: bool = False
) -> TrainJob:
    """Read, override and validate a training config. Raises BenchError for any bad input; writes nothing
    (except preparing a model alias in the model cache, as `run` does)."""
    raw = _read_yaml(config_path)
    keys = own_keys()  # every trainer's: a key of another trainer is refused by name below
    own: dict[str, Any] = {k: raw.pop(k) for k in keys if k in raw}
    trl_yaml = raw
    trl_sets: list[tuple[str, str]] = []
    for item in overrides:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise BenchError(f"--set {item!r} is not KEY=VALUE")
        top = key.split(".", 1)[0]
        if top in keys:
            _set_own(own, key, value)
        elif "." in key:
            raise BenchError(f"--set {key}: only the project's keys ({', '.join(SHARED_KEYS)}) take dotted names")
        else:
            trl_sets.append((key, value))
    cls = config_class(trainer)
    known = {f.name for f in dataclasses.fields(cls) if f.init}
    unknown = [k for k in list(trl_yaml) + [k for k, _ in trl_sets] if k not in known]
    if unknown:
        hints = []
        for k in dict.fromkeys(unknown):
            close = difflib.get_close_matches(k, list(known) + list(own_keys(trainer)), n=1)
            hints.append(f"{k} (did you mean {close[0]}?)" if close else k)
        raise BenchError(
            f"unknown config key(s) for train {trainer}: {', '.join(hints)}; keys are {cls.__name__} "
            f"fields or {', '.join(own_keys(trainer))}"
        )
    explicit = list(dict.fromkeys(list(trl_yaml) + [k for k, _ in trl_sets]))

    # The project's keys
    options = trainer_options(trainer, own)
    model_spec = own.get("model")
    if not model_spec or not isinstance(model_spec, str):
        raise BenchError(f"{config_path}: `model:` is required (a local folder or an alias: smollm2-135m, tiny)")
    data_spec = own.get("data")
    if data_spec is None:
        raise BenchError(f"{config_path}: `data:` is required (a `reflectevo-bench data build` dir)")
    stage = str(own.get("stage") or ("two" if isinstance(data_spec, dict) else "one")).lower()
    if stage not in ("one", "two"):
        raise BenchError(f"stage must be one or two, got {own.get('stage')!r}")
    data = _load_data(trainer, stage, data_spec)
    peft = _peft_settings(own.get("peft"))
    merge = own.get("merge", True)
    if not isinstance(merge, bool):
        raise BenchError(f"merge must be true or false, got {merge!r}")
    if no_merge:
        merge = False

    # The output dir is checked before TRL's config exists: building it starts the process group under torchrun /
    # accelerate, after which the main process may create the dir before another rank has looked at it.
    set_values = dict(trl_sets)
    output_dir = (
        set_values.get("output_dir")
        or trl_yaml.get("output_dir")
        or f"outputs/{trainer}-{time.strftime('%Y%m%d-%H%M%S')}"
    )
    resume = _resume_value(set_values.get("resume_from_checkpoint", trl_yaml.get("resume_from_checkpoint")))
    _check_output_dir(Path(str(output_dir)).expanduser(), resume)
    model = resolve_model(model_spec)
    # TRL's config, parsed by TRL's parser: YAML values become defaults, --set values are typed by the fields
    args = _parse_trl(cls, {**trl_yaml, "output_dir": str(output_dir)}, trl_sets, explicit, trainer)
    check_trl_values(args)
    job = TrainJob(
        trainer=trainer,
        model=model,
        model_spec=model_spec,
        stage=stage,
        data=data,
        peft=peft,
        merge=merge,
        args=args,
        resume=resume,
        config_file=Path(config_path),
        explicit_keys=explicit,
        overrides=list(overrides),
        options=options,
    )
    if _spec(trainer).assistant_masks:
        _check_chat_template(job)
    else:
        _check_has_template(job)
    return job


def check_recipe_config(trainer: str, config: dict[str, Any], num_processes: int = 1) -> Any:
    """A recipe's config (TRL keys + peft, merge, stage and the trainer's own keys; no model, data or output_dir
    yet) checked as `train` will check it, before any stage runs: parsed by TRL's parser (its own checks included,
    e.g. GRPO's batch divisible by num_generations), then value ranges and the LoRA settings. ``num_processes``:
    a batch that TRL checks across processes is checked for that many (TRL's parser sees one). Returns TRL's
    config object."""
    keys = own_keys()
    own = {k: config[k] for k in keys if k in config}
    trl_yaml = {k: v for k, v in config.items() if k not in keys}
    cls = config_class(trainer)
    known = {f.name for f in dataclasses.fields(cls) if f.init}
    unknown = [k for k in trl_yaml if k not in known]
    if unknown:
        raise BenchError(f"unknown config key(s) for train {trainer}: {', '.join(unknown)}")
    trainer_options(trainer, own)
    if not isinstance(own.get("merge", True), bool):
        raise BenchError(f"merge must be true or false, got {own.get('merge')!r}")
    _peft_settings(own.get("peft"))
    scaled = dict(trl_yaml)
    if _spec(trainer).batch_spans_processes and num_processes > 1:
        # TRL's parser counts the processes of this one: a batch per device of B on N processes is checked as N*B.
        for key in ("per_device_train_batch_size", "per_device_eval_batch_size"):
            default = next(f.default for f in dataclasses.fields(cls) if f.name == key)
            value = scaled.get(key, default)
            if isinstance(value, int) and not isinstance(value, bool):
                scaled[key] = value * num_processes
    args = _parse_trl(cls, {**scaled, "output_dir": "unused"}, [], list(trl_yaml), trainer)
    check_trl_values(args)
    return args


# --- YAML and overrides -------------------------------------------------------------------------------------------


def _read_yaml(path: Path) -> dict[str, Any]:
    raw = read_yaml(path, "config file")
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise BenchError(f"config file {path} must hold a YAML mapping of keys, not {type(raw).__name__}")
    return raw


def trainer_options(trainer: str, own: dict[str, Any]) -> dict[str, Any]:
    """The trainer's own keys checked (its registry record's defaults and checks); a key of another trainer, or
    ``stage`` for a one-stage trainer, is one line."""
    from reflectevo_bench.trainers.registry import trainers

    spec = _spec(trainer)
    table = trainers()
    if not spec.two_stage and "stage" in own:
        two = " / ".join(f"train {t.name}" for t in table.values() if t.two_stage) or "none"
        raise BenchError(f"`stage` is for two-stage trainers ({two}); train {trainer} has one stage")
    mine = {k.name: k for k in spec.keys}
    for name in own:
        if name not in SHARED_KEYS and name not in mine:
            owners = " / ".join(f"train {t.name}" for t in table.values() if any(k.name == name for k in t.keys))
            raise BenchError(f"`{name}` is a {owners} key; train {trainer} has none")
    return {name: key.value(own.get(name)) for name, key in mine.items()}


def _set_own(own: dict[str, Any], key: str, value: str) -> None:
    try:
        parsed = yaml.safe_load(value) if value.strip() else None
    except yaml.YAMLError:
        parsed = value
    parts = key.split(".")
    if len(parts) == 1:
        own[key] = parsed
        return
    if len(parts) != 2 or parts[0] not in ("peft", "data"):
        raise BenchError(f"--set {key}: dotted names exist only for peft.* and data.reflection / data.correction")
    head, sub = parts
    current = own.get(head)
    if head == "peft" and (current is None or current is True):
        current = {}
    if not isinstance(current, dict):
        if head == "data":
            current = {}
        else:
            raise BenchError(f"--set {key}: `{head}` is not a mapping in the config")
    own[head] = {**current, sub: parsed}


class _Parser:
    """TRL's TrlParser with argparse's exits turned into BenchError."""

    def __new__(cls, dataclass_type):
        from trl import TrlParser

        class Parser(TrlParser):
            def error(self, message: str):  # argparse would print usage and exit
                raise BenchError(f"bad config value: {message}")

        return Parser([dataclass_type])


def _parse_trl(cls, trl_yaml: dict[str, Any], trl_sets: list[tuple[str, str]], explicit: list[str], trainer: str):
    defaults = dict(trl_yaml)
    # CPU-safe defaults when the user did not choose (no CUDA here: bf16, activation checkpointing and the
    # accelerator device would all fail or crawl); report_to none unless asked (offline machines).
    given = set(explicit)
    cuda = _cuda_available()
    if not cuda:
        if "bf16" not in given:
            defaults["bf16"] = False
        if not given & {"gradient_checkpointing", "activation_checkpointing"}:
            key = (
                "activation_checkpointing" if _has_field(cls, "activation_checkpointing") else "gradient_checkpointing"
            )
            defaults[key] = False
        if "use_cpu" not in given:
            defaults["use_cpu"] = True
    for key, value in _spec(trainer).trl_defaults.items():  # e.g. GRPO's beta 0.001 (Reflect, Retry, Reward)
        if key not in given:
            defaults[key] = value
    if "report_to" not in given:
        defaults["report_to"] = "none"
    parser = _Parser(cls)
    parser.set_defaults_with_config(**defaults)
    argv: list[str] = []
    for key, value in trl_sets:
        argv += [f"--{key}", value]
    try:
        (args,) = parser.parse_args_into_dataclasses(args=argv)
    except BenchError:
        raise
    except (ValueError, TypeError) as exc:
        raise BenchError(f"bad {cls.__name__} settings: {_one_line(exc)}") from exc
    return args


# Values TRL / transformers accept at parse time and fail on later (or train nonsense with): (rule, test).
_POSITIVE_INT = ("a positive integer", lambda v: v >= 1)
VALUE_RULES: dict[str, tuple[str, Any]] = {
    "learning_rate": ("a number >= 0", lambda v: v >= 0),
    "per_device_train_batch_size": _POSITIVE_INT,
    "per_device_eval_batch_size": _POSITIVE_INT,
    "gradient_accumulation_steps": _POSITIVE_INT,
    "num_train_epochs": ("a number > 0", lambda v: v > 0),
    "max_steps": ("-1 (use num_train_epochs) or a positive integer", lambda v: v == -1 or v >= 1),
    "max_length": ("a positive integer (or null)", lambda v: v >= 1),
    "max_prompt_length": ("a positive integer (or null)", lambda v: v >= 1),
    "max_completion_length": ("a positive integer (or null)", lambda v: v >= 1),
    "num_generations": _POSITIVE_INT,
    "temperature": ("a number > 0", lambda v: v > 0),
    "top_p": ("a number in (0, 1]", lambda v: 0 < v <= 1),
    "beta": ("a number >= 0", lambda v: v >= 0),
    "weight_decay": ("a number >= 0", lambda v: v >= 0),
    "warmup_ratio": ("a number in [0, 1]", lambda v: 0 <= v <= 1),
    "max_grad_norm": ("a number >= 0", lambda v: v >= 0),
    "save_steps": ("a positive number", lambda v: v > 0),
    "logging_steps": ("a positive number", lambda v: v > 0),
}


def _field_types(cls) -> dict[str, tuple[type, ...]]:
    """The scalar types (bool, int, float, str) each dataclass field accepts, from its annotation."""
    import types
    import typing

    unions = (typing.Union, getattr(types, "UnionType", None))
    hints = typing.get_type_hints(cls)
    out: dict[str, tuple[type, ...]] = {}
    for f in dataclasses.fields(cls):
        hint = hints.get(f.name)
        args = typing.get_args(hint) if typing.get_origin(hint) in unions else (hint,)
        scalars = tuple(a for a in args if a in (bool, int, float, str))
        if scalars and all(a in (bool, int, float, str, type(None)) for a in args):
            out[f.name] = scalars + ((type(None),) if type(None) in args else ())
    return out


def check_trl_values(args) -> None:
    """One line for a TRL value of the wrong type (a YAML list where a number goes) or out of range (a negative
    learning rate, batch size 0, max_completion_length 0, temperature -1), before anything is written."""
    types = _field_types(type(args))
    for name, accepted in types.items():
        value = getattr(args, name, None)
        ok = isinstance(value, accepted) and not (isinstance(value, bool) and bool not in accepted)
        if not ok and float in accepted and isinstance(value, int) and not isinstance(value, bool):
            ok = True
        if not ok:
            names = {bool: "true or false", int: "an integer", float: "a number", str: "a string", type(None): "null"}
            want = " or ".join(dict.fromkeys(names[t] for t in accepted if not (t is int and float in accepted)))
            raise BenchError(f"bad config value {name}={value!r}: {name} must be {want}")
    for name, (rule, test) in VALUE_RULES.items():
        value = getattr(args, name, None)
        if value is None or isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        if value != value or not test(value):
            raise BenchError(f"bad config value {name}={value!r}: {name} must be {rule}")


def _has_field(cls, name: str) -> bool:
    return any(f.name == name for f in dataclasses.fields(cls))


def _cuda_available() -> bool:
    try:
        import torch

        return torch.cuda.is_available()
    except ImportError:
        return False


def _resume_value(value: Any) -> bool | str | None:
    if value is None or value is False:
        return None
    if value is True:
        return True
    text = str(value).strip()
    if text.lower() in ("", "false", "no", "none", "null", "0"):
        return None
    if text.lower() in ("true", "yes", "1", "last", "latest"):
        return True
    if not Path(text).is_dir():
        raise BenchError(f"resume_from_checkpoint {text} is not a checkpoint folder (or use true for the latest)")
    return text


def _check_output_dir(out: Path, resume: bool | str | None) -> None:
    if out.exists() and not out.is_dir():
        raise BenchError(f"output_dir {out} is a file, not a directory")
    for parent in out.absolute().parents:
        if parent.exists():
            if not parent.is_dir():
                raise BenchError(f"output_dir {out} lies under {parent}, which is a file: choose another output_dir")
            if not os.access(parent, os.W_OK):
                raise BenchError(f"output_dir {out}: cannot create it in {parent} (not writable)")
            break
    if out.is_dir() and any(out.iterdir()) and resume is None:
        raise BenchError(
            f"output_dir {out} is not empty: choose a new output_dir, or continue the training there "
            f"with --set resume_from_checkpoint=true"
        )


# --- model --------------------------------------------------------------------------------------------------------


def resolve_model(spec: str) -> str:
    """A local folder, an alias (`tiny`, `smollm2-135m`) prepared in the model cache, or a hub id when online."""
    path = Path(spec).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            if (path / "adapter_config.json").is_file():
                raise BenchError(f"model {spec} is a LoRA adapter: train from its base model (or a merged checkpoint)")
            raise BenchError(f"model {spec} has no config.json: not a Hugging Face model folder")
        return str(path.resolve())
    from reflectevo_bench.models.registry import MODEL_ALIASES, resolve_model_alias
    from reflectevo_bench.models.smollm2 import FetchError, default_cache_dir

    name = spec.strip().lower()
    if name == "tiny":
        from reflectevo_bench.models.tiny import build_tiny_model

        target = default_cache_dir() / "tiny-llama"
        if not (target / "config.json").is_file():
            build_tiny_model(target, seed=0)
        return str(target)
    if name in MODEL_ALIASES:
        try:
            return str(resolve_model_alias(name))
        except FetchError as exc:
            raise BenchError(str(exc)) from exc
    offline = os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}
    if "/" in spec and not spec.startswith((".", "/", "~")) and not offline:
        return spec  # a hub id; TRL downloads it
    known = ", ".join(sorted(set(MODEL_ALIASES) | {"tiny"}))
    raise BenchError(f"model {spec} is neither a local folder nor a known alias ({known})")


# --- data ---------------------------------------------------------------------------------------------------------


def _spec(trainer: str):
    from reflectevo_bench.trainers.registry import get

    return get(trainer)


def _load_data(trainer: str, stage: str, spec: Any) -> dict[str, DataDir]:
    if stage == "two":
        if not isinstance(spec, dict) or set(spec) != {"reflection", "correction"}:
            raise BenchError(
                "stage two needs `data: {reflection: DIR, correction: DIR}` (two `data build` dirs of "
                "kinds reflection and correction)"
            )
        out = {}
        for name in ("reflection", "correction"):
            d = read_data_dir(Path(str(spec[name])), trainer)
            if d.kind != name:
                raise BenchError(f"stage two: data.{name} {d.path} is a {d.kind!r} dir, not {name!r}")
            out[name] = d
        return out
    if isinstance(spec, dict):
        raise BenchError("`data` is a mapping, which is for `stage: two`; one-stage training takes one dir")
    return {"train": read_data_dir(Path(str(spec)), trainer)}


def read_data_dir(path: Path, trainer: str) -> DataDir:
    """A data dir (`trainers.data.datadir`) that train TRAINER takes: its kind is checked before its rows are read."""
    card = read_card(path)
    kind = card["kind"]
    from reflectevo_bench.trainers.registry import trainers_of

    wants = _spec(trainer).kinds
    if kind not in wants:
        others = " or ".join(f"train {t}" for t in trainers_of(kind)) or "no registered trainer"
        why = f"are {NOTES[kind]}: " if kind in NOTES else "is for "
        raise BenchError(
            f"data {path} is a {kind!r} dir: train {trainer} needs {', '.join(wants)} ({kind} {why}{others})"
        )
    return read_rows_of(path, card)


# --- LoRA ---------------------------------------------------------------------------------------------------------


def _peft_settings(spec: Any) -> dict[str, Any] | None:
    if spec is None or spec is False:
        return None
    if spec is True:
        spec = {}
    if not isinstance(spec, dict):
        raise BenchError(f"peft must be a mapping (r, alpha, dropout, target_modules) or null, got {spec!r}")
    from peft import LoraConfig

    fields = {f.name for f in dataclasses.fields(LoraConfig)}
    out = dict(LORA_DEFAULTS)
    for key, value in spec.items():
        name = LORA_ALIASES.get(key, key)
        if name not in fields:
            raise BenchError(
                f"unknown peft key {key!r} (LoRA keys: r, alpha, dropout, target_modules, or any peft.LoraConfig field)"
            )
        out[name] = value
    for key, (rule, test) in PEFT_RULES.items():
        value = out.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or not test(value)):
            raise BenchError(f"bad peft value {key}={value!r}: {key} must be {rule}")
    if isinstance(out.get("target_modules"), str) and "," in out["target_modules"]:
        out["target_modules"] = [t.strip() for t in out["target_modules"].split(",") if t.strip()]
    try:
        lora_config(out)
    except (ValueError, TypeError) as exc:
        raise BenchError(f"bad peft settings: {_one_line(exc)}") from exc
    return out


PEFT_RULES: dict[str, tuple[str, Any]] = {
    "r": ("a positive integer", lambda v: isinstance(v, int) and v >= 1),
    "lora_alpha": ("a number > 0", lambda v: v > 0),
    "lora_dropout": ("a number in [0, 1)", lambda v: 0 <= v < 1),
}


def lora_config(settings: dict[str, Any]):
    from peft import LoraConfig

    return LoraConfig(task_type="CAUSAL_LM", **settings)


# --- chat template ------------------------------------------------------------------------------------------------


def completions_need_assistant_mask(job: TrainJob) -> bool:
    """True when some completion holds a non-assistant message (dplus: the user's retry request)."""
    return any(
        m["role"] != "assistant" for d in job.data.values() for row in d.train + d.eval for m in row["completion"]
    )


def _resolve_template_path(args) -> None:
    value = args.chat_template_path
    if not value:
        return
    shipped = SHIPPED_TEMPLATES.get(str(value).strip().lower())
    if shipped is not None:
        args.chat_template_path = str(shipped)
        return
    p = Path(value).expanduser()
    if str(value).endswith((".jinja", ".j2")) and not p.is_file():
        raise BenchError(
            f"chat_template_path {value} does not exist (shipped templates: {', '.join(SHIPPED_TEMPLATES)})"
        )


def _load_tokenizer(model: str):
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(model)
    except (OSError, ValueError) as exc:
        raise BenchError(f"cannot load the tokenizer of {model}: {_one_line(exc)}") from exc


def _check_has_template(job: TrainJob) -> None:
    tok = _load_tokenizer(job.model)
    if not tok.chat_template:
        raise BenchError(f"model {job.model_spec} has no chat template: the conversational rows need one")


def _check_chat_template(job: TrainJob) -> None:
    """assistant_only_loss for multi-message completions, and a template with `{% generation %}` markers for it."""
    check_chat_template(
        job.args,
        job.model,
        job.model_spec,
        job.explicit_keys,
        ", ".join(sorted({d.kind for d in job.data.values()})),
        lambda: completions_need_assistant_mask(job),
    )


def check_chat_template(args, model: str, model_spec: str, explicit_keys: list[str], kinds: str, needs_mask) -> None:
    """The SFT chat-template checks of `train` on (TRL args, model folder); ``needs_mask()`` says whether some
    completion holds a non-assistant turn. Sets ``args.assistant_only_loss`` when it is needed."""
    from trl.chat_template_utils import get_training_chat_template, has_generation_markers

    _resolve_template_path(args)
    tok = _load_tokenizer(model)
    path = args.chat_template_path
    if path and os.path.isfile(path) and str(path).endswith((".jinja", ".j2")):
        tok.chat_template = Path(path).read_text(encoding="utf-8")
    elif path:
        return  # a tokenizer to clone the template from (TRL's clone_chat_template): checked by TRL
    if not tok.chat_template:
        raise BenchError(
            f"model {model_spec} has no chat template: set chat_template_path "
            f"({', '.join(SHIPPED_TEMPLATES)} or a .jinja file)"
        )
    if not needs_mask():
        return
    if "assistant_only_loss" in explicit_keys and not args.assistant_only_loss:
        raise BenchError(
            f"{kinds} completions hold a user turn (the retry request): assistant_only_loss must be "
            "true so that it is not trained"
        )
    args.assistant_only_loss = True
    if has_generation_markers(tok.chat_template):
        return
    try:
        patched = get_training_chat_template(tok)
    except ValueError:
        patched = None
    if patched is None:
        raise BenchError(
            f"the chat template of {model_spec} has no {{% generation %}} markers, which assistant_only_loss "
            f"needs to train only the assistant turns of {kinds} completions: set chat_template_path: "
            f"smollm2-generation (SmolLM2, renders identically), mistral-v0.2-generation (Mistral-7B-Instruct-v0.2, "
            f"renders identically) or chatml-generation (plain ChatML), or a .jinja "
            f"template of your own with the markers"
        )


# --- helpers ------------------------------------------------------------------------------------------------------


def _one_line(exc: BaseException) -> str:
    return one_line(exc) or type(exc).__name__


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))
