"""``reflectevo-bench run``: validate everything, then drive the engine and write records and results."""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path
from typing import Any

import yaml
from rich.console import Console

from reflectevo_bench.defaults import DEFAULT_LIMIT, DEFAULT_MODEL_ALIAS, DEFAULT_TASKS
from reflectevo_bench.errors import BenchError, one_line
from reflectevo_bench.harness import run_dir as rd
from reflectevo_bench.harness.backend import Backend, build_lm, format_model_args, parse_model_args, vllm_model_args
from reflectevo_bench.harness.engine import Engine, EngineConfig
from reflectevo_bench.harness.environment import git_hash, package_versions, set_seeds
from reflectevo_bench.harness.gen_kwargs import DEFAULT_GEN_KWARGS, parse_gen_kwargs, split_key_values
from reflectevo_bench.harness.merge import finish_shard
from reflectevo_bench.harness.progress import RunProgress
from reflectevo_bench.harness.protocols import Protocol, find_protocol
from reflectevo_bench.harness.records import SampleWriter, read_records
from reflectevo_bench.harness.reflection_pool import ReflectionPool
from reflectevo_bench.harness.response_cache import ResponseCache
from reflectevo_bench.harness.results import write_results
from reflectevo_bench.harness.run_options import RunOptions, run_identity
from reflectevo_bench.harness.seeding import samples
from reflectevo_bench.harness.shard import Shard, detect_shard, run_alone, shard_dir
from reflectevo_bench.harness.summary import print_summary
from reflectevo_bench.tasks.eval_task import EvalTask, doc_hash
from reflectevo_bench.tasks.registry import check_include_paths, include_path_specs, load_eval_tasks


def resolve_model_args(model: str, raw: str | None, console: Console | None, seed: int | None = None) -> dict[str, str]:
    """Parse model args; an ``hf`` or ``vllm`` model with no ``pretrained`` is the default SmolLM2-135M-Instruct;
    ``vllm`` gets this workload's defaults (prefix caching, max_model_len, ``seed``: see ``vllm_model_args``)."""
    args = parse_model_args(raw)
    if model in ("hf", "vllm"):
        from reflectevo_bench.models.registry import MODEL_ALIASES, resolve_model_alias

        if "pretrained" not in args:
            if console:
                console.print(
                    "[dim]no pretrained= given: using SmolLM2-135M-Instruct (prepared once for offline use)[/]"
                )
            args = {"pretrained": DEFAULT_MODEL_ALIAS, **args}
        if args["pretrained"].strip().lower() in MODEL_ALIASES:
            try:
                args["pretrained"] = str(resolve_model_alias(args["pretrained"]))
            except Exception as exc:
                raise BenchError(f"cannot prepare model '{args['pretrained']}': {one_line(exc, 300)}") from None
    return vllm_model_args(args, seed) if model == "vllm" else args


def _batch_size(text: str) -> int | str:
    if text == "auto":
        return text
    try:
        value = int(text)
    except ValueError:
        raise BenchError(f"--batch-size must be a positive integer or 'auto', got '{text}'") from None
    if value < 1:
        raise BenchError(f"--batch-size must be a positive integer or 'auto', got '{text}'")
    return value


def _device(model: str, model_args: dict[str, str], device: str | None) -> str | None:
    if device or model != "hf" or "device" in model_args:
        return device
    import torch

    return None if torch.cuda.is_available() else "cpu"


def parse_metadata(text: str | None) -> dict[str, Any]:
    """``--metadata`` as lm-eval takes it: a JSON object, or ``key=value,...`` (values typed as YAML scalars:
    ``numbers=4,max_target=500``; lists need the JSON form)."""
    if not text or not text.strip():
        return {}
    if not text.strip().startswith("{"):
        out: dict[str, Any] = {}
        for key, raw in split_key_values(text, "--metadata").items():
            try:
                out[key] = yaml.safe_load(raw) if raw else ""
            except yaml.YAMLError:
                out[key] = raw
        return out
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BenchError(f"--metadata must be a JSON object or key=value pairs ({exc.msg})") from None
    if not isinstance(value, dict):
        raise BenchError("--metadata must be a JSON object, e.g. '{\"num_examples\": 200}', or key=value pairs")
    return value


