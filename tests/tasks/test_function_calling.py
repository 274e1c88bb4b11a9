"""Function calling: call parsing (JSON and Python syntax), the xLAM multiset check, BFCL possible answers."""

from __future__ import annotations

import json

import pytest
from task_helpers import load_task, load_tasks, score_cli

from reflectevo_bench.tasks.function_calling.calls import Call, parse_calls
from reflectevo_bench.tasks.function_calling.verifier import verify_bfcl, verify_xlam
from reflectevo_bench.tasks.function_calling.xlam_checker import values_equal

WEATHER = [Call("get_weather", {"city": "Paris", "days": 3})]


@pytest.mark.parametrize(
    "response",
    [
        '[{"name": "get_weather", "arguments": {"city": "Paris", "days": 3}}]',
        '{"name": "get_weather", "arguments": {"city": "Paris", "days": 3}}',
        '{"name": "get_weather", "parameters": {"city": "Paris", "days": 3}}',
        '[{"name": "get_weather", "arguments": "{\\"city\\": \\"Paris\\", \\"days\\": 3}"}]',
        '{"tool_calls": [{"type": "function", "function": {"name": "get_weather", "arguments": {"city": "Paris", "days": 3}}}]}',
        '[{"get_weather": {"city": "Paris", "days": 3}}]',
        '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris", "days": 3}}\n</tool_call>',
        'Sure! Here is the call:\n```json\n[{"name": "get_weather", "arguments": {"city": "Paris", "days": 3}}]\n```',
        "get_weather(city='Paris', days=3)",
        '[get_weather(city="Paris", days=3)]',
        "I will call the tool.\nget_weather(city='Paris', days=3)\nDone.",
        "```python\nget_weather(city='Paris', days=3)\n```",
        "<think>maybe get_weather(city='Rome')</think>[get_weather(city='Paris', days=3)]",
    ],
)
def test_parse_json_and_call_syntax(response):
    parsed = parse_calls(response)
    assert parsed.calls == WEATHER, parsed


def test_parse_several_calls_and_literals():
    text = "[a.b(x=[1, 2], y={'k': None}, z=-1.5, t=true), c(s=\"it's\", u=(1, 2))]"
    assert parse_calls(text).calls == [
        Call("a.b", {"x": [1, 2], "y": {"k": None}, "z": -1.5, "t": True}),
        Call("c", {"s": "it's", "u": [1, 2]}),
    ]
    assert parse_calls("f(a=1)\ng(b=2)").calls == [Call("f", {"a": 1}), Call("g", {"b": 2})]
    assert parse_calls("[]").calls == []


@pytest.mark.parametrize(
    "response,error",
    [
        ("get_weather('Paris', 3)", "positional"),
        ("get_weather(city=paris_name)", "not a literal"),
        ("get_weather(city=__import__('os').system('x'))", "not a literal"),
        ("get_weather(**kwargs)", "unpacking"),
    ],
)
def test_bad_calls_are_refused_never_evaluated(response, error):
    parsed = parse_calls(response)
    assert parsed.calls is None and error in parsed.error


def test_values_equal_policy():
    assert values_equal(5, 5.0) and values_equal([1, 2.0], [1.0, 2]) and values_equal({"a": 1}, {"a": 1.0})
    assert not values_equal("5", 5) and not values_equal(True, 1) and not values_equal([1, 2], [2, 1])
    assert values_equal(" Paris ", "Paris") and not values_equal("paris", "Paris")


XLAM = {
    "query": "Weather in Paris for 3 days?",
    "tools": json.dumps(
        [
            {
                "name": "get_weather",
                "description": "",
                "parameters": {
                    "city": {"type": "str", "default": ""},
                    "days": {"type": "int", "default": 1},
                    "unit": {"type": "str, optional", "default": "celsius"},
                },
            }
        ]
    ),
    "answers": json.dumps([{"name": "get_weather", "arguments": {"city": "Paris", "days": 3}}]),
}


