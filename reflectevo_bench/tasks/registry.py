"""Finding and loading tasks through lm-eval's own TaskManager (built-in YAML folders + user paths)."""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

from reflectevo_bench.errors import BenchError, one_line

TASKS_ROOT = Path(__file__).resolve().parent


def builtin_task_dirs() -> list[Path]:
    """Every folder under tasks/ that holds a task YAML."""
    return sorted({p.parent for p in TASKS_ROOT.rglob("*.yaml")})


def task_manager(
    extra_paths: list[str] | None = None,
    data_dir: str | None = None,
    with_lm_eval: bool = False,
    metadata: dict[str, Any] | None = None,
):
    """A TaskManager that knows our tasks (and lm-eval's own when asked: indexing those takes seconds).

    ``data_dir`` reaches every ``custom_dataset`` hook as a keyword argument (lm-eval passes metadata).
    """
    from lm_eval.tasks import TaskManager

    include = [str(p) for p in builtin_task_dirs()] + list(extra_paths or [])
    meta = dict(metadata or {})
    if data_dir:
        meta["data_dir"] = str(Path(data_dir).resolve())
    return TaskManager(include_path=include, metadata=meta or None, include_defaults=with_lm_eval)


def own_task_names() -> list[str]:
    """Names of the tasks that ship with reflectevo-bench (not lm-eval's)."""
    from reflectevo_bench.tasks.lmeval_api import load_yaml_unresolved

    names = []
    for path in sorted(TASKS_ROOT.rglob("*.yaml")):
        cfg = load_yaml_unresolved(path)
        for key in ("task", "group"):
            if isinstance(cfg.get(key), str):
                names.append(cfg[key])
    return sorted(set(names))


def check_include_paths(include_path: list[str] | tuple[str, ...] | None) -> list[str]:
    """``--include_path`` folders (lm-eval's spelling), absolute; one that is not a folder is refused in one line."""
    out = []
    for raw in include_path or ():
        path = Path(raw).expanduser()
        if not path.is_dir():
            raise BenchError(f"--include_path {raw} is not a directory: pass a folder of task YAML files")
        out.append(str(path.resolve()))
    return out


def include_path_specs(specs: list[str], include_path: list[str] | None) -> list[str]:
    """``specs`` with each name found in an ``--include_path`` folder replaced by its YAML path, so a run dir names
    its tasks in a form that loads again without the flag (``results --rescore``, ``data build``)."""
    if not include_path:
        return list(specs)
    from lm_eval.tasks import TaskManager

    logging.getLogger("lm_eval").setLevel(logging.ERROR)
    index = TaskManager(include_path=list(include_path), include_defaults=False).task_index
    out = []
    for spec in specs:
        entry = index.get(spec)
        yaml_path = getattr(entry, "yaml_path", None)
        out.append(str(Path(yaml_path).resolve()) if yaml_path else spec)
    return out


def resolve_limit(limit: int | float | None, n_docs: int) -> int | None:
    """Docs kept under ``--limit``, as lm-eval reads it: a float in (0, 1) is that fraction of the docs (rounded up),
    anything else a count."""
    if limit is None:
        return None
    if isinstance(limit, float) and 0 < limit < 1:
        return min(n_docs, math.ceil(n_docs * limit))
    return min(n_docs, int(limit))


def check_limit(limit: int | float | None) -> None:
    if limit is None:
        return
    if isinstance(limit, float) and not limit.is_integer():
        if not 0 < limit < 1:
            raise BenchError(f"--limit must be a whole number of docs or a fraction between 0 and 1, got {limit}")
    elif limit < 1:
        raise BenchError(f"--limit must be at least 1 (or a fraction between 0 and 1), got {limit}")


def load_lm_eval_tasks(
    specs: list[str],
    data_dir: str | None = None,
    metadata: dict[str, Any] | None = None,
    include_path: list[str] | None = None,
) -> dict[str, Any]:
    """Load registered names or YAML paths (or names in ``include_path`` folders) into lm-eval Task objects, one
    clear error per bad spec."""
    if not specs:
        raise BenchError("no tasks given: pass --tasks NAME[,NAME...] (see `reflectevo-bench tasks list`)")
    if data_dir is not None and not Path(data_dir).is_dir():
        raise BenchError(f"--data-dir {data_dir} is not a directory")
    logging.getLogger("lm_eval").setLevel(logging.ERROR)
    paths = []
    for spec in specs:
        if spec.endswith((".yaml", ".yml")):
            if not Path(spec).is_file():
                raise BenchError(f"task file {spec} does not exist")
            paths.append(str(Path(spec).resolve().parent))
    paths = sorted(set(paths)) + check_include_paths(include_path)
    tm = task_manager(paths, data_dir, metadata=metadata)
    names = [s for s in specs if not s.endswith((".yaml", ".yml"))]
    if any(name not in tm.all_tasks for name in names):
        tm = task_manager(paths, data_dir, with_lm_eval=True, metadata=metadata)
    tasks: dict[str, Any] = {}
    for spec in specs:
        is_path = spec.endswith((".yaml", ".yml"))
        if not is_path and spec not in tm.all_tasks:
            raise BenchError(f"unknown task '{spec}': see `reflectevo-bench tasks list`, or pass a path to a task YAML")
        try:
            loaded = tm.load(str(Path(spec).resolve()) if is_path else spec)
        except BenchError:
            raise
        except StopIteration:  # lm-eval reads the first row of each split: there is none
            raise BenchError(
                f"cannot load task '{spec}': its dataset has no rows (an empty data file or split): "
                "check dataset_kwargs / --data-dir"
            ) from None
        except Exception as exc:  # lm-eval raises many kinds for bad YAML / missing data
            raise BenchError(f"cannot load task '{spec}': {one_line(exc, with_type=True)}") from None
        tasks.update(loaded["tasks"])
    return tasks


