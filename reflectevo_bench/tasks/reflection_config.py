"""The `reflection:` block a task YAML carries under `metadata:` (so stock lm-eval still loads it).

```yaml
metadata:
  reflection:
    verifier: reflectevo_bench.tasks.countdown.verifier:verify   # or "verifier.py:verify" beside the YAML;
                                                                 # not needed where process_results names it
    answer_format: "End with a line `Answer: <expression>`."
    templates: {feedback_incorrect: "...", reflect: "..."}        # per-task protocol template overrides
    reflection_pool: ["{feedback} Explain the error ...", ...]     # optional: reflection requests to draw from
    gold_response: my_task.py:gold                               # optional: doc -> a gold-formatted answer
```
A task names its verifier once: either here, or (better: stock lm-eval then scores as the harness does) with
``process_results: !function verifier.process_results`` made by ``verdict.process_results_from(verify)``, whose
hook carries the verifier. Without either, the task's own lm-eval filters and metric decide correctness.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reflectevo_bench.errors import BenchError, one_line

FILE_MODULE_PREFIX = "_reflectevo_verifier_"  # modules resolve_callable loads from a `file.py:function` reference
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
    def from_metadata(cls, task_name: str, metadata: dict[str, Any] | None) -> ReflectionConfig:
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
        name = f"{FILE_MODULE_PREFIX}{file.stem}"
        spec = importlib.util.spec_from_file_location(name, file)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # so pickling and introspection find it, as for an imported module
        spec.loader.exec_module(module)  # type: ignore[union-attr]
    else:
        try:
            module = importlib.import_module(module_ref)
        except ImportError as exc:
            raise BenchError(
                f"task '{task_name}': cannot import verifier module '{module_ref}': {one_line(exc)}"
            ) from None
    fn = getattr(module, attr, None)
    if not callable(fn):
        raise BenchError(f"task '{task_name}': '{attr}' in '{module_ref}' is not a function")
    return fn


def callable_ref(fn: Any, yaml_path: str | None = None) -> tuple[Any, str]:
    """``(callable, stable name)`` for a callable reached through a task YAML (a ``process_results`` hook's
    verifier). lm-eval imports ``!function`` modules from their file under a path-based module name, so the name
    is rebuilt from the file: ``package.module:attr`` where the file is a module of an importable package (the
    callable is then that module's own, so the name says exactly what runs), else ``file.py:attr`` relative to the
    task YAML (as ``metadata.reflection.verifier`` would name it). Either name resolves with ``resolve_callable``."""
    module = sys.modules.get(getattr(fn, "__module__", None) or "")
    attr = _bound_name(module, fn)
    module_name = getattr(module, "__name__", None) or "?"
    file = getattr(module, "__file__", None)
    if not file:
        return fn, f"{module_name}:{attr}"
    file_path = Path(file).resolve()
    for dotted in (*_package_modules(file_path), module_name):
        if not dotted or dotted.startswith(FILE_MODULE_PREFIX):
            continue
        same = _importable(dotted)
        own = getattr(same, attr, None)
        if same is not None and callable(own) and Path(getattr(same, "__file__", "") or "").resolve() == file_path:
            return own, f"{dotted}:{attr}"
    base = Path(yaml_path).resolve().parent if yaml_path and yaml_path != "inline" else None
    try:
        shown = file_path.relative_to(base).as_posix() if base else str(file_path)
    except ValueError:
        shown = str(file_path)
    return fn, f"{shown}:{attr}"


def check_named_once(task_name: str, verify: Any, ref: str, hook: Any, yaml_path: str | None) -> None:
    """Refuse a task whose ``metadata.reflection.verifier`` (``ref``, resolved to ``verify``) is not the verifier its
    ``process_results`` hook scores with: the harness and stock lm-eval would score the task differently."""
    hooked = getattr(hook, "verifier", None)
    if not callable(hooked):
        return
    hooked, hooked_name = callable_ref(hooked, yaml_path)
    if hooked is verify or _identity(hooked) == _identity(verify):
        return
    raise BenchError(
        f"task '{task_name}': metadata.reflection.verifier {ref} is not the verifier its process_results "
        f"scores with ({hooked_name}): name the verifier once, in process_results (or only in metadata)"
    )


def _identity(fn: Any) -> tuple[str, str] | None:
    """(the file of fn's module, the name fn is bound to there): equal for two imports of one file."""
    module = sys.modules.get(getattr(fn, "__module__", None) or "")
    file = getattr(module, "__file__", None)
    return (str(Path(file).resolve()), _bound_name(module, fn)) if file else None


def _bound_name(module: Any, fn: Any) -> str:
    """The name ``fn`` is bound to in ``module`` (so the reference resolves back to it), else its ``__name__``."""
    name = getattr(fn, "__name__", None) or "verify"
    if module is None or getattr(module, name, None) is fn:
        return name
    return next((k for k, v in vars(module).items() if v is fn and not k.startswith("__")), name)


def _package_modules(file: Path) -> list[str]:
    """Dotted names ``file`` has as a module of an imported package: from the nearest folder above it that an
    imported package's ``__path__`` holds (regular or namespace packages, editable installs included)."""
    if file.suffix != ".py":
        return []
    folders: dict[Path, list[str]] = {}
    for name, module in list(sys.modules.items()):
        try:
            for entry in getattr(module, "__path__", None) or []:
                folders.setdefault(Path(entry).resolve(), []).append(name)
        except Exception:  # lazy or odd modules: not a package we can use
            continue
    tail = [] if file.stem == "__init__" else [file.stem]
    folder = file.parent
    while folder not in folders and folder != folder.parent:
        tail.insert(0, folder.name)
        folder = folder.parent
    return [".".join([name, *tail]) for name in folders.get(folder, [])]


def _importable(name: str) -> Any:
    if not name or not all(part.isidentifier() for part in name.split(".")):
        return None
    try:
        return importlib.import_module(name)
    except Exception:  # not importable from here: the caller falls back to the file's path
        return None