@pytest.mark.parametrize(
    "response,ok,reason",
    [
        ("get_weather(city='Paris', days=3)", True, "ok"),
        ("get_weather(city='Paris', days=3.0)", True, "ok"),
        ("get_weather(city='Paris', days=3, unit='celsius')", True, "ok"),  # the declared default
        ("get_weather(city='Paris', days='3')", False, "wrong_type"),
        ("get_weather(city='Paris', days=4)", False, "wrong_value"),
        ("get_weather(city='Paris')", False, "missing_argument"),
        ("get_weather(city='Paris', days=3, unit='kelvin')", False, "unexpected_argument"),
        ("get_forecast(city='Paris', days=3)", False, "unknown_function"),
        ("[get_weather(city='Paris', days=3), get_weather(city='Paris', days=3)]", False, "wrong_count"),
        ("I don't know.", False, "no_call"),
    ],
)
def test_xlam_check(response, ok, reason):
    verdict = verify_xlam(XLAM, response)
    assert verdict.correct is ok and verdict.details["reason"] == reason, verdict
    assert "Paris" not in verdict.feedback and "3" not in verdict.feedback.replace("3.0", "")


def test_xlam_multiset_order_free(mini_data, tmp_path):
    from reflectevo_bench.tasks.registry import load_eval_tasks

    (task,) = load_eval_tasks("xlam_fc", str(mini_data), None, None, {"test_size": 3})  # every row in test
    assert len(task.docs) == 3 and "Query: Convert 100 USD" in task.task.doc_to_text(task.docs[1])
    swapped = (
        '[{"name": "convert", "arguments": {"amount": 100.0, "from_currency": "USD", "to_currency": "GBP"}},'
        ' {"name": "convert", "arguments": {"amount": 100, "from_currency": "USD", "to_currency": "EUR"}}]'
    )
    assert task.verify(task.docs[1], swapped).correct
    dropped = verify_xlam(task.docs[1], swapped.split("},", 1)[0] + "}]")
    assert not dropped.correct and dropped.details["reason"] == "wrong_count"
    nested = task.docs[2]
    assert task.verify(
        nested, "search_restaurants(city='Rome', filters={'open_now': True, 'stars': 3}, limit=5)"
    ).correct
    assert not task.verify(nested, "search_restaurants(city='Rome', filters={'stars': 3}, limit=5)").correct
    rows = [json.loads(x) for x in (mini_data / "xlam" / "xlam_function_calling_60k.jsonl").read_text().splitlines()]
    scores = score_cli(
        tmp_path,
        "xlam_fc",
        [
            {"doc": rows[0], "response": "get_weather(city='Paris', days=3)"},
            {"doc": rows[0], "response": "get_weather(city='Rome', days=3)"},
        ],
        mini_data,
    )
    assert [s["correct"] for s in scores] == [True, False]
    assert scores[1]["feedback"] == "Your call to `get_weather` has a wrong value for argument `city`."


BFCL_FUNCS = [
    {
        "name": "weather.get",
        "parameters": {
            "type": "dict",
            "required": ["location"],
            "properties": {
                "location": {"type": "string"},
                "days": {"type": "integer"},
                "ratio": {"type": "float"},
                "opts": {"type": "dict", "properties": {}},
                "fields": {"type": "array", "items": {"type": "string"}},
            },
        },
    }
]


def _bfcl(gt):
    return {
        "id": "simple_python_9",
        "question": "[]",
        "function": json.dumps(BFCL_FUNCS),
        "ground_truth": json.dumps(gt),
    }