def run(opts: RunOptions, console: Console) -> tuple[Path, dict[str, Any] | None]:
    shard = detect_shard(opts.shard)
    if shard is not None and not opts.output:
        raise BenchError(
            f"shard {shard.label} (from {shard.source}) needs --output: all shards of a run write into one dir"
        )
    pinned = run_alone() if shard is not None else None  # before torch sees a GPU or a backend sees torchrun
    protocol = find_protocol(opts.protocol)
    attempts = opts.attempts if opts.attempts is not None else protocol.default_attempts
    protocol.check_attempts(attempts)
    gen_overrides = parse_gen_kwargs(opts.gen_kwargs)
    reflection_overrides = parse_gen_kwargs(opts.reflection_gen_kwargs, "--reflection-gen-kwargs")
    batch_size = _batch_size(opts.batch_size)
    if opts.chunk_size < 1:
        raise BenchError("--chunk-size must be at least 1")
    limit = opts.limit if opts.limit is not None else (DEFAULT_LIMIT if opts.tasks is None else None)
    metadata = parse_metadata(opts.metadata)
    include_path = check_include_paths(opts.include_path)
    tasks = load_eval_tasks(
        opts.tasks or DEFAULT_TASKS, opts.data_dir, limit, opts.num_fewshot, metadata, opts.split, include_path
    )
    if opts.log_samples:
        console.print("[dim]--log_samples: samples are always logged (samples_<task>.jsonl in the run dir)[/]")
    for task in tasks:
        task.fewshot_as_multiturn = opts.fewshot_as_multiturn
    _check_branches(opts.reflections, protocol, attempts)
    if opts.samples < 1:
        raise BenchError(f"--samples must be at least 1, got {opts.samples}")
    for task in tasks:
        attempt_kwargs = task.generation_kwargs(DEFAULT_GEN_KWARGS, gen_overrides)
        reflection_kwargs = task.generation_kwargs(DEFAULT_GEN_KWARGS, {**gen_overrides, **reflection_overrides})
        if protocol.needs_sampling and not attempt_kwargs.get("do_sample"):
            raise BenchError(
                f"--protocol {protocol.name} needs sampling (greedy would repeat attempt 1 on task "
                f"'{task.name}'): pass --gen-kwargs do_sample=true,temperature=0.8"
            )
        if opts.reflections > 1 and not reflection_kwargs.get("do_sample"):
            raise BenchError(
                f"--reflections {opts.reflections} needs sampling (greedy would write the same reflection "
                f"on task '{task.name}'): pass --reflection-gen-kwargs do_sample=true,temperature=0.8 "
                "(or --gen-kwargs to sample attempts too)"
            )
        if opts.samples > 1 and not attempt_kwargs.get("do_sample"):
            raise BenchError(
                f"--samples {opts.samples} needs sampling (greedy would give one answer on task "
                f"'{task.name}'): pass --gen-kwargs do_sample=true,temperature=0.8"
            )
    if (opts.reflection_gen_kwargs or opts.reflection_instruction) and not protocol.writes_reflections:
        raise BenchError(
            f"--reflection-gen-kwargs / --reflection-instruction need a protocol that reflects, not '{protocol.name}'"
        )
    pools = _reflection_pools(tasks, opts.reflection_pool, "reflectevo" if opts.reflection_instruction else None)
    if opts.reflection_instruction is not None:
        for pool in {id(p): p for p in pools.values()}.values():
            pool.choose(protocol, opts.reflection_instruction)  # an unknown name fails before anything is written
    for task in tasks:  # code tasks start their sandbox now: no sandbox fails the run before any generation
        task.prepare()
    model_args = resolve_model_args(opts.model, opts.model_args, console, opts.seed)
    reflector_args = None
    if opts.reflector_model or opts.reflector_model_args:
        reflector_model = opts.reflector_model or opts.model
        reflector_args = resolve_model_args(reflector_model, opts.reflector_model_args, console, opts.seed)
    resolved = {  # the identity options as this run resolved them; the others are recorded as given
        "model_args": format_model_args(model_args),
        "reflector_model": (opts.reflector_model or opts.model) if reflector_args is not None else None,
        "reflector_model_args": format_model_args(reflector_args) if reflector_args is not None else None,
        "tasks": [t.name for t in tasks],
        "protocol": protocol.name,
        "attempts": attempts,
        "limit": limit,
        "gen_kwargs": gen_overrides,
        "data_dir": str(Path(opts.data_dir).resolve()) if opts.data_dir else None,
        "metadata": metadata,
        "fewshot_as_multiturn": opts.fewshot_as_multiturn if any(t.task.config.num_fewshot for t in tasks) else None,
        "reflection_pool": pools[tasks[0].name].source if opts.reflection_pool and tasks else None,
        "reflection_gen_kwargs": reflection_overrides,
        "include_path": include_path,
    }
    computed = {"task_specs": include_path_specs(_task_specs(opts.tasks), include_path)}
    if protocol.source is not None:  # a protocol loaded from a file: resume and rescore load it again
        computed["protocol_file"] = f"{protocol.source}:{protocol.name}"
    identity = run_identity(opts, resolved, computed)  # a resumed run must match it exactly
    out_dir = Path(opts.output or f"runs/{dt.datetime.now():%Y%m%d-%H%M%S}-{protocol.name}")
    with rd.hold(out_dir, shard):  # one process writes a run dir (or one shard of it) at a time
        return _run_held(
            opts,
            console,
            out_dir,
            shard,
            pinned,
            identity,
            tasks,
            protocol,
            attempts,
            gen_overrides,
            reflection_overrides,
            model_args,
            reflector_args,
            batch_size,
            pools,
        )


