"""Reflection-request pools: ReflectEvo draws the instruction that asks for a reflection from a list.

A pool is a list of request templates per protocol template key: ``reflect`` (oracle protocols; every entry
must show the verifier's ``{feedback}``) and ``self_refine_review`` (no-oracle; entries must not use
``{feedback}``). ``{answer_format}`` is allowed in both. It comes from ``run --reflection-pool FILE.yaml`` (or
the built-in name ``reflectevo``), or from a task's ``metadata.reflection.reflection_pool``; the file or block is
a plain list (meaning ``reflect``) or a mapping of key → list; a key's entries may also be a mapping name →
template (ReflectEvo's ``--demand_type`` keys such as ``1-1-1``). Unnamed entries are named by their index.

Each doc draws one entry, seeded by (run seed, task, doc id): every reflection branch (and round) of a doc gets
the same request, so the D± and Dpref pairs built from its branches share their prompt, a resumed run and an
uninterrupted one draw the same, and the record says which (``turn["instruction"] = {"pool", "index", "name"}``).
``run --reflection-instruction NAME`` instead uses the one entry NAME for every doc (ReflectEvo's ``--demand_type``).
"""

from __future__ import annotations

import hashlib
import random
import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reflectevo_bench.errors import BenchError
from reflectevo_bench.yaml_files import read_yaml

BUILTIN_POOLS = {"reflectevo": Path(__file__).resolve().parent / "templates" / "reflection_pool.yaml"}
KEYS = ("reflect", "self_refine_review")
ALLOWED_FIELDS = {"reflect": {"feedback", "answer_format"}, "self_refine_review": {"answer_format"}}


@dataclass(frozen=True)
class ReflectionPool:
    source: str  # where the pool came from: a file path, "builtin:<name>" or "task:<name>"
    entries: dict[str, tuple[str, ...]]
    names: dict[str, tuple[str, ...]] = field(default_factory=dict)  # per key, the entries' names (default: index)

    @classmethod
    def from_value(cls, value: Any, source: str) -> ReflectionPool:
        if isinstance(value, list):
            value = {"reflect": value}
        if not isinstance(value, dict) or not value:
            raise BenchError(
                f"reflection pool {source} must be a list of templates or a mapping {{{', '.join(KEYS)}}} → list"
            )
        entries: dict[str, tuple[str, ...]] = {}
        names: dict[str, tuple[str, ...]] = {}
        for key, items in value.items():
            if key not in KEYS:
                raise BenchError(f"reflection pool {source}: unknown key '{key}' (allowed: {', '.join(KEYS)})")
            labels = [str(k) for k in items] if isinstance(items, dict) else None
            items = list(items.values()) if isinstance(items, dict) else items
            if not isinstance(items, list) or not items or not all(isinstance(i, str) and i.strip() for i in items):
                raise BenchError(
                    f"reflection pool {source}: '{key}' must be a non-empty list (or name → template "
                    "mapping) of non-empty strings"
                )
            for i, item in enumerate(items):
                _check_template(item, key, f"{source} {key}[{labels[i] if labels else i}]")
            entries[key] = tuple(items)
            names[key] = tuple(labels or (str(i) for i in range(len(items))))
        return cls(source, entries, names)

    @classmethod
    def load(cls, spec: str) -> ReflectionPool:
        """A pool file, or a built-in pool by name."""
        path = BUILTIN_POOLS.get(spec)
        source = f"builtin:{spec}" if path else str(Path(spec).resolve())
        path = path or Path(spec)
        if not path.is_file():
            raise BenchError(f"--reflection-pool {spec}: no such file (or built-in pool: {', '.join(BUILTIN_POOLS)})")
        return cls.from_value(read_yaml(path, "--reflection-pool"), source)

    def name_of(self, protocol: Any, index: int) -> str:
        names = self.names.get(protocol.reflection_key) or ()
        return names[index] if index < len(names) else str(index)

    def draw(self, protocol: Any, seed: int, task: str, doc_id: int) -> tuple[int, str] | None:
        """(index, template) for this doc's reflection turns (all its branches and rounds), or None when the pool
        has nothing for the protocol."""
        items = self.entries.get(protocol.reflection_key)
        if not items:
            return None
        digest = hashlib.sha256(f"{seed}/{task}/{doc_id}".encode()).digest()
        index = random.Random(digest).randrange(len(items))
        return index, items[index]

    def choose(self, protocol: Any, name: str) -> tuple[int, str]:
        """(index, template) of the entry named ``name`` (or at index ``name``) for the protocol's key."""
        key = protocol.reflection_key
        items = self.entries.get(key)
        if not items:
            raise BenchError(
                f"--reflection-instruction {name}: reflection pool {self.source} has no '{key}' entries "
                f"(protocol {protocol.name})"
            )
        names = self.names.get(key) or tuple(str(i) for i in range(len(items)))
        if name not in names:
            shown = ", ".join(names[:12]) + (", ..." if len(names) > 12 else "")
            raise BenchError(
                f"--reflection-instruction {name}: no such entry in reflection pool {self.source} "
                f"'{key}' (choose one of: {shown})"
            )
        index = names.index(name)
        return index, items[index]


def _check_template(text: str, key: str, where: str) -> None:
    try:
        fields = {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
    except ValueError as exc:
        raise BenchError(
            f"reflection pool entry {where} is not a valid template ({exc}); write {{{{ and }}}} for braces"
        ) from None
    bad = fields - ALLOWED_FIELDS[key]
    if bad:
        raise BenchError(f"reflection pool entry {where} uses {sorted(bad)}; allowed: {sorted(ALLOWED_FIELDS[key])}")
    if key == "reflect" and "feedback" not in fields:
        raise BenchError(f"reflection pool entry {where} must show the verifier's feedback: include {{feedback}}")
