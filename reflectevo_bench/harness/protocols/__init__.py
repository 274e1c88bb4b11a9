"""Reflection protocols as units: which docs go on after each attempt and what the model is told between attempts.

One module per built-in protocol (``single``, ``reflect``, ``retry``, ``self_refine``, ``resample``,
``reflect_answer``), each defining ``PROTOCOL``; :mod:`.base` says what a protocol is, :mod:`.registry` finds one
by name (or loads ``path/to/file.py:NAME``), :mod:`.prompter` fills its templates for a task.
"""

from reflectevo_bench.harness.protocols.base import (
    ANSWER_MARKER,
    ATTEMPT,
    GAIN_CONTROL,
    INTRINSIC_CONTROL,
    PHASES,
    REFLECT_ANSWER,
    REFLECTION,
    TEMPLATES_FILE,
    Protocol,
    default_templates,
    split_one_turn,
)
from reflectevo_bench.harness.protocols.prompter import Prompter
from reflectevo_bench.harness.protocols.registry import (
    BUILTIN,
    PROTOCOLS,
    control_protocol,
    find_protocol,
    get_protocol,
    help_text,
    is_plugin_spec,
    load_plugin,
)

__all__ = [
    "ANSWER_MARKER",
    "ATTEMPT",
    "BUILTIN",
    "GAIN_CONTROL",
    "INTRINSIC_CONTROL",
    "PHASES",
    "PROTOCOLS",
    "REFLECTION",
    "REFLECT_ANSWER",
    "TEMPLATES_FILE",
    "Prompter",
    "Protocol",
    "control_protocol",
    "default_templates",
    "find_protocol",
    "get_protocol",
    "help_text",
    "is_plugin_spec",
    "load_plugin",
    "split_one_turn",
]
