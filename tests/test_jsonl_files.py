"""JSON-lines files a user hands over (data dirs, --predictions, released ReflectEvo files, local benchmark files) are
read by one reader: any content gives rows or ONE BenchError line naming the file and line, never a traceback."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reflectevo_bench.errors import BenchError
from reflectevo_bench.jsonl_files import numbered_lines, read_numbered

LINES = st.lists(
    st.one_of(
        st.text(max_size=40),
        st.builds(json.dumps, st.recursive(st.none() | st.integers() | st.text(max_size=8), st.lists, max_leaves=5)),
        st.builds(lambda d: json.dumps(d), st.dictionaries(st.text(max_size=5), st.integers(), max_size=3)),
    ),
    max_size=8,
)


@given(LINES)
def test_any_lines_give_values_or_one_line_naming_file_and_line(lines):
    try:
        rows = list(numbered_lines(lines, "f.jsonl", "data file"))
    except BenchError as exc:
        assert str(exc).startswith("data file f.jsonl line ") and "\n" not in str(exc)
        bad = int(str(exc).split(" line ")[1].split()[0])
        assert lines[bad - 1].strip()  # the named line is a non-blank one
        return
    assert [n for n, _ in rows] == [i for i, line in enumerate(lines, 1) if line.strip()]


def test_a_file_that_is_not_utf8_is_one_line(tmp_path):
    path = tmp_path / "binary.jsonl"
    path.write_bytes(b'{"a": 1}\n\xff\xfe\x00garbage\n')
    with pytest.raises(BenchError, match="is not UTF-8 text"):
        list(read_numbered(path, "--predictions"))


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(LINES)
def test_every_reader_of_user_jsonl_fails_closed(tmp_path, lines):
    """The data-dir rows `train` reads, `score --predictions`, `data import --format reflectevo`, the leak check's
    data-dir reading and local benchmark files: rows, or one BenchError line."""
    from reflectevo_bench.experiment.honesty import row_doc_hashes
    from reflectevo_bench.harness.score import read_predictions
    from reflectevo_bench.tasks.common.data import read_records
    from reflectevo_bench.trainers.data.datadir import _read_rows
    from reflectevo_bench.trainers.data.importers.reflectevo import read_rows

    folder = tmp_path / "d"
    folder.mkdir(exist_ok=True)
    path = folder / "train.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8", errors="surrogatepass")
    for read in (
        lambda: _read_rows(path, ("prompt", "completion")),
        lambda: read_predictions(path),
        lambda: list(read_rows(path)),
        lambda: row_doc_hashes([folder]),
        lambda: read_records(path),
    ):
        try:
            read()
        except BenchError as exc:
            assert "\n" not in str(exc) and str(path) in str(exc)


def test_a_local_data_file_of_non_objects_is_one_line(tmp_path):
    from reflectevo_bench.tasks.common.data import read_records

    for text, where in (("[1, 2]", "record 1"), ('{"a": 1}\n7\n', "line 2"), ('{"examples": ["x"]}', "record 1")):
        path = tmp_path / "rows.json"
        path.write_text(text)
        with pytest.raises(BenchError, match=f"data file .* {where} is not a JSON object"):
            read_records(path)