def _run_held(
    opts: RunOptions,
    console: Console,
    out_dir: Path,
    shard: Shard | None,
    pinned: str | None,
    identity: dict[str, Any],
    tasks: list[EvalTask],
    protocol: Protocol,
    attempts: int,
    gen_overrides: dict[str, Any],
    reflection_overrides: dict[str, Any],
    model_args: dict[str, str],
    reflector_args: dict[str, str] | None,
    batch_size: int | str,
    pools: dict[str, ReflectionPool],
) -> tuple[Path, dict[str, Any] | None]:
    manifest = rd.check_output_dir(out_dir, identity, opts.resume, shard)
    work_dir = out_dir if shard is None else shard_dir(out_dir, shard.index)  # where this process writes
    if manifest is not None:
        _check_docs_unchanged(work_dir, tasks)

    seeds = set_seeds(opts.seed)
    generator = make_backend("generator", opts.model, model_args, batch_size, opts.device)
    reflector = None
    if reflector_args is not None:
        reflector = make_backend("reflector", identity["reflector_model"], reflector_args, batch_size, opts.device)

    request_seeds = _seed_requests(
        console, tasks, [gen_overrides, {**gen_overrides, **reflection_overrides}], opts.seed, generator, reflector
    )
    if manifest is None:
        environment = {**_environment(tasks, protocol.feedback_mode, seeds, pools), "request_seeds": request_seeds}
        manifest = rd.start_manifest(out_dir, identity, environment, shard)
    generator.use_cache(ResponseCache(work_dir / "cache" / "generator.jsonl"))
    if reflector is not None:
        reflector.use_cache(ResponseCache(work_dir / "cache" / "reflector.jsonl"))

    done = {(t, r["doc_id"]) for t, recs in read_records(work_dir, shard=True).items() for r in recs}
    pending = [
        (t, i)
        for t in tasks
        for i in (shard.doc_ids(len(t.docs)) if shard else range(len(t.docs)))
        if (t.name, i) not in done
    ]
    if shard is not None:
        console.print(
            f"shard {shard.label} from {shard.source}: {len(done) + len(pending)} docs"
            + (f" on CUDA_VISIBLE_DEVICES={pinned}" if pinned else "")
        )
    if done:
        console.print(f"resuming: {len(done)} docs already finished, {len(pending)} to go")

    config = EngineConfig(
        protocol,
        attempts,
        DEFAULT_GEN_KWARGS,
        gen_overrides,
        opts.chunk_size,
        opts.system_instruction,
        opts.reflections,
        opts.seed,
        pools,
        opts.split,
        opts.samples,
        reflection_overrides,
        opts.reflection_instruction,
    )
    writer = SampleWriter(work_dir)
    started = time.time()
    rd.open_session(work_dir, manifest, started, len(pending))
    try:
        # --format json: stdout is one JSON document, so the progress goes to stderr
        with RunProgress(Console(stderr=True) if opts.summary_format == "json" else console) as progress:
            Engine(config, generator, reflector, writer.write, progress).run(pending)
    finally:
        writer.close()
        generator.cache.close()
        if reflector is not None:
            reflector.cache.close()
    rd.close_session(work_dir, manifest, time.time() - started)
    if shard is None:
        results = write_results(out_dir)
    else:
        results, what = finish_shard(out_dir, manifest)
        console.print(f"shard {shard.label} finished: {what}")
        if results is None:
            return out_dir, None
    print_summary(console, results, opts.summary_format)
    if opts.summary_format != "json":  # stdout stays one JSON document
        console.print(f"records and results in {out_dir}")
    return out_dir, results


