"""The trainer registry: one record per trainer -- its name, TRL config class, the data kinds it accepts (their
columns come from `trainers.data.datadir`), its run function and its CLI help. `train` builds one command per
record, `experiment` checks recipes and dispatches through it, and the docs describe it.

Adding a trainer = a config class + a module with ``run(job) -> Path`` + one ``register(Trainer(...))`` call. A
trainer's own YAML keys (not TRL's, not the shared model/data/stage/peft/merge) are its record's ``keys``
(`trainers.keys.Key`: default, check, help, and whether ``train NAME --KEY`` takes it); the run function reads
them as ``job.KEY``.
Trainers outside the package are loaded from plugin modules:

- ``REFLECTEVO_PLUGINS=pkg.module,/path/to/file.py`` (comma-separated module names or ``.py`` files), or
- an installed package's entry point in the group ``reflectevo_bench.trainers`` (the module is imported).

A plugin module registers its trainers when imported. Plugins are imported on the first registry lookup (each
once); a plugin that cannot be imported is one `BenchError` line.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reflectevo_bench.errors import BenchError
from reflectevo_bench.trainers.data.datadir import COLUMNS
from reflectevo_bench.trainers.keys import SHARED_KEYS, Key, boolean, number, one_of

PLUGINS_ENV = "REFLECTEVO_PLUGINS"
ENTRY_POINT_GROUP = "reflectevo_bench.trainers"


@dataclass(frozen=True)
class Trainer:
    name: str  # `train NAME`, `trainer: NAME` in a recipe
    config: str | type  # the TRL config dataclass, or "module:Class" (imported when needed: TRL is slow to import)
    run: str | Callable[[Any], Path]  # run(job: TrainJob) -> checkpoint dir, or "module:function"
    kinds: tuple[str, ...]  # the data kinds it trains on
    help: str  # the `train NAME --help` text
    two_stage: bool = False  # accepts `data: {reflection: DIR, correction: DIR}` (`stage: two`)
    assistant_masks: bool = False  # SFT-style completions: the chat-template checks of assistant_only_loss apply
    trl_defaults: dict[str, Any] = field(default_factory=dict)  # defaults that differ from TRL's
    keys: tuple[Key, ...] = ()  # its own config keys (their defaults and checks)
    batch_spans_processes: bool = False  # its TRL config checks the batch of all processes when parsed
    title: str | None = None  # its name in model cards ("TRL's <title> trainer"; default: the name in capitals)

    @property
    def display_name(self) -> str:
        return self.title or self.name.upper()

    def config_class(self) -> type:
        return _resolve(self.config)

    def run_fn(self) -> Callable[[Any], Path]:
        return _resolve(self.run)

    def options(self) -> tuple[Key, ...]:
        """The keys that are also `train NAME --KEY` options."""
        return tuple(k for k in self.keys if k.option)

    def columns(self) -> dict[str, tuple[str, ...]]:
        """The columns of each accepted kind's rows."""
        return {k: COLUMNS[k] for k in self.kinds}


_TRAINERS: dict[str, Trainer] = {}
_loaded: set[str] = set()  # the plugins imported so far ("entry points" once they are)


def register(trainer: Trainer) -> Trainer:
    """Add a trainer (a plugin module calls this when imported). Its kinds must be data kinds `data build` makes;
    its own keys must not be the shared ones."""
    unknown = [k for k in trainer.kinds if k not in COLUMNS]
    if unknown or not trainer.kinds:
        raise BenchError(
            f"trainer {trainer.name}: unknown data kind(s) {', '.join(unknown) or '(none)'}; "
            f"choose from {', '.join(COLUMNS)}"
        )
    shared = [k.name for k in trainer.keys if k.name in SHARED_KEYS]
    if shared:
        raise BenchError(f"trainer {trainer.name}: key(s) {', '.join(shared)} are shared by every trainer")
    if trainer.name in _TRAINERS and _TRAINERS[trainer.name] != trainer:
        raise BenchError(f"trainer {trainer.name} is registered twice")
    _TRAINERS[trainer.name] = trainer
    return trainer


def trainers() -> dict[str, Trainer]:
    """Every registered trainer, plugins included, by name."""
    load_plugins()
    return dict(_TRAINERS)


