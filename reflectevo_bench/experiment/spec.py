"""The experiment spec (YAML): parsed and checked completely before anything is written.

```yaml
base: {model: hf, model_args: "pretrained=Qwen/Qwen2.5-1.5B-Instruct", name: qwen-1.5b}
references: [{name: qwen-72b, model: vllm, model_args: "pretrained=Qwen/Qwen2.5-72B-Instruct,tensor_parallel_size=4"}]
candidates: []                  # already-trained checkpoints: [{name, model, model_args}]
data: {tasks: [countdown], split: train, limit: 2000, reflections: 2,
       gen_kwargs: "do_sample=true,temperature=0.8", kinds: [dplus, dpm, failures]}
recipes:                        # name -> trainer + data kind + config (TRL keys + peft/merge/stage/objective)
  sft-dplus: {trainer: sft, data: dplus, config: {max_steps: 500}}
eval: {tasks: [countdown], split: test, limit: 1000, protocol: reflect, controls: [retry, self-refine]}
report: {metric: acc@t2, max_drop: 1.0, alpha: 0.05}
```
Optional keys beyond the issue's: top level ``seed`` (1234), ``batch_size`` ("16"), ``data_dir`` (local benchmark
files, as ``run --data-dir``; default ``$REFLECTEVO_DATA_DIR``), ``title``; ``data.protocol`` (reflect),
``data.eval_fraction`` (0.1), ``data.judge`` ({model, model_args}: needed by kind ``dpref``); ``eval.gen_kwargs``,
``eval.attempts``; ``report.scope`` (both); ``data.reflection_gen_kwargs`` / ``data.reflection_instruction`` (as ``run``'s options),
``eval.roles`` ([self]; ``reflector``: the base answers, each candidate reflects), ``rounds`` (1) and ``evolve``
(the recipe whose checkpoint generates round k+1's data; default the first). A protocol key (``data.protocol``,
``eval.protocol``, ``eval.controls``) takes a built-in protocol's name or ``path/to/file.py:NAME`` (a protocol
defined in one file, as ``run --protocol``). Relative task-YAML, model and protocol-file paths are taken relative to
the spec file's folder when they exist there. Every problem is a ``BenchError``: one line,
exit 2.
"""

from __future__ import annotations

import dataclasses
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reflectevo_bench.defaults import DEFAULT_BATCH_SIZE, DEFAULT_SEED
from reflectevo_bench.errors import BenchError
from reflectevo_bench.harness.protocols import PROTOCOLS, Protocol, find_protocol, is_plugin_spec
from reflectevo_bench.yaml_files import read_yaml

TOP_KEYS = {
    "base",
    "references",
    "candidates",
    "data",
    "recipes",
    "eval",
    "report",
    "seed",
    "batch_size",
    "data_dir",
    "title",
    "isolate",
    "rounds",
    "evolve",
}
MODEL_KEYS = {"name", "model", "model_args"}
DATA_KEYS = {
    "tasks",
    "split",
    "limit",
    "reflections",
    "gen_kwargs",
    "kinds",
    "protocol",
    "eval_fraction",
    "judge",
    "samples",
    "reflection_gen_kwargs",
    "reflection_instruction",
}
RECIPE_KEYS = {"trainer", "data", "config", "launch"}
LAUNCH_KEYS = {"accelerate", "num_processes"}
EVAL_KEYS = {"tasks", "split", "limit", "protocol", "controls", "gen_kwargs", "attempts", "roles"}
ROLES = ("self", "reflector")  # eval.roles: the candidate does everything, or only reflects beside the base
REPORT_KEYS = {"metric", "max_drop", "alpha", "scope"}
SET_BY_EXPERIMENT = ("model", "data", "output_dir", "resume_from_checkpoint")
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


@dataclass(frozen=True)
class ModelSpec:
    name: str
    model: str
    model_args: str


@dataclass(frozen=True)
class Recipe:
    name: str
    trainer: str
    data: Any  # a kind, or {reflection: kind, correction: kind} for two-stage SFT
    config: dict[str, Any]
    launch: dict[str, Any] | None = None  # {accelerate: zero3 | ddp | fsdp | PATH, num_processes: N}

    def kinds(self) -> list[str]:
        return list(self.data.values()) if isinstance(self.data, dict) else [self.data]