@pytest.mark.parametrize(
    "response,ok,reason",
    [
        ("weather.get(location='New York, NY', days=3, ratio=2)", True, "ok"),  # int accepted for float
        ("weather.get(location='new york ny', days=3, ratio=2.0)", True, "ok"),  # BFCL string standardisation
        ("weather.get(location='NYC', days=3, ratio=2.0, opts={'unit': 'C'})", True, "ok"),
        ("weather.get(location='NYC', days=3, ratio=2.0, fields=['Temp', 'rain'])", True, "ok"),
        ("weather.get(location='NYC', days=3.0, ratio=2.0)", False, "wrong_type"),  # float for integer
        ("weather.get(location='NYC', days=True, ratio=2.0)", False, "wrong_type"),  # bool is not int
        ("weather.get(location='NYC', days=4, ratio=2.0)", False, "wrong_value"),
        ("weather.get(location='Boston', days=3, ratio=2.0)", False, "wrong_value"),
        ("weather.get(location='NYC', ratio=2.0)", False, "missing_argument"),  # days has no "" in its list
        ("weather.get(days=3, ratio=2.0)", False, "missing_argument"),
        ("weather.get(location='NYC', days=3, ratio=2.0, opts={'unit': 'F'})", False, "wrong_value"),
        ("weather.get(location='NYC', days=3, ratio=2.0, fields=['rain', 'temp'])", False, "wrong_value"),
        ("weather.get(location='NYC', days=3, ratio=2.0, zzz=1)", False, "unexpected_argument"),
        ("weather.put(location='NYC', days=3, ratio=2.0)", False, "unknown_function"),
    ],
)
def test_bfcl_possible_answer_semantics(response, ok, reason):
    gt = [
        {
            "weather.get": {
                "location": ["New York, NY", "NYC"],
                "days": [3],
                "ratio": [2.0],
                "opts": [{"unit": ["C", "celsius"]}, ""],
                "fields": [["temp", "rain"], ""],
            }
        }
    ]
    verdict = verify_bfcl(_bfcl(gt), response)
    assert verdict.correct is ok and verdict.details["reason"] == reason, verdict
    assert "New York" not in verdict.feedback and "celsius" not in verdict.feedback


def test_bfcl_parallel_is_order_free_and_counts_calls():
    gt = [{"weather.get": {"location": ["Paris"], "days": [1]}}, {"weather.get": {"location": ["Rome"], "days": [2]}}]
    doc = _bfcl(gt)
    assert verify_bfcl(doc, "[weather.get(location='Rome', days=2), weather.get(location='Paris', days=1)]").correct
    dropped = verify_bfcl(doc, "[weather.get(location='Rome', days=2)]")
    assert not dropped.correct and dropped.details["reason"] == "wrong_count"
    swapped = verify_bfcl(doc, "[weather.get(location='Rome', days=1), weather.get(location='Paris', days=2)]")
    assert not swapped.correct and swapped.details["reason"] == "wrong_value"


def test_bfcl_irrelevance_expects_no_call():
    doc = {"id": "irrelevance_3", "question": "[]", "function": json.dumps(BFCL_FUNCS), "ground_truth": "[]"}
    assert verify_bfcl(doc, "None of the functions can tell who wrote Hamlet.").correct
    assert verify_bfcl(doc, "[]").correct
    called = verify_bfcl(doc, "weather.get(location='London')")
    assert not called.correct and called.details["reason"] == "unexpected_call"
    raw = {"id": "irrelevance_3", "question": [[]], "function": BFCL_FUNCS}  # a raw question record
    assert verify_bfcl(raw, "No call fits.").correct


def test_fixture_bfcl_tasks(mini_data, tmp_path):
    simple, irrelevance = load_tasks("bfcl_simple,bfcl_irrelevance", mini_data)
    assert [d["id"] for d in simple.docs] == ["simple_python_0", "simple_python_1"]
    text = simple.task.doc_to_text(simple.docs[0])
    assert '"name": "calc_area"' in text and text.endswith("Question: Area of a triangle with base 10 and height 5?")
    assert simple.verify(simple.docs[0], '[{"name": "calc_area", "arguments": {"base": 10, "height": 5}}]').correct
    assert simple.verify(simple.docs[1], "weather.get(location='NYC', days=3, options={'unit': 'C'})").correct
    assert irrelevance.verify(irrelevance.docs[0], "I cannot answer that with these functions.").correct
    raw_q = json.loads((mini_data / "bfcl" / "BFCL_v4_simple_python.json").read_text().splitlines()[0])
    raw_a = json.loads(
        (mini_data / "bfcl" / "possible_answer" / "BFCL_v4_simple_python.json").read_text().splitlines()[0]
    )
    scores = score_cli(
        tmp_path,
        "bfcl_simple",
        [
            {"doc": {**raw_q, "ground_truth": raw_a["ground_truth"]}, "response": "calc_area(base=10, height=5.0)"},
            {"doc": {**raw_q, "ground_truth": raw_a["ground_truth"]}, "response": "calc_area(base=11, height=5.0)"},
        ],
        mini_data,
    )
    assert [s["correct"] for s in scores] == [True, False]


