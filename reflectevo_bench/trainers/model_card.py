"""The checkpoint's ``README.md`` (a Hugging Face model card) naming its base model. TRL writes one at each save,
but names a local base folder ``[None]``; this one replaces it at the final checkpoint."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from reflectevo_bench.trainers.data.hf_card import front_matter


def base_model_name(model_spec: str, model_path: str) -> tuple[str, str | None]:
    """(the name to show, the hub id for the card's ``base_model:`` or None): a hub id as written, an alias's
    hub repo (smollm2-135m), else the local folder's name."""
    from reflectevo_bench.models.smollm2 import HUB_ID

    spec = model_spec.strip()
    if "/" in spec and not spec.startswith((".", "/", "~")) and not Path(spec).expanduser().exists():
        return spec, spec
    if spec.lower().startswith("smollm2"):
        return HUB_ID, HUB_ID
    return Path(model_path).name or spec, None


def model_card(job: Any, saved: dict[str, Any], metrics: dict[str, Any] | None) -> str:
    name, hub_id = base_model_name(job.model_spec, job.model)
    from reflectevo_bench.trainers.registry import get

    trainer = get(job.trainer).display_name
    meta: dict[str, Any] = {"library_name": "transformers", "tags": ["trl", job.trainer, "reflectevo-bench"]}
    if hub_id:
        meta = {"base_model": hub_id, **meta}
    shown = f"[{name}](https://huggingface.co/{hub_id})" if hub_id else f"`{name}`"
    lines = [
        *front_matter(meta),
        f"# {Path(saved['path']).name}",
        "",
        f"This model is a fine-tuned version of {shown} (base model `{job.model_spec}`, loaded from "
        f"`{job.model}`), trained with TRL's {trainer} trainer by reflectevo-bench ({job.stage} stage"
        f"{'s' if job.stage == 'two' else ''}; saved as {saved['kind']}).",
        "",
        "## Training data",
        "",
    ]
    for data_name, d in job.data.items():
        s = d.summary()
        runs = ", ".join(str(r) for r in (s.get("source_runs") or [])) or "unknown"
        lines.append(
            f"- {data_name}: `{s['dir']}` (kind {s['kind']}, {s['rows']['train']} train / "
            f"{s['rows']['eval']} eval rows, source runs: {runs})"
        )
    if metrics:
        lines += [
            "",
            "## Training",
            "",
            f"- steps: {metrics.get('global_step')}",
            f"- final loss: {metrics.get('final_loss')}",
            f"- runtime: {metrics.get('runtime_s')} s",
        ]
    lines += [
        "",
        "## Use",
        "",
        f"    reflectevo-bench run --model hf {saved['run']}",
        "",
        "What was trained on what, with which software: `reflectevo_checkpoint.json` beside this file.",
        "",
    ]
    return "\n".join(lines)


def write_model_card(job: Any, out: Path, saved: dict[str, Any], metrics: dict[str, Any] | None) -> Path:
    path = out / "README.md"
    tmp = path.with_name(".README.md.tmp")
    tmp.write_text(model_card(job, saved, metrics), encoding="utf-8")
    tmp.replace(path)
    return path