def _seed_requests(
    console: Console,
    tasks: list[EvalTask],
    overrides: list[dict[str, Any]],
    seed: int,
    generator: Backend,
    reflector: Backend | None,
) -> dict[str, str]:
    """Seed every sampled request from --seed and its doc/phase/branch (exact resume); say in one line where a
    backend cannot take such seeds and the run samples. Returns what run.json records."""
    how = {"generator": generator.seed_requests(seed)}
    if reflector is not None:
        how["reflector"] = reflector.seed_requests(seed)
    if any(samples(t.generation_kwargs(DEFAULT_GEN_KWARGS, o)) for t in tasks for o in overrides):
        for role, text in how.items():
            if text.startswith("unsupported"):
                console.print(f"[yellow]note:[/] the {role} backend cannot seed each request ({text[13:]})")
    return how


def _check_branches(reflections: int, protocol: Any, attempts: int) -> None:
    if reflections < 1:
        raise BenchError(f"--reflections must be at least 1, got {reflections}")
    if reflections > 1 and not protocol.writes_reflections:
        raise BenchError(
            f"--reflections {reflections} needs a protocol that reflects (reflect or self-refine), "
            f"not '{protocol.name}'"
        )


def _reflection_pools(
    tasks: list[EvalTask], spec: str | None, fallback: str | None = None
) -> dict[str, ReflectionPool]:
    """Per task, the pool its reflection requests come from: --reflection-pool for all, else the task's own, else
    ``fallback`` (the built-in pool when --reflection-instruction names an entry)."""
    if spec:
        pool = ReflectionPool.load(spec)
        return {t.name: pool for t in tasks}
    pools = {
        t.name: ReflectionPool.from_value(t.reflection.reflection_pool, f"task:{t.name}")
        for t in tasks
        if t.reflection.reflection_pool is not None
    }
    if fallback:
        default = ReflectionPool.load(fallback)
        pools.update({t.name: default for t in tasks if t.name not in pools})
    return pools


def make_backend(
    role: str, model: str, model_args: dict[str, str], batch_size: int | str, device: str | None
) -> Backend:
    backend = Backend(build_lm(model, model_args, batch_size, _device(model, model_args, device)), role)
    backend.check_chat_template()
    return backend


def _environment(
    tasks: list[EvalTask], feedback_mode: str, seeds: dict[str, int], pools: dict[str, ReflectionPool]
) -> dict[str, Any]:
    """What the run used (task configs, verifiers, software), recorded once in run.json."""
    return {
        "tasks": [t.name for t in tasks],
        "task_configs": {t.name: _stable(t.task.dump_config()) for t in tasks},
        "task_versions": {t.name: t.version for t in tasks},
        "task_sizes": {t.name: len(t.task.dataset[t.split]) if t.split else len(t.task.eval_docs) for t in tasks},
        "task_sizes_limited": {t.name: len(t.docs) for t in tasks},
        "splits": {t.name: t.split for t in tasks},
        "reflection_pools": {name: {"source": p.source, "entries": p.entries} for name, p in pools.items()},
        "verifiers": {t.name: t.verifier_name for t in tasks},
        "feedback_mode": feedback_mode,
        "gen_defaults": DEFAULT_GEN_KWARGS,
        "seeds": seeds,
        "package_versions": package_versions(),
        "git_hash": git_hash(),
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }


def _stable(value: Any) -> Any:
    """A dumped task config with functions named ``module:qualname`` (their default repr holds a memory address,
    so two processes running the same task would record different configs)."""
    if isinstance(value, dict):
        return {k: _stable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_stable(v) for v in value]
    if callable(value):
        return f"{getattr(value, '__module__', None)}:{getattr(value, '__qualname__', type(value).__name__)}"
    return value


def _task_specs(specs: str | None) -> list[str]:
    """The --tasks entries, YAML paths made absolute, so a later rescore can load the same tasks."""
    out = []
    for spec in (s.strip() for s in (specs or DEFAULT_TASKS).split(",")):
        if spec:
            out.append(str(Path(spec).resolve()) if spec.endswith((".yaml", ".yml")) else spec)
    return out


def _check_docs_unchanged(out_dir: Path, tasks: list[EvalTask]) -> None:
    by_name = {t.name: t for t in tasks}
    for task, recs in read_records(out_dir, shard=True).items():
        t = by_name.get(task)
        for rec in recs:
            if t is None or rec["doc_id"] >= len(t.docs) or doc_hash(t.docs[rec["doc_id"]]) != rec["doc_hash"]:
                raise BenchError(
                    f"--resume: doc {rec['doc_id']} of task '{task}' changed since the run started; "
                    "start a new run in another directory"
                )
