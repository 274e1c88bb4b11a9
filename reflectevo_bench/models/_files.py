"""Small helpers shared by the model builders: portable tokenizer_config and file permissions."""

from __future__ import annotations

import json
import os
from pathlib import Path

# Keys transformers 5 writes that describe the load, not the tokenizer.
_DROP_KEYS = ("is_local", "local_files_only")


def portable_tokenizer_config(folder: Path, **updates) -> None:
    """Rewrite `folder/tokenizer_config.json` so transformers 4.x readers (e.g. vLLM's pin) load it too.

    transformers 5 saves `tokenizer_class: TokenizersBackend` and keeps the chat template only in
    `chat_template.jinja`; older readers need `PreTrainedTokenizerFast` and the template inline.
    """
    folder = Path(folder)
    path = folder / "tokenizer_config.json"
    cfg = json.loads(path.read_text())
    for key in _DROP_KEYS:
        cfg.pop(key, None)
    cfg["tokenizer_class"] = "PreTrainedTokenizerFast"
    jinja = folder / "chat_template.jinja"
    if "chat_template" not in cfg and jinja.is_file():
        cfg["chat_template"] = jinja.read_text()
    cfg.update(updates)
    path.write_text(json.dumps(cfg, indent=2, sort_keys=True) + "\n")


def make_readable(folder: Path) -> None:
    """chmod a freshly written folder to 0755 and its files to 0644 (temp dirs and shards start private)."""
    os.chmod(folder, 0o755)
    for child in Path(folder).iterdir():
        if child.is_file():
            os.chmod(child, 0o644)
