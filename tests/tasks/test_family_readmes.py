"""Every task family folder has a README that names its tasks, their splits, source, licence and verifier."""

from __future__ import annotations

import re

import pytest

from reflectevo_bench.tasks.catalog import catalog
from reflectevo_bench.tasks.registry import TASKS_ROOT, builtin_task_dirs

FAMILIES = sorted({d.relative_to(TASKS_ROOT).parts[0] for d in builtin_task_dirs()})


def test_families_are_discovered():
    assert len(FAMILIES) >= 11 and "mbpp" in FAMILIES and "common" not in FAMILIES


@pytest.mark.parametrize("family", FAMILIES)
def test_family_readme(family):
    readme = TASKS_ROOT / family / "README.md"
    assert readme.is_file(), f"{family} has no README.md"
    text = readme.read_text(encoding="utf-8")
    for heading in ("**Source**", "**Licence**", "**Splits and sizes**", "**Verifier**", "Known"):
        assert heading in text, f"{family}/README.md lacks {heading}"
    infos = [i for i in catalog() if i.family.split("/")[0] == family]
    assert infos
    for info in infos:
        assert f"`{info.name}`" in text, f"{family}/README.md does not name task {info.name}"
        for split in info.splits.values():
            assert re.search(rf"`{re.escape(split)}`", text), f"{family}/README.md does not name split {split}"
