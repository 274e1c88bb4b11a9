"""Function-calling data.

xLAM (``xlam_fc``): hub ``Salesforce/xlam-function-calling-60k`` (gated; its one split, train); locally
``<data_dir>/xlam/xlam_function_calling_60k.json`` (the hub's own file: a JSON array) or ``.jsonl``. Rows: id,
query, tools (JSON string), answers (JSON string); decoded lists are re-encoded as JSON strings. The rows are cut
into ``train`` and ``test`` as Reflect, Retry, Reward did (12,000 of the 60,000 for test): metadata ``test_size``
(default 0.2: a fraction, or a row count) and ``split_seed`` (default 0), chosen by a hash of each row's content
(query, tools, answers; not its id or position: :mod:`reflectevo_bench.tasks.common.content_split`).

BFCL v4 (``bfcl_<category>``): ``<data_dir>/bfcl/BFCL_v4_<file>.json`` + ``<data_dir>/bfcl/possible_answer/
BFCL_v4_<file>.json`` (JSON lines; ``simple`` is ``simple_python`` in v4; v3 names are accepted too); without
--data-dir, the data inside an installed ``bfcl-eval`` package, else the v3 files of the hub repo
``gorilla-llm/Berkeley-Function-Calling-Leaderboard``. Docs are the question record merged with its possible
answer: ``{id, question, function, ground_truth}``, the last three as JSON strings (their nested shapes differ per
row, which a datasets.Dataset cannot hold); irrelevance has ``ground_truth: "[]"`` (no call expected).
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

from reflectevo_bench.errors import BenchError
from reflectevo_bench.tasks.common.content_split import content_split
from reflectevo_bench.tasks.common.data import limit_rows, load_rows, read_records, to_dataset_dict

BFCL_FILES = {  # category -> (v4 file stem, v3 file stem)
    "simple": ("simple_python", "simple"),
    "multiple": ("multiple", "multiple"),
    "parallel": ("parallel", "parallel"),
    "parallel_multiple": ("parallel_multiple", "parallel_multiple"),
    "live_simple": ("live_simple", "live_simple"),
    "live_multiple": ("live_multiple", "live_multiple"),
    "irrelevance": ("irrelevance", "irrelevance"),
}
HUB_BFCL = "gorilla-llm/Berkeley-Function-Calling-Leaderboard"


def _as_json(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


XLAM_HUB = "Salesforce/xlam-function-calling-60k"
XLAM_TEST_SIZE = 0.2  # 12,000 of xLAM-60k's 60,000 rows, the paper's test set size
XLAM_ACCESS = (
    f"xLAM-60k is gated: accept its terms at https://huggingface.co/datasets/{XLAM_HUB} and log in "
    "(`hf auth login` or HF_TOKEN), or"
)


def xlam_content_key(doc: dict[str, Any]) -> str:
    """What makes two xLAM rows the same problem: query, tools and answers (decoded, canonical JSON)."""

    def canonical(value: str) -> Any:
        try:
            return json.loads(value)
        except (TypeError, ValueError):
            return value

    return json.dumps(
        [doc["query"].strip(), canonical(doc["tools"]), canonical(doc["answers"])], sort_keys=True, ensure_ascii=False
    )


def load_xlam(
    data_dir: str | None = None,
    num_examples: Any = None,
    test_size: Any = XLAM_TEST_SIZE,
    split_seed: Any = 0,
    **_: Any,
):
    try:
        rows = load_rows(
            "xlam_fc",
            data_dir,
            "xlam/xlam_function_calling_60k.json",
            alternatives=["xlam/xlam_function_calling_60k.jsonl"],
            hub={"path": XLAM_HUB, "split": "train"},
        )
    except BenchError as exc:
        if data_dir:
            raise
        raise BenchError(str(exc).replace(": pass --data-dir", f": {XLAM_ACCESS} pass --data-dir", 1)) from None
    docs = []
    for number, row in enumerate(rows):
        if not isinstance(row, dict) or "query" not in row or "tools" not in row or "answers" not in row:
            raise BenchError(f"xlam_fc: row {number} lacks query/tools/answers (the xLAM-60k schema)")
        docs.append(
            {
                "id": row.get("id", number),
                "query": str(row["query"]),
                "tools": _as_json(row["tools"]),
                "answers": _as_json(row["answers"]),
            }
        )
    splits = content_split(docs, xlam_content_key, test_size, split_seed, "xlam_fc")
    return to_dataset_dict({name: limit_rows(part, num_examples) for name, part in splits.items()})


def _bfcl_package_dir() -> Path | None:
    spec = importlib.util.find_spec("bfcl_eval")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "data"
    return path if path.is_dir() else None


def _bfcl_files(task: str, category: str, data_dir: str | None) -> tuple[Path, Path | None]:
    v4, v3 = BFCL_FILES[category]
    names = [f"BFCL_v4_{v4}.json", f"BFCL_v3_{v3}.json"]
    if data_dir:
        base = Path(data_dir).expanduser() / "bfcl"
    else:
        base = _bfcl_package_dir()
        if base is None:
            return _bfcl_hub(task, v3)
    for name in names:
        question = base / name
        if question.is_file():
            answer = base / "possible_answer" / name
            if category != "irrelevance" and not answer.is_file():
                raise BenchError(f"task '{task}': possible answers {answer} not found beside {question}")
            return question, (answer if answer.is_file() else None)
    raise BenchError(
        f"task '{task}': data file {base / names[0]} not found: --data-dir must point at a folder "
        f"holding bfcl/{names[0]} and bfcl/possible_answer/{names[0]}"
    )


def _bfcl_hub(task: str, v3: str) -> tuple[Path, Path | None]:
    name = f"BFCL_v3_{v3}.json"
    try:
        from huggingface_hub import hf_hub_download

        question = Path(hf_hub_download(HUB_BFCL, name, repo_type="dataset"))
        answer = (
            None
            if v3 == "irrelevance"
            else Path(hf_hub_download(HUB_BFCL, f"possible_answer/{name}", repo_type="dataset"))
        )
    except Exception as exc:
        reason = type(exc).__name__
        raise BenchError(
            f"task '{task}': dataset {HUB_BFCL} is not available offline ({reason}) and bfcl-eval is "
            f"not installed: pass --data-dir pointing at a folder with bfcl/BFCL_v4_*.json and "
            "bfcl/possible_answer/BFCL_v4_*.json"
        ) from None
    return question, answer


def load_bfcl(data_dir: str | None = None, bfcl_category: str | None = None, num_examples: Any = None, **_: Any):
    if bfcl_category not in BFCL_FILES:
        raise BenchError(f"a BFCL task YAML needs metadata.bfcl_category, one of {sorted(BFCL_FILES)}")
    task = f"bfcl_{bfcl_category}"
    question_file, answer_file = _bfcl_files(task, bfcl_category, data_dir)
    answers = {r["id"]: r["ground_truth"] for r in read_records(answer_file)} if answer_file else {}
    docs = []
    for row in read_records(question_file):
        if answer_file and row["id"] not in answers:
            raise BenchError(f"task '{task}': {answer_file} has no possible answer for id {row['id']}")
        docs.append(
            {
                "id": row["id"],
                "question": _as_json(row["question"]),
                "function": _as_json(row["function"]),
                "ground_truth": _as_json(answers.get(row["id"], [])),
            }
        )
    return to_dataset_dict({"test": limit_rows(docs, num_examples)})
