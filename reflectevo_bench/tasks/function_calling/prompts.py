"""Function-calling prompts: the available functions as JSON, the request, and the call format.

Both tasks accept calls as JSON or as Python call syntax; the prompt asks for JSON (xLAM's native format) or
offers both (BFCL, whose prompting mode uses Python syntax).
"""

from __future__ import annotations

import json
from typing import Any

XLAM_FORMAT = 'Reply with only a JSON list of calls, each {"name": <tool name>, "arguments": {<argument>: <value>}}.'
BFCL_FORMAT = (
    'Reply with only the function calls, as a JSON list [{"name": <function name>, "arguments": '
    "{<argument>: <value>}}] or as Python calls [func_name(arg1=value1, arg2=value2)]. If none of the "
    "functions fits the request, say so and make no call."
)


def _load(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def xlam_doc_to_text(doc: dict[str, Any]) -> str:
    tools = json.dumps(_load(doc["tools"]), ensure_ascii=False, indent=1)
    return (
        f"You have access to the following tools:\n{tools}\n\n"
        "Answer the user's query by calling the tools: make every call the query needs, with every argument it "
        f"needs. {XLAM_FORMAT} For example: "
        '[{"name": "get_weather", "arguments": {"city": "Paris", "days": 3}}]\n\n'
        f"Query: {doc['query']}"
    )


def xlam_doc_to_target(doc: dict[str, Any]) -> str:
    return doc["answers"] if isinstance(doc["answers"], str) else json.dumps(doc["answers"])


def _question_text(question: Any) -> str:
    turns = _load(question)
    messages = turns[0] if turns and isinstance(turns[0], list) else turns
    if len(messages) == 1:
        return str(messages[0]["content"])
    return "\n".join(f"{m['role'].capitalize()}: {m['content']}" for m in messages)


def bfcl_doc_to_text(doc: dict[str, Any]) -> str:
    functions = json.dumps(_load(doc["function"]), ensure_ascii=False, indent=1)
    return (
        "You are given a question and a set of functions. Make the function call(s) that answer the question, "
        "with every required argument.\n"
        f"{BFCL_FORMAT}\n\nFunctions:\n{functions}\n\nQuestion: {_question_text(doc['question'])}"
    )


def bfcl_doc_to_target(doc: dict[str, Any]) -> str:
    gt = doc.get("ground_truth", "[]")
    return gt if isinstance(gt, str) else json.dumps(gt)
