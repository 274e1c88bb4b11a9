"""``data build --save-to-disk DIR`` / ``--push-to-hub ID``: a built data dir as a ``datasets.DatasetDict``
(splits train and, where it has rows, eval). Both are checked before the build starts."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from reflectevo_bench.errors import BenchError, one_line
from reflectevo_bench.jsonl_files import read_numbered

_ON = {"1", "true", "yes", "on"}


def offline() -> bool:
    return any(os.environ.get(v, "").strip().lower() in _ON for v in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"))


def check_targets(save_to_disk: Path | None, push_to_hub: str | None) -> None:
    """One clear BenchError before anything is built or written."""
    if push_to_hub is not None:
        if offline():
            raise BenchError(
                f"--push-to-hub {push_to_hub} needs the network, but HF_HUB_OFFLINE/HF_DATASETS_OFFLINE "
                "is set: unset it (and log in with `hf auth login`), or use --save-to-disk DIR"
            )
        parts = push_to_hub.split("/")
        if len(parts) != 2 or not all(parts):
            raise BenchError(f"--push-to-hub {push_to_hub!r} is not a dataset id: give OWNER/NAME")
    if save_to_disk is not None:
        target = Path(save_to_disk)
        if target.exists() and (not target.is_dir() or any(target.iterdir())):
            raise BenchError(f"--save-to-disk {target} exists and is not empty: choose a new directory")


def _rows(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    return [row for _, row in read_numbered(path)]


def dataset_dict(data_dir: Path):
    """The data dir's rows as a DatasetDict; nested values whose shape differs across rows are kept as JSON text
    (Arrow needs one type per column)."""
    from datasets import Dataset, DatasetDict

    splits = {}
    for split in ("train", "eval"):
        rows = _rows(Path(data_dir) / f"{split}.jsonl")
        if rows:
            try:
                splits[split] = Dataset.from_list(rows)
            except Exception:  # mixed shapes (a doc dict per task): every nested value as JSON text
                splits[split] = Dataset.from_list(
                    [
                        {
                            k: json.dumps(v, ensure_ascii=False) if isinstance(v, (dict, list)) else v
                            for k, v in r.items()
                        }
                        for r in rows
                    ]
                )
    return DatasetDict(splits)


def save_to_disk(data_dir: Path, target: Path) -> str:
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}."))
    try:
        ds = dataset_dict(data_dir)
        ds.save_to_disk(str(tmp / "ds"))
        shutil.copy(Path(data_dir) / "README.md", tmp / "ds" / "README.md")
        if target.exists():
            target.rmdir()  # empty (checked before the build)
        os.replace(tmp / "ds", target)
    except Exception as exc:
        raise BenchError(f"could not save the dataset to {target}: {one_line(exc, 200)}") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return f"saved to {target} (datasets.load_from_disk): " + ", ".join(f"{k} {len(v)}" for k, v in ds.items())


def push_to_hub(data_dir: Path, repo_id: str) -> str:
    try:
        dataset_dict(data_dir).push_to_hub(repo_id, private=True)
        from huggingface_hub import HfApi

        HfApi().upload_file(
            path_or_fileobj=str(Path(data_dir) / "README.md"),
            path_in_repo="README.md",
            repo_id=repo_id,
            repo_type="dataset",
        )
    except Exception as exc:
        raise BenchError(f"could not push to the Hub as {repo_id}: {one_line(exc, 200)}") from None
    return f"pushed to https://huggingface.co/datasets/{repo_id} (private)"