# ------------------------------------------------------------------------------- real BFCL v4 data


def _realise(allowed: list, spec: dict):
    values = [v for v in allowed if v != ""]
    if not values:
        return ""
    value = values[0]
    if spec.get("type") == "dict" and isinstance(value, dict):
        return {k: _realise(a, {}) for k, a in value.items() if [x for x in a if x != ""]}
    if spec.get("type") == "array" and spec.get("items", {}).get("type") == "dict" and isinstance(value, list):
        return [{k: _realise(a, {}) for k, a in d.items() if [x for x in a if x != ""]} for d in value]
    return value


def gold_calls(doc: dict) -> list[dict]:
    """A response built from the possible answer: the first acceptable value of every argument; arguments that
    may be omitted are left out unless the function requires them."""
    functions = {f["name"]: f for f in json.loads(doc["function"])}
    calls = []
    for entry in json.loads(doc["ground_truth"]):
        name, args = next(iter(entry.items()))
        params = functions[name]["parameters"]
        props, required = params.get("properties", {}), params.get("required", [])
        arguments = {
            p: _realise(a, props.get(p, {}))
            for p, a in args.items()
            if p in props and ([x for x in a if x != ""] or p in required)
        }
        calls.append({"name": name, "arguments": arguments})
    return calls


def _python(calls: list[dict]) -> str:
    return (
        "["
        + ", ".join(f"{c['name']}(" + ", ".join(f"{k}={v!r}" for k, v in c["arguments"].items()) + ")" for c in calls)
        + "]"
    )


def _perturb(doc: dict, calls: list[dict]) -> list[dict]:
    """Give one argument a value its possible answer does not allow (numbers +1, strings changed, bools flipped);
    if no argument can be changed, drop a call (or rename the only one)."""
    allowed = {}
    for entry in json.loads(doc["ground_truth"]):
        name, args = next(iter(entry.items()))
        allowed.setdefault(name, []).append(args)
    out = json.loads(json.dumps(calls))
    for call in out:
        for key, value in call["arguments"].items():
            if isinstance(value, bool):
                new = not value
            elif isinstance(value, (int, float)):
                new = value + 1
            elif isinstance(value, str) and value:
                new = value + " zzz"
            else:
                continue
            if any(new in args.get(key, []) for args in allowed[call["name"]]):
                continue
            call["arguments"][key] = new
            return out
    return out[1:] if len(out) > 1 else [{"name": out[0]["name"] + "_x", "arguments": out[0]["arguments"]}]


# Upstream items no response can satisfy: a required argument missing from the possible answer, or an
# argument the possible answer requires that the function does not declare.
UNSATISFIABLE = {"live_simple_106-63-0", "live_simple_112-68-0", "live_multiple_862-181-3", "live_multiple_964-207-0"}


def test_bfcl_gold_scores_all_and_perturbed_none(shared_data):
    tasks = load_tasks("bfcl", shared_data)
    assert sorted(t.name for t in tasks) == [
        "bfcl_irrelevance",
        "bfcl_live_multiple",
        "bfcl_live_simple",
        "bfcl_multiple",
        "bfcl_parallel",
        "bfcl_parallel_multiple",
        "bfcl_simple",
    ]
    failing = set()
    for task in tasks:
        for doc in task.docs:
            if task.name == "bfcl_irrelevance":
                assert task.verify(doc, "None of the given functions can answer this.").correct
                assert not task.verify(
                    doc, json.dumps([{"name": json.loads(doc["function"])[0]["name"], "arguments": {}}])
                ).correct
                continue
            calls = gold_calls(doc)
            as_json, as_python = task.verify(doc, json.dumps(calls)), task.verify(doc, _python(calls))
            assert as_json.correct == as_python.correct, doc["id"]
            if not as_json.correct:
                failing.add(doc["id"])
            assert not task.verify(doc, json.dumps(_perturb(doc, calls))).correct, doc["id"]
    assert failing == UNSATISFIABLE
