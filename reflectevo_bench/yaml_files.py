"""Reading a user's YAML file (configs, specs, pools): one clear line when it is missing or is not YAML."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from reflectevo_bench.errors import BenchError, one_line


def read_yaml(path: Path | str, what: str) -> Any:
    """The parsed file (None when empty). ``what`` names it in errors: "config file", "spec", "--spec", …"""
    path = Path(path)
    if not path.is_file():
        raise BenchError(f"{what} {path} does not exist")
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise BenchError(f"cannot read {what} {path}: {exc.strerror}") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise BenchError(f"{what} {path} is not valid YAML: {one_line(exc, 200)}") from None
