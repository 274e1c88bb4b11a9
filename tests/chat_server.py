"""A real OpenAI-compatible chat-completions server over a local HF model, for backend wiring tests.

It serves POST /v1/chat/completions with greedy generation by transformers and logs every request body; each
reply carries ``usage`` (prompt and completion token counts, as OpenAI's API does) unless ``usage=False``.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class ChatServer:
    def __init__(self, model_dir: Path, usage: bool = True) -> None:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(model_dir)
        self.model = AutoModelForCausalLM.from_pretrained(model_dir)
        self.requests: list[dict] = []
        self.replies: list[tuple[str, int]] = []  # (content, completion_tokens) of every reply, in order
        self.usage = usage
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if self.path != "/v1/chat/completions":
                    self.send_error(404)
                    return
                text, prompt_tokens, completion_tokens = server.complete(body)
                reply = {
                    "id": "cmpl-test",
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": body.get("model", "tiny"),
                    "choices": [
                        {"index": 0, "finish_reason": "length", "message": {"role": "assistant", "content": text}}
                    ],
                }
                if server.usage:
                    reply["usage"] = {
                        "prompt_tokens": prompt_tokens,
                        "completion_tokens": completion_tokens,
                        "total_tokens": prompt_tokens + completion_tokens,
                    }
                payload = json.dumps(reply).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1/chat/completions"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def complete(self, body: dict) -> tuple[str, int, int]:
        """(text, prompt tokens, generated tokens) of a greedy completion of the request's messages."""
        import torch

        with self._lock:
            self.requests.append(body)
            ids = self.tokenizer.apply_chat_template(
                body["messages"], add_generation_prompt=True, return_tensors="pt", return_dict=True
            )
            with torch.no_grad():
                out = self.model.generate(**ids, max_new_tokens=int(body.get("max_tokens", 16)), do_sample=False)
            prompt_tokens = ids["input_ids"].shape[1]
            generated = out[0, prompt_tokens:]
            text = self.tokenizer.decode(generated, skip_special_tokens=True)
            self.replies.append((text, len(generated)))
            return text, prompt_tokens, len(generated)

    def run_countdown(self, out: Path, *args: str) -> None:
        """`reflectevo-bench run --model local-chat-completions --tasks countdown` against this server, in process
        (click's CliRunner); ``args`` add to it (--limit, --protocol, --gen-kwargs, ...). Fails on a non-zero exit."""
        from click.testing import CliRunner

        from reflectevo_bench.cli import main

        model_args = f"model=tiny,base_url={self.url},max_retries=1"
        cmd = ["run", "--model", "local-chat-completions", "--model-args", model_args, "--tasks", "countdown"]
        res = CliRunner().invoke(main, [*cmd, *args, "--output", str(out)])
        assert res.exit_code == 0, res.output + repr(res.exception)

    def __enter__(self) -> ChatServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
