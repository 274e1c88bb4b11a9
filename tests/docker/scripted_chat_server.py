"""A scripted OpenAI-compatible chat server for runs inside the image (stdlib only: the image's Python runs it).

    python scripted_chat_server.py MBPP_JSONL PORT

MBPP prompts are recognised by their problem statement (``text`` in MBPP_JSONL): even task_ids get the
reference solution, odd ones a program that defines the function but returns None (wrong, so the sandbox must
run the asserts to tell). Anything else (countdown, reflection requests) gets a plain wrong answer. Prints
"ready" once it listens on 127.0.0.1:PORT; logs nothing else.
"""

from __future__ import annotations

import json
import re
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def load(path: str) -> list[dict]:
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def answer(tasks: list[dict], messages: list[dict]) -> str:
    for message in reversed([m for m in messages if m.get("role") == "user"]):
        content = str(message.get("content", ""))
        for task in tasks:
            if task["text"].strip() in content:
                if task["task_id"] % 2 == 0:
                    code = task["code"].replace("\r\n", "\n")
                else:
                    called = re.match(r"\s*assert\s+(?:not\s+)?\(?\s*(?:set\()?\s*(\w+)\s*\(", task["test_list"][0])
                    code = f"def {called.group(1) if called else 'solution'}(*args):\n    return None\n"
                return f"```python\n{code}\n```"
    return "I could not solve it. The answer is 42."


def main() -> None:
    tasks = load(sys.argv[1])
    port = int(sys.argv[2])

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            text = answer(tasks, body.get("messages", []))
            reply = {
                "id": "cmpl-scripted",
                "object": "chat.completion",
                "created": 0,
                "model": body.get("model", "scripted"),
                "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": text}}],
                "usage": {
                    "prompt_tokens": 1,
                    "completion_tokens": max(1, len(text.split())),
                    "total_tokens": 1 + max(1, len(text.split())),
                },
            }
            data = json.dumps(reply).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    print("ready", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
