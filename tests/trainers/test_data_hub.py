"""`data build`: the Hugging Face dataset card (README.md) beside card.json, read back by `datasets` itself;
`--save-to-disk DIR` read back with `datasets.load_from_disk`; `--push-to-hub ID` refused offline."""

from __future__ import annotations

import json

import pytest
import scripted_lm
from click.testing import CliRunner
from rich.console import Console

from reflectevo_bench.cli import main
from reflectevo_bench.harness.run import RunOptions, run


@pytest.fixture
def run_dir(toy_yaml, tmp_path):
    scripted_lm.ScriptedBranchLM.written = 0
    out = tmp_path / "run"
    run(
        RunOptions(
            model="scripted-branch",
            tasks=str(toy_yaml),
            output=str(out),
            protocol="reflect",
            reflections=3,
            gen_kwargs="do_sample=true,temperature=0.8",
        ),
        Console(file=open("/dev/null", "w")),
    )
    return out


def build(*args):
    return CliRunner().invoke(main, ["data", "build", *map(str, args)])


def _yaml_front(text: str) -> dict:
    import yaml

    assert text.startswith("---\n")
    return yaml.safe_load(text.split("---\n")[1])


@pytest.mark.parametrize("kind,fraction", [("dplus", "0.0"), ("failures", "0.5")])
def test_dataset_card_beside_card_json(run_dir, tmp_path, kind, fraction):
    from datasets import load_dataset

    out = tmp_path / kind
    r = build(run_dir, "--kind", kind, "--out", out, "--eval-fraction", fraction)
    assert r.exit_code == 0, r.output
    card = json.loads((out / "card.json").read_text())
    text = (out / "README.md").read_text()
    front = _yaml_front(text)
    splits = [f["split"] for f in front["configs"][0]["data_files"]]
    assert splits == (["train", "eval"] if fraction != "0.0" else ["train"])  # an eval split only with rows
    assert f"| train | {card['rows']['train']} | {card['docs']['train']} |" in text
    assert card["source_runs"][0]["id"] in text and "scripted-branch" in text
    assert {"dplus": "ReflectEvo D+", "failures": "GRPO"}[kind] in text
    ds = load_dataset(
        str(out), cache_dir=str(tmp_path / "cache")
    )  # datasets reads the card's configs: the splits and their files
    assert {k: len(v) for k, v in ds.items()} == {s: card["rows"][s] for s in splits}


def test_save_to_disk(run_dir, tmp_path):
    from datasets import load_from_disk

    target = tmp_path / "saved"
    r = build(run_dir, "--kind", "dplus", "--out", tmp_path / "d", "--eval-fraction", "0", "--save-to-disk", target)
    assert r.exit_code == 0, r.output
    rows = [json.loads(line) for line in (tmp_path / "d" / "train.jsonl").read_text().splitlines()]
    ds = load_from_disk(str(target))
    assert list(ds) == ["train"] and len(ds["train"]) == len(rows)
    got = ds["train"][0]
    assert got["prompt"] == rows[0]["prompt"] and got["completion"] == rows[0]["completion"]
    assert (target / "README.md").is_file()
    # a non-empty target is refused before anything is built
    r = build(run_dir, "--kind", "dplus", "--out", tmp_path / "d2", "--save-to-disk", target)
    assert r.exit_code == 2 and "--save-to-disk" in r.output and not (tmp_path / "d2").exists()


def test_push_to_hub_refused_offline(run_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    r = CliRunner().invoke(
        main,
        [
            "data",
            "build",
            str(run_dir),
            "--kind",
            "dplus",
            "--out",
            str(tmp_path / "d"),
            "--push-to-hub",
            "me/reflect-dplus",
        ],
    )
    assert r.exit_code == 2
    assert r.stderr.strip().splitlines() == [
        "error: --push-to-hub me/reflect-dplus needs the network, but HF_HUB_OFFLINE/HF_DATASETS_OFFLINE is set: "
        "unset it (and log in with `hf auth login`), or use --save-to-disk DIR"
    ]
    assert not (tmp_path / "d").exists()