def load_eval_tasks(
    specs: str,
    data_dir: str | None,
    limit: int | float | None,
    num_fewshot: int | None = None,
    metadata: dict[str, Any] | None = None,
    split: str | None = None,
    include_path: list[str] | None = None,
) -> list[Any]:
    """Comma-separated task names / YAML paths → EvalTasks (docs of ``split``, the first ``limit``: a count, or a
    float in (0, 1) for that fraction of each task's docs, as lm-eval's ``--limit``)."""
    from reflectevo_bench.tasks.eval_task import EvalTask

    names = [s.strip() for s in specs.split(",") if s.strip()]
    check_limit(limit)
    if num_fewshot is not None and num_fewshot < 0:
        raise BenchError(f"--num-fewshot must be 0 or more, got {num_fewshot}")
    if split is not None:  # multi-split loaders (tasks/common/splits.py) then load only this split
        from reflectevo_bench.tasks.common.splits import SPLIT_KEY

        metadata = {**(metadata or {}), SPLIT_KEY: split}
    loaded = load_lm_eval_tasks(names, data_dir, metadata, include_path)
    if num_fewshot is not None:
        for task in loaded.values():
            task.set_config(key="num_fewshot", value=num_fewshot)
    out = [EvalTask.from_lm_eval(name, task, None, split) for name, task in loaded.items()]
    for task in out:
        task.docs = task.docs[: resolve_limit(limit, len(task.docs))]
    return out


def load_lm_eval_task_on_rows(
    spec: str, rows: list[dict[str, Any]], metadata: dict[str, Any] | None = None
) -> tuple[str, Any]:
    """(name, lm-eval Task) for one task built on ``rows`` (raw dataset rows) instead of its dataset.

    Nothing is downloaded or read from a data dir: every split the YAML names holds the first row, so the task's
    prompts, filters and verifier load as usual (``score`` with inline ``{"doc": ...}`` rows needs no dataset).
    """
    import datasets
    from lm_eval.api.task import ConfigurableTask

    from reflectevo_bench.tasks.lmeval_api import full_config, index_entry, is_single_task

    if not rows:
        raise BenchError("no rows to build the task on")
    logging.getLogger("lm_eval").setLevel(logging.ERROR)
    is_path = spec.endswith((".yaml", ".yml"))
    if is_path and not Path(spec).is_file():
        raise BenchError(f"task file {spec} does not exist")
    paths = [str(Path(spec).resolve().parent)] if is_path else []
    tm = task_manager(paths, metadata=metadata)
    entry = index_entry(tm, spec, is_path)
    if entry is None and not is_path:
        tm = task_manager(paths, with_lm_eval=True, metadata=metadata)
        entry = tm.task_index.get(spec)
    if entry is None:
        raise BenchError(f"unknown task '{spec}': see `reflectevo-bench tasks list`, or pass a path to a task YAML")
    if not is_single_task(entry):
        raise BenchError(f"--task {spec} is a group or tag, not one task: score one task at a time")
    one = datasets.Dataset.from_list([rows[0]])

    def inline_dataset(**_: Any) -> datasets.DatasetDict:
        return datasets.DatasetDict({split: one for split in splits})

    try:
        cfg = full_config(tm, entry, {"custom_dataset": inline_dataset})
        splits = {cfg.get(k) for k in ("training_split", "validation_split", "test_split", "fewshot_split")} - {None}
        for key in ("tag", "group", "task_list"):
            cfg.pop(key, None)
        task = ConfigurableTask(config=cfg)
    except BenchError:
        raise
    except Exception as exc:  # lm-eval raises many kinds for bad YAML
        raise BenchError(f"cannot load task '{spec}': {one_line(exc, with_type=True)}") from None
    return task.task_name, task
