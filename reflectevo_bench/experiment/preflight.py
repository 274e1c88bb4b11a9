"""Every check an experiment can make before its first stage, from the spec and its stage plan alone.

`experiment run` makes them all before it writes anything (the first failure is its one-line error);
`experiment plan SPEC` prints the stage table and each check's result without running anything. The checks walk
the planned stages, not the spec's sections, so a stage kind or spec key added later is covered as long as its
stage inputs name ``tasks``/``split`` (a run) or ``model``/``model_args`` (a model):

- batch_size: a positive integer or ``auto``;
- tasks: every (tasks, split, limit, data_dir) a run stage reads loads, with at least one doc;
- models: every model a stage uses resolves: its lm-eval backend exists (and imports), a local ``pretrained`` /
  ``peft`` folder exists, a name is a known alias or (offline) a hub id already in the local cache;
- recipes: every recipe config parses with TRL's parser as ``train`` will parse it (GRPO batch divisible by
  num_generations on the recipe's processes, value ranges, LoRA settings);
- leak: no doc of a data run (training data) has the content of a doc of an eval run, across task names and
  splits; no training row of a given candidate is an eval doc (``honesty``).
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reflectevo_bench.errors import BenchError, one_line
from reflectevo_bench.experiment import honesty
from reflectevo_bench.experiment.graph import Stage
from reflectevo_bench.experiment.spec import Spec

# lm-eval backends that need an optional package (the module to import)
BACKEND_MODULES = {"vllm": "vllm", "local-chat-completions": "openai", "openai-chat-completions": "openai"}


class HostMissing(BenchError):
    """What THIS machine lacks for a stage (a backend package, uncached weights while offline), not a spec error:
    `experiment plan` reports it (a plan may be made away from the GPU host), `experiment run` refuses it."""


@dataclass
class Check:
    what: str  # "tasks countdown (split test)", "model base", "recipe sft", "leak"
    ok: bool
    detail: str
    host: bool = False  # failed only because this machine lacks something (HostMissing)

    def line(self) -> str:
        mark = "ok  " if self.ok else ("HOST" if self.host else "FAIL")
        return f"{mark}  {self.what}: {self.detail}"


@dataclass
class Preflight:
    checks: list[Check]
    eval_docs: dict[str, set[str]]  # task -> doc hashes of the eval runs (the later row checks use them)

    @property
    def failures(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]

    @property
    def spec_failures(self) -> list[Check]:
        """Failures of the spec itself (what fails on every machine)."""
        return [c for c in self.checks if not c.ok and not c.host]

    def raise_first(self, host: bool = True) -> None:
        """Raise the first failed check; with ``host=False`` only a failure of the spec itself."""
        bad = self.failures if host else self.spec_failures
        if bad:
            more = f" (and {len(bad) - 1} more failed check(s): see `experiment plan SPEC`)" if len(bad) > 1 else ""
            raise BenchError(f"{bad[0].what}: {bad[0].detail}{more}")


def _attempt(checks: list[Check], what: str, fn: Callable[[], str]) -> bool:
    try:
        detail = fn()
    except HostMissing as exc:
        checks.append(Check(what, False, str(exc), host=True))
        return False
    except BenchError as exc:
        checks.append(Check(what, False, str(exc)))
        return False
    checks.append(Check(what, True, detail))
    return True


def run_preflight(spec: Spec, stages: list[Stage]) -> Preflight:
    checks: list[Check] = []
    _attempt(checks, "batch_size", lambda: _check_batch_size(spec.batch_size))
    train_docs, eval_docs, tasks_ok = _check_tasks(spec, stages, checks)
    for what, model, model_args in _models(spec, stages):
        _attempt(checks, what, lambda m=model, a=model_args: check_model(m, a))
    for r in spec.recipes:
        n = int((r.launch or {}).get("num_processes", 1))
        _attempt(checks, f"recipe {r.name}", lambda r=r, n=n: _check_recipe(r, n, spec))
    if spec.recipes:
        _attempt(checks, "base model trainable", lambda: _check_trainable_base(spec))
    if tasks_ok:
        _attempt(checks, "leak", lambda: _check_leak(spec, train_docs, eval_docs))
    else:
        checks.append(Check("leak", False, "not checked: a task above does not load"))
    return Preflight(checks, {t.task: t.hashes for t in eval_docs})


# --- the checks ---------------------------------------------------------------------------------------------------


def _check_batch_size(text: str) -> str:
    from reflectevo_bench.harness.run import _batch_size

    try:
        return f"{_batch_size(str(text))}"
    except BenchError as exc:
        raise BenchError(str(exc).replace("--batch-size", "batch_size")) from None


def _run_inputs(stages: list[Stage]) -> list[tuple[str, dict[str, Any]]]:
    """(role, inputs) of every stage that runs tasks: a ``run`` stage makes training data, the others evaluate."""
    return [
        ("train" if s.kind == "run" else "eval", s.inputs)
        for s in stages
        if isinstance(s.inputs.get("tasks"), list) and "split" in s.inputs
    ]


def _check_tasks(
    spec: Spec, stages: list[Stage], checks: list[Check]
) -> tuple[list[honesty.TaskDocs], list[honesty.TaskDocs], bool]:
    loaded: dict[tuple, list[honesty.TaskDocs] | None] = {}
    train: list[honesty.TaskDocs] = []
    evaluated: list[honesty.TaskDocs] = []
    for role, inputs in _run_inputs(stages):
        key = (tuple(inputs["tasks"]), inputs["split"], inputs.get("limit"), inputs.get("data_dir", spec.data_dir))
        if key not in loaded:
            loaded[key] = None
            names = ", ".join(Path(t).stem if t.endswith((".yaml", ".yml")) else t for t in key[0])
            box: list[list[honesty.TaskDocs]] = []

            def load(key=key, box=box) -> str:
                docs = honesty.task_docs(list(key[0]), key[1], key[2], key[3])
                empty = [t.label for t in docs if not t.keys]
                if empty:
                    raise BenchError(f"task {', '.join(empty)} has no docs")
                box.append(docs)
                return ", ".join(f"{t.label}: {len(t.keys)} docs" for t in docs)

            if _attempt(checks, f"tasks {names} (split {key[1]}, {role})", load):
                loaded[key] = box[0]
        docs = loaded[key]
        if docs is not None:
            target = train if role == "train" else evaluated
            target += [d for d in docs if d not in target]
    ok = all(v is not None for v in loaded.values())
    return train, evaluated, ok


def _models(spec: Spec, stages: list[Stage]) -> list[tuple[str, str, str]]:
    """(label, model type, model_args) of every model the experiment uses, each once."""
    out: dict[tuple[str, str], str] = {}

    def add(label: str, model: Any, args: Any) -> None:
        if model is not None:
            out.setdefault((str(model), str(args or "")), label)

    add(f"model {spec.base.name} (base)", spec.base.model, spec.base.model_args)
    for m in spec.references:
        add(f"model {m.name} (reference)", m.model, m.model_args)
    for m in spec.candidates:
        add(f"model {m.name} (candidate)", m.model, m.model_args)
    for s in stages:
        if "model_args" in s.inputs:
            add(f"model of stage {s.key}", s.inputs.get("model"), s.inputs.get("model_args"))
        for key, value in s.inputs.items():
            if isinstance(value, dict) and "model_args" in value:
                add(f"{key} model of stage {s.key}", value.get("model", "hf"), value.get("model_args"))
    return [(label, model, args) for (model, args), label in out.items()]


def check_model(model: str, model_args: str) -> str:
    """The backend exists and imports; ``pretrained`` (and ``peft``) resolve here. Loads no weights."""
    import lm_eval.models  # noqa: F401  (registers hf, vllm, local-chat-completions, ...)
    from lm_eval.api.registry import get_model

    from reflectevo_bench.harness.backend import parse_model_args

    module = BACKEND_MODULES.get(model)
    if module and importlib.util.find_spec(module) is None:
        raise HostMissing(f"model type {model} needs the {module} package, which is not installed here")
    try:
        get_model(model)
    except (ValueError, KeyError):
        raise BenchError(
            f"unknown model type {model!r}: use an lm-eval model type such as hf, vllm, local-chat-completions"
        ) from None
    except ImportError as exc:
        raise BenchError(f"model type {model} cannot be imported here: {one_line(exc, 200)}") from None
    args = parse_model_args(model_args)
    notes = [model]
    for key in ("pretrained", "peft"):
        if key in args:
            notes.append(_resolve_weights(key, args[key]))
    if model in ("hf", "vllm") and "pretrained" not in args:
        notes.append("the default model (SmolLM2-135M-Instruct)")
    return ", ".join(notes)


def _resolve_weights(key: str, value: str) -> str:
    from reflectevo_bench.models.registry import MODEL_ALIASES

    path = Path(value).expanduser()
    if path.exists():
        marker = "adapter_config.json" if key == "peft" else "config.json"
        found = path.is_dir() and (
            (path / marker).is_file() or (path / "config.json").is_file() or any(path.glob("*.gguf"))
        )
        if not found:
            raise BenchError(f"{key}={value} is not a model folder (no {marker})")
        return f"{key} {path} (local)"
    if value.startswith(("/", ".", "~")):
        raise BenchError(f"{key}={value} does not exist")
    if value.strip().lower() in MODEL_ALIASES or value.strip().lower() == "tiny":
        return f"{key} {value} (known alias)"
    offline = os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}
    if "/" not in value:
        raise BenchError(
            f"{key}={value} is neither a local folder, a known alias ({', '.join(sorted(MODEL_ALIASES))}) "
            "nor a hub id (owner/name)"
        )
    if offline:
        try:
            from huggingface_hub import try_to_load_from_cache

            cached = try_to_load_from_cache(value, "adapter_config.json" if key == "peft" else "config.json")
        except Exception:  # a malformed repo id
            cached = None
        if not isinstance(cached, str):
            raise HostMissing(f"{key}={value} is a hub id that is not in the local cache, and HF_HUB_OFFLINE is set")
        return f"{key} {value} (hub id, cached)"
    return f"{key} {value} (hub id, downloaded on first use)"


def _check_recipe(recipe: Any, num_processes: int, spec: Spec) -> str:
    try:
        from reflectevo_bench.trainers.config import check_recipe_config
    except ImportError:
        raise BenchError("recipes need TRL: pip install 'reflectevo-bench[train]'") from None
    try:
        args = check_recipe_config(recipe.trainer, recipe.config, num_processes)
    except BenchError:
        raise
    except ImportError:
        raise BenchError("recipes need TRL: pip install 'reflectevo-bench[train]'") from None
    except Exception as exc:  # TRL raises many kinds on values it cannot use
        raise BenchError(f"bad {recipe.trainer} config: {one_line(exc, 300, with_type=True)}") from None
    _check_recipe_template(recipe, args, spec)
    steps = "epochs " + str(args.num_train_epochs) if args.max_steps in (-1, None) else f"{args.max_steps} steps"
    extra, batch = "", args.per_device_train_batch_size
    if recipe.trainer == "grpo":  # prompts per step = per-device batch x processes x accumulation / G
        batch //= num_processes  # check_recipe_config parsed the batch of all processes (as TRL's parser counts)
        per_step = batch * num_processes * args.gradient_accumulation_steps / args.num_generations
        extra = (
            f", G {args.num_generations}; prompts per step = {batch} x {num_processes}"
            f" x {args.gradient_accumulation_steps} / {args.num_generations} = {per_step:g}"
        )
    return (
        f"train {recipe.trainer} on {', '.join(recipe.kinds())}: {steps}, batch {batch}"
        f" x {num_processes} process(es){extra}, lr {args.learning_rate}"
    )


def _check_recipe_template(recipe: Any, args: Any, spec: Spec) -> None:
    """`train`'s chat-template checks on the base model, where it is a local folder (a hub id or an alias is not
    fetched for a check): no template, or (dplus) no `{% generation %}` markers and no chat_template_path."""
    from reflectevo_bench.harness.backend import parse_model_args

    pretrained = parse_model_args(spec.base.model_args).get("pretrained")
    if not pretrained or not (Path(pretrained).expanduser() / "config.json").is_file():
        return
    from reflectevo_bench.trainers.config import _load_tokenizer, check_chat_template
    from reflectevo_bench.trainers.data.datadir import MULTI_MESSAGE_KINDS
    from reflectevo_bench.trainers.registry import get

    if get(recipe.trainer).assistant_masks:
        kinds = recipe.kinds()
        check_chat_template(
            args,
            str(Path(pretrained).expanduser()),
            pretrained,
            list(recipe.config),
            ", ".join(kinds),
            lambda: any(k in MULTI_MESSAGE_KINDS for k in kinds),
        )
    elif not _load_tokenizer(str(Path(pretrained).expanduser())).chat_template:
        raise BenchError(f"model {pretrained} has no chat template: the conversational rows need one")


def _check_trainable_base(spec: Spec) -> str:
    from reflectevo_bench.harness.backend import parse_model_args

    pretrained = parse_model_args(spec.base.model_args).get("pretrained")
    if not pretrained:
        raise BenchError("recipes train the base model: its model_args need pretrained=PATH_OR_HUB_ID")
    return str(pretrained)


def _check_leak(spec: Spec, train: list[honesty.TaskDocs], evaluated: list[honesty.TaskDocs]) -> str:
    if spec.recipes and train:
        honesty.check_content_disjoint(train, evaluated, "the training data (data run)")
    cand_dirs = [p for m in spec.candidates for p in honesty.checkpoint_data_dirs(m.model_args)]
    honesty.check_disjoint(
        honesty.row_doc_hashes(cand_dirs),
        {t.task: t.hashes for t in evaluated},
        "the training rows of a given candidate",
        spec.eval.split,
    )
    n_train = sum(len(t.keys) for t in train)
    n_eval = sum(len(t.keys) for t in evaluated)
    return f"{n_train} training docs and {n_eval} eval docs share no content" + (
        f"; {len(cand_dirs)} candidate data dir(s) checked" if cand_dirs else ""
    )


def format_stages(stages: list[Stage], states: dict[str, str] | None = None) -> list[str]:
    header = ["stage", "kind", "needs", "dir"] + (["state"] if states is not None else [])
    body = [
        [s.key, s.kind, ",".join(s.deps) if len(s.deps) <= 2 else f"{len(s.deps)} stages", s.rel]
        + ([states.get(s.key, "")] if states is not None else [])
        for s in stages
    ]
    widths = [max(len(x) for x in col) for col in zip(header, *body)]
    return ["  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip() for line in [header, *body]]
