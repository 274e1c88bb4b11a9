"""What the experiment CLI tests share: a spec written to a folder, and the one-line refusal check."""

from __future__ import annotations

from pathlib import Path

import yaml


def write_spec_file(folder: Path, spec: dict) -> Path:
    path = folder / "spec.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def refused(result, *needles: str) -> str:
    """The command was refused with exit 2 and one `error: ...` line holding every needle; that line."""
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert result.exit_code == 2 and len(lines) == 1 and lines[0].startswith("error: "), (
        result.exit_code,
        result.stderr,
    )
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]
