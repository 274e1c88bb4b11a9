"""The one place that touches lm-eval's private API (names with a leading underscore, internal modules).

lm-eval's public API has no way to read a task YAML without resolving its functions, to find a task's index entry
by path, to build a task's full config with a dataset hook of ours, or to list a task's filter ensembles and metric
names. Those calls live here, so an lm-eval upgrade that moves them breaks one module, and the version they were
written against is stated once (``MIN_LM_EVAL``, the lower bound in ``pyproject.toml``; a test keeps them equal).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from reflectevo_bench.errors import BenchError

MIN_LM_EVAL = "0.4.13"  # the lowest lm-eval this adapter is tested with (pyproject: lm-eval>=MIN_LM_EVAL,<0.5)


def _private(module: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        from importlib.metadata import version

        raise BenchError(f"lm-eval {version('lm-eval')} has no {module}: install lm-eval>={MIN_LM_EVAL},<0.5") from None


def load_yaml_unresolved(path: Path) -> dict[str, Any]:
    """A task YAML as a dict, ``!function`` tags left unresolved (nothing is imported)."""
    return _private("lm_eval.tasks._yaml_loader").load_yaml(path, resolve_func=False)


def index_entry(tm: Any, spec: str, is_path: bool) -> Any:
    """The TaskManager's index entry for a registered name or a YAML path (None: unknown)."""
    index = _private("lm_eval.tasks._index")
    return index.TaskIndex.entry_from_path(Path(spec).resolve()) if is_path else tm.task_index.get(spec)


def is_single_task(entry: Any) -> bool:
    """Whether an index entry is one task (not a group or a tag)."""
    return entry.kind == _private("lm_eval.tasks._index").Kind.TASK


def full_config(tm: Any, entry: Any, overrides: dict[str, Any]) -> dict[str, Any]:
    """A task's full config (includes and templates merged) with ``overrides`` applied, as the TaskManager builds it."""
    return tm._factory._load_full_config(entry, overrides)


def filter_ensembles(task: Any) -> list[Any]:
    """A ConfigurableTask's filter ensembles, in its YAML's order."""
    return list(getattr(task, "_filters", []))


def metric_names(task: Any) -> list[str]:
    """A ConfigurableTask's metric names, in its YAML's order."""
    return list(getattr(task, "_metric_fn_list", {}).keys())