@dataclass
class DataSpec:
    tasks: list[str]
    split: str
    limit: int | None
    reflections: int
    gen_kwargs: str | None
    kinds: list[str]
    protocol: str = "reflect"
    eval_fraction: float = 0.1
    judge: dict[str, str] | None = None
    samples: int = 1  # run --samples K: attempt-1 answers per doc (failure mining)
    reflection_gen_kwargs: str | None = None  # run --reflection-gen-kwargs (reflection turns only)
    reflection_instruction: str | None = None  # run --reflection-instruction (one pool entry per run)


@dataclass
class EvalSpec:
    tasks: list[str]
    split: str
    limit: int | None
    protocol: str
    controls: list[str]
    gen_kwargs: str | None = None
    attempts: int | None = None
    roles: list[str] = field(default_factory=lambda: ["self"])

    @property
    def protocols(self) -> list[str]:
        return [self.protocol, *self.controls]


@dataclass
class ReportSpec:
    metric: str = "acc@t2"
    max_drop: float = 1.0
    alpha: float = 0.05
    scope: str = "both"


@dataclass
class Spec:
    path: Path
    base: ModelSpec
    references: list[ModelSpec]
    candidates: list[ModelSpec]
    data: DataSpec | None
    recipes: list[Recipe]
    eval: EvalSpec
    report: ReportSpec
    seed: int = DEFAULT_SEED
    batch_size: str = DEFAULT_BATCH_SIZE
    data_dir: str | None = None
    title: str | None = None
    isolate: bool = False  # every run and train stage in its own process (GPU memory is freed between stages)
    raw: dict[str, Any] = field(default_factory=dict)
    rounds: int = 1  # self-evolution: round k+1's data run uses round k's `evolve` checkpoint (ReflectEvo's "Evo")
    evolve: str | None = None  # the recipe whose checkpoint generates the next round's data (default: the first)

    def as_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out.pop("raw")
        out["path"] = str(self.path)
        return out


def load_spec(path: Path) -> Spec:
    path = Path(path)
    raw = read_yaml(path, "spec")
    if not isinstance(raw, dict):
        raise BenchError(f"spec {path} must be a YAML mapping (base, references, data, recipes, eval, report)")
    return parse_spec(raw, path)


def parse_spec(raw: dict[str, Any], path: Path) -> Spec:
    where = str(path)
    _keys(raw, TOP_KEYS, where)
    folder = path.resolve().parent
    for key in ("base", "eval"):
        if key not in raw:
            raise BenchError(f"{where}: `{key}:` is required")
    base = _model(raw["base"], f"{where} base", folder, default_name="base")
    refs = [_model(m, f"{where} references[{i}]", folder) for i, m in enumerate(_list(raw, "references", where))]
    cands = [_model(m, f"{where} candidates[{i}]", folder) for i, m in enumerate(_list(raw, "candidates", where))]
    recipes_raw = raw.get("recipes") or {}
    if not isinstance(recipes_raw, dict):
        raise BenchError(f"{where}: `recipes:` must map a name to {{trainer, data, config}}")
    recipes = [_recipe(name, r, where) for name, r in recipes_raw.items()]
    data = _data(raw["data"], where, folder) if raw.get("data") is not None else None
    if recipes and data is None:
        raise BenchError(f"{where}: recipes need a `data:` section (the data run on the train split)")
    if data is not None:
        for r in recipes:
            missing = [k for k in r.kinds() if k not in data.kinds]
            if missing:
                raise BenchError(
                    f"{where}: recipe {r.name} trains on {', '.join(missing)}, which data.kinds "
                    f"({', '.join(data.kinds)}) does not build: add it to data.kinds"
                )
    ev = _eval(raw["eval"], where, folder)
    report = _report(raw.get("report") or {}, where, ev)
    names = [base.name] + [m.name for m in refs + cands] + [f"ckpt-{r.name}" for r in recipes]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise BenchError(f"{where}: model name(s) {', '.join(dup)} used twice (recipes are named ckpt-<recipe>)")
    seed = raw.get("seed", DEFAULT_SEED)
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise BenchError(f"{where}: seed must be an integer, got {seed!r}")
    data_dir = raw.get("data_dir") or os.environ.get("REFLECTEVO_DATA_DIR") or None  # as run's --data-dir
    if data_dir is not None:
        d = _rel(str(data_dir), folder)
        if not Path(d).is_dir():
            raise BenchError(f"{where}: data_dir {data_dir} is not a folder")
        data_dir = str(Path(d).resolve())
    isolate = raw.get("isolate", False)
    if not isinstance(isolate, bool):
        raise BenchError(f"{where}: isolate must be true or false, got {isolate!r}")
    rounds, evolve = raw.get("rounds", 1), raw.get("evolve")
    if not isinstance(rounds, int) or isinstance(rounds, bool) or rounds < 1:
        raise BenchError(f"{where}: rounds must be a positive integer, got {rounds!r}")
    if (rounds > 1 or evolve is not None) and (data is None or not recipes):
        raise BenchError(
            f"{where}: rounds / evolve need a data section and recipes (each round trains on data "
            "generated by the previous round's checkpoint)"
        )
    if evolve is not None and evolve not in [r.name for r in recipes]:
        raise BenchError(f"{where}: evolve names no recipe: {evolve!r} (recipes: {', '.join(r.name for r in recipes)})")
    if rounds > 1 and evolve is None:
        evolve = recipes[0].name
    return Spec(
        path=path,
        base=base,
        references=refs,
        candidates=cands,
        data=data,
        recipes=recipes,
        eval=ev,
        report=report,
        seed=seed,
        batch_size=str(raw.get("batch_size", DEFAULT_BATCH_SIZE)),
        data_dir=data_dir,
        title=str(raw["title"]) if raw.get("title") else None,
        isolate=isolate,
        raw=raw,
        rounds=rounds,
        evolve=evolve,
    )