def get(name: Any) -> Trainer:
    table = trainers()
    if name not in table:
        raise BenchError(f"unknown trainer {name!r}: known are {', '.join(table)} (plugins: set {PLUGINS_ENV})")
    return table[name]


def trainers_of(kind: str) -> list[str]:
    """The trainers that take data of ``kind``."""
    return [t.name for t in trainers().values() if kind in t.kinds]


def load_plugins() -> None:
    """Import the plugin modules of $REFLECTEVO_PLUGINS and of the ``reflectevo_bench.trainers`` entry points."""
    for item in (s.strip() for s in os.environ.get(PLUGINS_ENV, "").split(",")):
        if item and item not in _loaded:
            _import_plugin(item)
            _loaded.add(item)
    if "entry points" not in _loaded:
        _loaded.add("entry points")
        from importlib.metadata import entry_points

        for ep in entry_points(group=ENTRY_POINT_GROUP):
            try:
                ep.load()
            except Exception as exc:  # a broken plugin: one line, not a traceback
                raise BenchError(
                    f"entry point {ep.name} ({ep.value}) of {ENTRY_POINT_GROUP}: cannot load it: "
                    f"{type(exc).__name__}: {exc}"
                ) from None


def _import_plugin(item: str) -> None:
    try:
        if item.endswith(".py"):
            path = Path(item).expanduser().resolve()
            if not path.is_file():
                raise BenchError(f"{PLUGINS_ENV}: plugin file {item} does not exist")
            name = f"reflectevo_plugin_{path.stem}"
            if name in sys.modules:
                return
            spec = importlib.util.spec_from_file_location(name, path)
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            spec.loader.exec_module(module)
        else:
            importlib.import_module(item)
    except BenchError:
        raise
    except Exception as exc:
        raise BenchError(f"{PLUGINS_ENV}: cannot load plugin {item}: {type(exc).__name__}: {exc}") from None


def _resolve(ref: Any) -> Any:
    if not isinstance(ref, str):
        return ref
    module, _, attr = ref.partition(":")
    return getattr(importlib.import_module(module), attr)


# --- the shipped trainers -----------------------------------------------------------------------------------------

register(
    Trainer(
        name="sft",
        config="trl:SFTConfig",
        run="reflectevo_bench.trainers.sft:run_sft",
        kinds=("dplus", "dplus-oneturn", "reflection", "correction", "qa"),
        help="Supervised fine-tuning on dplus, reflection, correction or qa rows (loss on completions only).",
        two_stage=True,
        assistant_masks=True,
    )
)
register(
    Trainer(
        name="dpo",
        config="trl:DPOConfig",
        run="reflectevo_bench.trainers.dpo:run_dpo",
        kinds=("dpm", "dpref"),
        help="Direct preference optimisation on dpm (D±) or dpref rows.",
    )
)
register(
    Trainer(
        name="grpo",
        config="trl:GRPOConfig",
        run="reflectevo_bench.trainers.grpo:run_grpo",
        kinds=("failures",),
        help="GRPO on a failures dir: Reflect, Retry, Reward (or the answer-only RLVR control).",
        trl_defaults={"beta": 0.001},  # Reflect, Retry, Reward's KL coefficient (TRL's default is 0)
        keys=(
            Key(
                "objective",
                "reflection",
                one_of("reflection", "answer"),
                "reflection (default: reward reflections whose retry passes) or answer (plain GRPO on attempt 1).",
                option=True,
            ),
            Key(
                "retry_temperature",
                None,
                number("a number >= 0 (0 or null: greedy)", lambda v: v >= 0),
                "the temperature of the retry inside a rollout (null or 0: greedy, as evaluation retries)",
            ),
            Key(
                "retry_max_length",
                None,
                number("a whole number of tokens >= 1 (null: the task's own)", lambda v: v >= 1, whole=True),
                "the retry's max new tokens (null: each task's own max_gen_toks)",
            ),
            Key(
                "retry_reuse_cache",
                True,
                boolean,
                "on TRL's HF generation path, the retry continues the reflection's KV cache (false: a fresh prefill)",
            ),
        ),
        batch_spans_processes=True,  # GRPOConfig checks the generation batch (all processes) % num_generations
    )
)
