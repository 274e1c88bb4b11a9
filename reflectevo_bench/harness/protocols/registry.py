"""Every protocol by name: the built-in modules of this package, and protocols loaded from a file.

``run --protocol path/to/my_protocol.py:NAME`` imports that one file and takes the :class:`Protocol` it defines
whose ``name`` is NAME (or the module attribute called NAME); nothing else needs to change to add one. The run
records the file (``protocol_file`` in ``run.json``'s identity), so ``--resume`` and ``results --rescore`` find it
again.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path

from reflectevo_bench.errors import BenchError
from reflectevo_bench.harness.protocols.base import Protocol

# the built-in protocols, one module each, in the order `run --help` lists them
BUILTIN = ("single", "reflect", "retry", "self_refine", "resample", "reflect_answer")

PROTOCOLS: dict[str, Protocol] = {}
for _module in BUILTIN:
    _p = importlib.import_module(f"{__package__}.{_module}").PROTOCOL
    PROTOCOLS[_p.name] = _p


def help_text() -> str:
    """The `run --protocol` help line: every built-in protocol, then the plugin form."""
    return (
        "; ".join(f"{p.name}: {p.help}" for p in PROTOCOLS.values())
        + "; or path/to/file.py:NAME, a protocol defined in one file"
    )


def control_protocol(column: str) -> str:
    """The name of the protocol whose run is the control for a leaderboard ``column``."""
    for p in PROTOCOLS.values():
        if p.control == column:
            return p.name
    raise KeyError(column)


def is_plugin_spec(name: str) -> bool:
    path, sep, _ = name.rpartition(":")
    return bool(sep) and path.endswith(".py")


def load_plugin(spec: str) -> Protocol:
    """The protocol NAME defined in the file of ``path/to/file.py:NAME``."""
    path_text, _, name = spec.rpartition(":")
    path = Path(path_text).expanduser().resolve()
    if not path.is_file():
        raise BenchError(f"--protocol {spec}: no file {path_text}; give path/to/file.py:NAME")
    module_name = f"reflectevo_protocol_{abs(hash(str(path)))}"
    module = sys.modules.get(module_name)
    if module is None:
        loader = importlib.util.spec_from_file_location(module_name, path)
        if loader is None or loader.loader is None:
            raise BenchError(f"--protocol {spec}: cannot import {path_text} as a Python file")
        module = importlib.util.module_from_spec(loader)
        try:
            loader.loader.exec_module(module)
        except BenchError:
            raise
        except Exception as exc:  # noqa: BLE001  (the plugin's own bug: one line, not a traceback)
            raise BenchError(f"--protocol {spec}: importing {path_text} failed: {type(exc).__name__}: {exc}") from None
        sys.modules[module_name] = module
    found = [v for v in vars(module).values() if isinstance(v, Protocol) and v.name == name]
    attr = getattr(module, name, None) if name.isidentifier() else None
    proto = found[0] if found else attr if isinstance(attr, Protocol) else None
    if proto is None:
        names = sorted({v.name for v in vars(module).values() if isinstance(v, Protocol)})
        raise BenchError(
            f"--protocol {spec}: {path_text} defines no protocol named {name!r}"
            + (f" (it defines {', '.join(names)})" if names else "")
        )
    if proto.name in PROTOCOLS:
        raise BenchError(f"--protocol {spec}: {name!r} is a built-in protocol's name; give yours another")
    return _with_source(proto, str(path))


def _with_source(proto: Protocol, source: str) -> Protocol:
    object.__setattr__(proto, "source", source)
    return proto


def find_protocol(name: str) -> Protocol:
    """A built-in protocol by name, or a plugin by ``path/to/file.py:NAME``."""
    if name in PROTOCOLS:
        return PROTOCOLS[name]
    if is_plugin_spec(name):
        return load_plugin(name)
    raise BenchError(f"unknown --protocol '{name}': choose one of {', '.join(PROTOCOLS)} (or path/to/file.py:NAME)")


def get_protocol(name: str, attempts: int) -> Protocol:
    proto = find_protocol(name)
    proto.check_attempts(attempts)
    return proto