# --- sections -----------------------------------------------------------------------------------------------------


def _keys(d: dict[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(d) - allowed)
    if unknown:
        raise BenchError(
            f"{where}: unknown key(s) {', '.join(map(str, unknown))}; allowed: {', '.join(sorted(allowed))}"
        )


def _list(raw: dict[str, Any], key: str, where: str) -> list[Any]:
    value = raw.get(key) or []
    if not isinstance(value, list):
        raise BenchError(f"{where}: `{key}:` must be a list")
    return value


def _rel(text: str, folder: Path) -> str:
    """A relative path that exists next to the spec file becomes absolute; anything else stays as written."""
    p = Path(text).expanduser()
    if not p.is_absolute() and (folder / p).exists():
        return str((folder / p).resolve())
    return str(p.resolve()) if p.exists() else text


def _model(m: Any, where: str, folder: Path, default_name: str | None = None) -> ModelSpec:
    if not isinstance(m, dict):
        raise BenchError(f"{where} must be a mapping {{name, model, model_args}}")
    _keys(m, MODEL_KEYS, where)
    model = str(m.get("model") or "hf")
    args = str(m.get("model_args") or "")
    from reflectevo_bench.harness.backend import format_model_args, parse_model_args

    try:
        parsed = parse_model_args(args)
    except BenchError as exc:
        raise BenchError(f"{where}: {exc}") from None
    if "pretrained" in parsed:
        parsed["pretrained"] = _rel(parsed["pretrained"], folder)
        p = parsed["pretrained"]
        if (p.startswith(("/", ".", "~")) or Path(p).exists()) and not Path(p).exists():
            raise BenchError(f"{where}: model folder {p} does not exist")
    elif model == "hf":
        raise BenchError(f"{where}: model_args needs pretrained=PATH_OR_HUB_ID")
    args = format_model_args(parsed)
    name = m.get("name") or default_name or Path(parsed.get("pretrained", model)).name
    name = str(name)
    if not NAME.match(name):
        raise BenchError(f"{where}: name {name!r} must be letters, digits, '.', '_' or '-' (at most 64)")
    return ModelSpec(name=name, model=model, model_args=args)


def _tasks(value: Any, where: str, folder: Path) -> list[str]:
    if isinstance(value, str):
        value = [s.strip() for s in value.split(",") if s.strip()]
    if not isinstance(value, list) or not value or not all(isinstance(t, str) and t for t in value):
        raise BenchError(f"{where}: tasks must be a non-empty list of task names or YAML paths")
    return [_rel(t, folder) if t.endswith((".yaml", ".yml")) else t for t in value]


def _limit(value: Any, where: str) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise BenchError(f"{where}: limit must be a positive integer, got {value!r}")
    return value


def _docs(section: dict[str, Any], where: str, folder: Path) -> dict[str, Any]:
    """The docs a data or eval section's runs read: its ``tasks``, ``split`` (required: checked by the caller
    with the reason) and ``limit``."""
    return {
        "tasks": _tasks(section.get("tasks"), where, folder),
        "split": str(section["split"]),
        "limit": _limit(section.get("limit"), where),
    }


def _gen(value: Any, where: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, dict):
        value = ",".join(f"{k}={v}" for k, v in value.items())
    from reflectevo_bench.harness.gen_kwargs import parse_gen_kwargs

    try:
        parse_gen_kwargs(str(value))
    except BenchError as exc:
        raise BenchError(f"{where}: {exc}") from None
    return str(value)


def _protocol(name: Any, where: str, folder: Path) -> str:
    """A built-in protocol's name, or ``path/to/file.py:NAME`` (a protocol defined in one file, as ``run
    --protocol`` takes it; a relative path is taken relative to the spec's folder when the file is there), whose
    file is loaded now so that a bad one fails the spec."""
    if isinstance(name, str) and is_plugin_spec(name):
        path, _, proto = name.rpartition(":")
        name = f"{_rel(path, folder)}:{proto}"
        try:
            find_protocol(name)
        except BenchError as exc:
            raise BenchError(f"{where}: {exc}") from None
        return name
    if not isinstance(name, str) or name not in PROTOCOLS:
        raise BenchError(
            f"{where}: unknown protocol {name!r}; choose one of {', '.join(PROTOCOLS)} (or path/to/file.py:NAME)"
        )
    return name


def protocol_of(name: str) -> Protocol:
    """The protocol a checked spec names (a built-in name or ``path/to/file.py:NAME``)."""
    return find_protocol(name)


def _sampling(gen: str | None) -> bool:
    from reflectevo_bench.harness.gen_kwargs import parse_gen_kwargs

    return bool(parse_gen_kwargs(gen).get("do_sample")) if gen else False


def _data(d: Any, where: str, folder: Path) -> DataSpec:
    where = f"{where} data"
    if not isinstance(d, dict):
        raise BenchError(f"{where} must be a mapping (tasks, split, limit, reflections, gen_kwargs, kinds)")
    _keys(d, DATA_KEYS, where)
    from reflectevo_bench.trainers.data.datadir import KINDS

    kinds = d.get("kinds")
    if isinstance(kinds, str):
        kinds = [kinds]
    if not isinstance(kinds, list) or not kinds:
        raise BenchError(f"{where}: kinds must be a non-empty list of {', '.join(KINDS)}")
    bad = [k for k in kinds if k not in KINDS]
    if bad:
        raise BenchError(f"{where}: unknown kind(s) {', '.join(map(str, bad))}; choose from {', '.join(KINDS)}")
    if "split" not in d:
        raise BenchError(f"{where}: `split:` is required (the train split the training data comes from)")
    reflections = d.get("reflections", 1)
    if not isinstance(reflections, int) or isinstance(reflections, bool) or reflections < 1:
        raise BenchError(f"{where}: reflections must be a positive integer, got {reflections!r}")
    gen = _gen(d.get("gen_kwargs"), where)
    rgen = _gen(d.get("reflection_gen_kwargs"), where)
    protocol = _protocol(d.get("protocol", "reflect"), where, folder)
    if reflections > 1 and not _sampling(",".join(g for g in (gen, rgen) if g) or None):
        raise BenchError(
            f"{where}: reflections {reflections} needs sampled reflections: reflection_gen_kwargs: "
            '"do_sample=true,temperature=0.8" (or gen_kwargs to sample attempts too)'
        )
    instruction = d.get("reflection_instruction")
    samples = d.get("samples", 1)
    if not isinstance(samples, int) or isinstance(samples, bool) or samples < 1:
        raise BenchError(f"{where}: samples must be a positive integer, got {samples!r}")
    if samples > 1 and not _sampling(gen):
        raise BenchError(f'{where}: samples {samples} needs sampling: gen_kwargs: "do_sample=true,temperature=1.0"')
    if {"dpm", "dpref"} & set(kinds) and reflections < 2:
        raise BenchError(f"{where}: kinds dpm/dpref pair two reflections of one failure: set reflections: 2 or more")
    frac = d.get("eval_fraction", 0.1)
    if not isinstance(frac, (int, float)) or isinstance(frac, bool) or not 0 <= frac < 1:
        raise BenchError(f"{where}: eval_fraction must be in [0, 1), got {frac!r}")
    judge = d.get("judge")
    if "dpref" in kinds and not judge:
        raise BenchError(f"{where}: kind dpref ranks reflections with a judge: add judge: {{model, model_args}}")
    if judge is not None and (not isinstance(judge, dict) or set(judge) - {"model", "model_args"}):
        raise BenchError(f"{where}: judge must be a mapping {{model, model_args}}")
    return DataSpec(
        **_docs(d, where, folder),
        reflections=reflections,
        gen_kwargs=gen,
        kinds=list(dict.fromkeys(kinds)),
        protocol=protocol,
        eval_fraction=float(frac),
        judge={k: str(v) for k, v in judge.items()} if judge else None,
        reflection_gen_kwargs=rgen,
        reflection_instruction=None if instruction is None else str(instruction),
        samples=samples,
    )


def _recipe(name: Any, r: Any, where: str) -> Recipe:
    w = f"{where} recipes.{name}"
    if not isinstance(name, str) or not NAME.match(name):
        raise BenchError(f"{w}: a recipe name must be letters, digits, '.', '_' or '-'")
    if not isinstance(r, dict):
        raise BenchError(f"{w} must be a mapping {{trainer, data, config}}")
    _keys(r, RECIPE_KEYS, w)
    from reflectevo_bench.trainers.registry import trainers

    registered = trainers()
    trainer = r.get("trainer")
    if trainer not in registered:
        names = list(registered)
        raise BenchError(f"{w}: trainer must be {', '.join(names[:-1])} or {names[-1]}, got {trainer!r}")
    accepted = registered[trainer].kinds
    data = r.get("data")
    config = r.get("config") or {}
    if not isinstance(config, dict):
        raise BenchError(f"{w}: config must be a mapping of TRL keys (and peft, merge, stage, objective)")
    if isinstance(data, dict):
        if not registered[trainer].two_stage or set(data) != {"reflection", "correction"}:
            raise BenchError(
                f"{w}: a data mapping is for two-stage SFT: {{reflection: reflection, correction: correction}}"
            )
    elif not isinstance(data, str):
        raise BenchError(f"{w}: data must name a data kind ({', '.join(accepted)})")
    recipe = Recipe(name=name, trainer=trainer, data=data, config=dict(config), launch=_launch(r.get("launch"), w))
    bad = [k for k in recipe.kinds() if k not in accepted]
    if bad:
        raise BenchError(f"{w}: train {trainer} takes {', '.join(accepted)}, not {', '.join(bad)}")
    _check_config(recipe, w)
    return recipe


def _launch(value: Any, where: str) -> dict[str, Any] | None:
    """``launch: {accelerate: zero3, num_processes: 8}``: train this recipe under ``accelerate launch``."""
    if value is None:
        return None
    if not isinstance(value, dict) or "accelerate" not in value:
        raise BenchError(
            f"{where}: launch must be a mapping {{accelerate: ddp|zero2|zero3|fsdp|PATH, num_processes: N}}"
        )
    _keys(value, LAUNCH_KEYS, f"{where} launch")
    from reflectevo_bench.trainers.config import ACCELERATE_CONFIGS

    name = str(value["accelerate"])
    if name not in ACCELERATE_CONFIGS and not Path(name).is_file():
        raise BenchError(
            f"{where}: launch.accelerate {name!r} is neither a shipped config "
            f"({', '.join(ACCELERATE_CONFIGS)}) nor a file"
        )
    n = value.get("num_processes", 1)
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise BenchError(f"{where}: launch.num_processes must be a positive integer, got {n!r}")
    return {"accelerate": name, "num_processes": n}


def _check_config(recipe: Recipe, where: str) -> None:
    """TRL keys checked against the trainer's config class (the values are checked by TRL at train time)."""
    import difflib

    taken = [k for k in SET_BY_EXPERIMENT if k in recipe.config]
    if taken:
        raise BenchError(
            f"{where}: config sets {', '.join(taken)}, which the experiment sets (base model, data dir, "
            "stage dir); remove it"
        )
    try:
        from reflectevo_bench.trainers.config import config_class, own_keys

        cls = config_class(recipe.trainer)
    except ImportError:
        raise BenchError("recipes need TRL: pip install 'reflectevo-bench[train]'") from None
    known = {f.name for f in dataclasses.fields(cls) if f.init} | set(own_keys(recipe.trainer))
    unknown = [k for k in recipe.config if k not in known]
    if unknown:
        hints = [
            f"{k} (did you mean {m[0]}?)" if (m := difflib.get_close_matches(k, list(known), n=1)) else k
            for k in unknown
        ]
        raise BenchError(f"{where}: unknown config key(s) for train {recipe.trainer}: {', '.join(hints)}")


def _eval(e: Any, where: str, folder: Path) -> EvalSpec:
    where = f"{where} eval"
    if not isinstance(e, dict):
        raise BenchError(f"{where} must be a mapping (tasks, split, limit, protocol, controls)")
    _keys(e, EVAL_KEYS, where)
    if "split" not in e:
        raise BenchError(f"{where}: `split:` is required (the test split every model is scored on)")
    protocol = _protocol(e.get("protocol", "reflect"), where, folder)
    controls = e.get("controls") or []
    if isinstance(controls, str):
        controls = [controls]
    if not isinstance(controls, list):
        raise BenchError(
            f"{where}: controls must be a list of protocols ({', '.join(p for p in PROTOCOLS if p != protocol)})"
        )
    controls = [_protocol(c, f"{where} controls", folder) for c in controls]
    names = [protocol_of(p).name for p in [protocol, *controls]]  # a stage's key and folder name its protocol
    if len(set(names)) != len(names):
        raise BenchError(f"{where}: controls must differ from the protocol and from each other")
    gen = _gen(e.get("gen_kwargs"), where)
    sampled = [p for p in [protocol, *controls] if protocol_of(p).needs_sampling]
    if sampled and not _sampling(gen):
        raise BenchError(f'{where}: protocol {sampled[0]} needs sampling: gen_kwargs: "do_sample=true,temperature=0.8"')
    attempts = e.get("attempts")
    if attempts is not None and (not isinstance(attempts, int) or isinstance(attempts, bool) or attempts < 2):
        raise BenchError(f"{where}: attempts must be an integer of at least 2, got {attempts!r}")
    if protocol_of(protocol).max_attempts == 1:
        raise BenchError(f"{where}: protocol {protocol} makes one attempt; use reflect (controls: retry, self-refine)")
    roles = e.get("roles", ["self"])
    roles = [roles] if isinstance(roles, str) else roles
    if not isinstance(roles, list) or not roles or any(r not in ROLES for r in roles) or len(set(roles)) != len(roles):
        raise BenchError(
            f"{where}: roles must be a non-empty list of {' and '.join(ROLES)} (reflector: the candidate "
            f"writes the reflections and the base model answers), got {roles!r}"
        )
    if "reflector" in roles and not protocol_of(protocol).writes_reflections:
        raise BenchError(
            f"{where}: roles: reflector needs a protocol that reflects (reflect, reflect-answer), not {protocol}"
        )
    return EvalSpec(
        **_docs(e, where, folder),
        protocol=protocol,
        controls=controls,
        gen_kwargs=gen,
        attempts=attempts,
        roles=list(roles),
    )


def _report(r: Any, where: str, ev: EvalSpec) -> ReportSpec:
    where = f"{where} report"
    if not isinstance(r, dict):
        raise BenchError(f"{where} must be a mapping {{metric, max_drop, alpha}}")
    _keys(r, REPORT_KEYS, where)
    out = ReportSpec(**{k: r[k] for k in REPORT_KEYS if k in r})
    from reflectevo_bench.leaderboards.compare import metric_round
    from reflectevo_bench.leaderboards.gate import check_settings

    for key in ("max_drop", "alpha"):
        value = getattr(out, key)
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise BenchError(f"{where}: {key} must be a number, got {value!r}")
    try:
        metric_round(str(out.metric), ev.attempts or 2)
        check_settings(float(out.max_drop), float(out.alpha), str(out.scope))
    except BenchError as exc:
        raise BenchError(f"{where}: {str(exc).replace('--', '')}") from None
    return out
