"""The `reflection:` block a task YAML carries under `metadata:` (so stock lm-eval still loads it).

```yaml
metadata:
  reflection:
    verifier: reflectevo_bench.tasks.countdown.verifier:verify   # or "verifier.py:verify" beside the YAML
    answer_format: "End with a line `Answer: <expression>`."
    templates: {feedback_incorrect: "...", reflect: "..."}        # per-task protocol template overrides
    reflection_pool: ["{feedback} Explain the error ...", ...]     # optional: reflection requests to draw from
    gold_response: my_task.py:gold                               # optional: doc -> a gold-formatted answer
```
Without a verifier the task's own lm-eval filters and metric decide correctness.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from reflectevo_bench.errors import BenchError

KNOWN_KEYS = {"verifier", "answer_format", "templates", "metric", "filter", "reflection_pool", "gold_response"}


@dataclass(frozen=True)
class ReflectionConfig:
    verifier: str | None = None
    answer_format: str = ""
    templates: dict[str, str] = field(default_factory=dict)
    metric: str | None = None
    filter: str | None = None
    reflection_pool: Any = None  # a list of reflection-request templates, or key -> list (harness.reflection_pool)
    gold_response: str | None = None  # module:function (doc) -> a response the verifier accepts (qa training rows)

    @classmethod
    def from_metadata(cls, task_name: str, metadata: dict[str, Any] | None) -> "ReflectionConfig":
        block = (metadata or {}).get("reflection") or {}
        if not isinstance(block, dict):
            raise BenchError(f"task '{task_name}': metadata.reflection must be a mapping, got {type(block).__name__}")
        unknown = set(block) - KNOWN_KEYS
        if unknown:
            raise BenchError(
                f"task '{task_name}': unknown key(s) {sorted(unknown)} in metadata.reflection; "
                f"allowed: {sorted(KNOWN_KEYS)}"
            )
        templates = block.get("templates") or {}
        if not isinstance(templates, dict):
            raise BenchError(f"task '{task_name}': metadata.reflection.templates must be a mapping")
        return cls(
            verifier=block.get("verifier"),
            answer_format=str(block.get("answer_format") or ""),
            templates={str(k): str(v) for k, v in templates.items()},
            metric=block.get("metric"),
            filter=block.get("filter"),
            reflection_pool=block.get("reflection_pool"),
            gold_response=block.get("gold_response"),
        )


def resolve_callable(task_name: str, ref: str, yaml_path: str | None) -> Callable[..., Any]:
    """Resolve `package.module:function` or `file.py:function` (relative to the task YAML)."""
    module_ref, sep, attr = ref.partition(":")
    if not sep or not attr:
        raise BenchError(f"task '{task_name}': verifier '{ref}' must look like 'module:function' or 'file.py:function'")
    if module_ref.endswith(".py"):
        base = Path(yaml_path).parent if yaml_path and yaml_path != "inline" else Path.cwd()
        file = (base / module_ref).resolve()
        if not file.is_file():
            raise BenchError(f"task '{task_name}': verifier file {file} does not exist")
        name = f"_reflectevo_verifier_{file.stem}"
        spec = importlib.util.spec_from_file_location(name, file)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # so pickling and introspection find it, as for an imported module
        spec.loader.exec_module(module)  # type: ignore[union-attr]
    else:
        try:
            module = importlib.import_module(module_ref)
        except ImportError as exc:
            raise BenchError(f"task '{task_name}': cannot import verifier module '{module_ref}': {exc}") from None
    fn = getattr(module, attr, None)
    if not callable(fn):
        raise BenchError(f"task '{task_name}': '{attr}' in '{module_ref}' is not a function")
    return fn
