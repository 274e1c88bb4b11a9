"""Per-request sampling seeds, so a sampled run that was killed and resumed writes the records an uninterrupted
run writes (``run --resume`` after kill -9).

A request's seed is a function of the run's ``--seed`` and the request's salt (task, doc, phase and branch: the
same salt that keys the response cache), never of which other requests share its batch or how many were left
after a kill. How each backend takes it:

- ``vllm``: ``SamplingParams(seed=...)`` per request (lm-eval builds one ``SamplingParams`` per request from its
  generation kwargs, so the seed rides in them; vLLM's per-request generator makes the sample independent of the
  batch);
- ``hf`` (``transformers.generate`` over padded batches, one global RNG): sampling is done by
  :class:`SeededSampler`, a logits processor that applies the model's own sampling warpers (temperature, top-k,
  top-p, min-p, …, as ``generate`` would), then draws each row's token with its own ``torch.Generator`` seeded with
  that row's request seed (the exponential race, i.e. Gumbel-max: ``argmax(p / E)``, ``E ~ Exp(1)``), and hands
  ``generate`` a greedy choice. Row r's t-th token uses the t-th draw of r's generator, whatever its neighbours;
- OpenAI-style servers (``local-chat-completions``, ``local-completions`` with batch size 1, …): ``seed`` in each
  request body (servers such as vLLM's and llama.cpp's honour it);
- anything else: not supported -- said in one line when a sampled run starts, and recorded in ``run.json``.
"""

from __future__ import annotations

import hashlib
import json
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

HF, VLLM, API = "hf", "vllm", "api"
HOW = {
    HF: "per-row torch.Generator sampling in a logits processor, seeded per request",
    VLLM: "SamplingParams(seed=...) per request",
    API: "'seed' in each request body, per request",
}
# generate() kwargs that only matter when sampling: SeededSampler applies them itself
SAMPLING_KEYS = ("temperature", "top_k", "top_p", "min_p", "typical_p", "epsilon_cutoff", "eta_cutoff", "top_h")


def request_seed(run_seed: int, salt: str) -> int:
    """The sampling seed of one request: its salt (task/doc/phase[/branch]) under the run's --seed (31 bits)."""
    digest = hashlib.sha256(f"{run_seed}\x00{salt}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


def samples(gen_kwargs: dict[str, Any]) -> bool:
    """Whether a request samples (lm-eval's rule: ``do_sample``, or a positive temperature when it is unset)."""
    do_sample = gen_kwargs.get("do_sample")
    if do_sample is None:
        try:
            return float(gen_kwargs.get("temperature") or 0.0) > 0.0
        except (TypeError, ValueError):
            return False
    return bool(do_sample)


def _own(lm: Any, method: str) -> str | None:
    fn = getattr(type(lm), method, None)
    return getattr(fn, "__qualname__", None)


def method_of(lm: Any) -> str | None:
    """How ``lm`` takes a per-request seed (HF, VLLM, API), or None where it cannot."""
    generate = _own(lm, "generate_until")
    if (
        generate == "HFLM.generate_until"
        and callable(getattr(lm, "_model_generate", None))
        and callable(getattr(lm, "tok_batch_encode", None))
    ):
        return HF
    if generate == "VLLM.generate_until":
        return VLLM
    if (
        generate == "TemplateAPI.generate_until"
        and callable(getattr(lm, "_create_payload", None))
        and getattr(lm, "_batch_size", 1) == 1
        and getattr(lm, "tokenized_requests", True) is False
    ):
        return API  # one prompt (text or chat messages) per request body
    return None


def describe(lm: Any) -> str:
    """For run.json: how this LM's sampled requests are seeded, or why they cannot be."""
    method = method_of(lm)
    if method is not None:
        return f"{method}: {HOW[method]}"
    name, batch = type(lm).__name__, getattr(lm, "_batch_size", None)
    if isinstance(batch, int) and batch > 1:
        why = f"{name} sends {batch} prompts per request with one seed"
    elif getattr(lm, "tokenized_requests", None):
        why = f"{name} (tokenized requests) takes no per-request seed here"
    else:
        why = f"{name} takes no per-request seed"
    return f"unsupported: {why}; a sampled run resumed after a kill may differ from an uninterrupted one"


class _Seeds:
    """Seeds of the requests in flight, looked up by their context (equal contexts: in request order)."""

    def __init__(self, contexts: list[Any], seeds: list[int | None], key: Callable[[Any], Any] = lambda c: c) -> None:
        self.key = key
        self._by_context: dict[Any, deque[int]] = {}
        for context, seed in zip(contexts, seeds):
            if seed is not None:  # greedy requests are never looked up
                self._by_context.setdefault(key(context), deque()).append(seed)

    def take(self, key: Any) -> int:
        queue = self._by_context.get(key)
        if not queue:
            raise RuntimeError("a request reached the backend that the harness did not send (no seed for it)")
        return queue.popleft()


@contextmanager
def seeded(lm: Any, contexts: list[Any], gen_kwargs: list[dict[str, Any]], seeds: list[int | None]) -> Iterator[None]:
    """While one ``generate_until`` call runs, give every request its seed (None: a greedy request, left alone).
    ``gen_kwargs`` are the request kwargs to be sent (``vllm``: the seed is put in them)."""
    method = method_of(lm) if any(s is not None for s in seeds) else None
    if method == VLLM:
        for kwargs, seed in zip(gen_kwargs, seeds):
            if seed is not None:
                kwargs["seed"] = seed
        yield
    elif method == HF:
        with _hf_seeded(lm, _Seeds(contexts, seeds)):
            yield
    elif method == API:
        with _api_seeded(lm, _Seeds(contexts, seeds, _api_key)):
            yield
    else:
        yield


@contextmanager
def _patched(lm: Any, attr: str, make: Callable[[Callable[..., Any]], Callable[..., Any]]) -> Iterator[None]:
    """Wrap ``lm.attr`` on the instance for the block; what was there before (another wrapper) comes back."""
    had = attr in vars(lm)
    before = vars(lm).get(attr)
    setattr(lm, attr, make(getattr(lm, attr)))
    try:
        yield
    finally:
        if had:
            setattr(lm, attr, before)
        else:
            delattr(lm, attr)


@contextmanager
def _hf_seeded(lm: Any, seeds: _Seeds) -> Iterator[None]:
    batches: deque[list[Any]] = deque()  # the contexts of each batch, as lm-eval encodes them before generating

    def encoding(original: Callable[..., Any]) -> Callable[..., Any]:
        def tok_batch_encode(strings: Any, *args: Any, **kwargs: Any) -> Any:
            batches.append(list(strings))
            return original(strings, *args, **kwargs)

        return tok_batch_encode

    def generating(original: Callable[..., Any]) -> Callable[..., Any]:
        def _model_generate(*args: Any, **kwargs: Any) -> Any:
            contexts = batches.popleft() if batches else None
            if kwargs.get("do_sample") and contexts is not None:
                from transformers import LogitsProcessorList

                sampling = {k: kwargs.pop(k) for k in SAMPLING_KEYS if k in kwargs}
                row_seeds = [seeds.take(c) for c in contexts]
                kwargs["do_sample"] = False  # greedy over the processor's choice: generate's RNG is never used
                extra = list(kwargs.pop("logits_processor", None) or [])
                kwargs["logits_processor"] = LogitsProcessorList(
                    extra + [SeededSampler(row_seeds, sampling_warpers(lm.model, sampling))]
                )
            return original(*args, **kwargs)

        return _model_generate

    with _patched(lm, "tok_batch_encode", encoding), _patched(lm, "_model_generate", generating):
        yield


def _api_key(context: Any) -> str:
    """A request's identity as the payload builder sees it: the chat messages (JSON) or the prompt text."""
    prompt = getattr(context, "prompt", None)
    if isinstance(prompt, str):  # lm-eval's JsonChatStr: the messages as JSON
        return json.dumps(json.loads(prompt), sort_keys=True, ensure_ascii=False)
    return json.dumps(context, sort_keys=True, ensure_ascii=False, default=str)


@contextmanager
def _api_seeded(lm: Any, seeds: _Seeds) -> Iterator[None]:
    def paying(original: Callable[..., Any]) -> Callable[..., Any]:
        def _create_payload(messages: Any, *args: Any, **kwargs: Any) -> Any:
            payload = original(messages, *args, **kwargs)
            if kwargs.get("generate", args[0] if args else False) and isinstance(payload, dict):
                payload["seed"] = seeds.take(json.dumps(messages, sort_keys=True, ensure_ascii=False, default=str))
            return payload

        return _create_payload

    with _patched(lm, "_create_payload", paying):
        yield


def sampling_warpers(model: Any, sampling: dict[str, Any]) -> list[Any]:
    """The warpers ``generate(do_sample=True, **sampling)`` would apply, in its order: each value from
    ``sampling``, else the model's generation config, else transformers' global default (e.g. top_k 50)."""
    import transformers as tf

    config = getattr(model, "generation_config", None)
    defaults = (
        tf.GenerationConfig._get_default_generation_params()
        if hasattr(tf.GenerationConfig, "_get_default_generation_params")
        else {}
    )

    def value(key: str) -> Any:
        if sampling.get(key) is not None:
            return sampling[key]
        own = getattr(config, key, None) if config is not None else None
        return own if own is not None else defaults.get(key)

    warpers: list[Any] = []
    temperature, top_k, top_p, min_p = value("temperature"), value("top_k"), value("top_p"), value("min_p")
    typical_p, epsilon, eta, top_h = value("typical_p"), value("epsilon_cutoff"), value("eta_cutoff"), value("top_h")
    if temperature is not None and float(temperature) != 1.0:
        warpers.append(tf.TemperatureLogitsWarper(float(temperature)))
    if top_h is not None and hasattr(tf, "TopHLogitsWarper"):
        warpers.append(tf.TopHLogitsWarper(top_h=float(top_h)))
    if top_k is not None and int(top_k) != 0:
        warpers.append(tf.TopKLogitsWarper(top_k=int(top_k), min_tokens_to_keep=1))
    if top_p is not None and float(top_p) < 1.0:
        warpers.append(tf.TopPLogitsWarper(top_p=float(top_p), min_tokens_to_keep=1))
    if min_p is not None:
        warpers.append(tf.MinPLogitsWarper(min_p=float(min_p), min_tokens_to_keep=1))
    if typical_p is not None and float(typical_p) < 1.0:
        warpers.append(tf.TypicalLogitsWarper(mass=float(typical_p), min_tokens_to_keep=1))
    if epsilon is not None and 0.0 < float(epsilon) < 1.0:
        warpers.append(tf.EpsilonLogitsWarper(epsilon=float(epsilon), min_tokens_to_keep=1))
    if eta is not None and 0.0 < float(eta) < 1.0:
        warpers.append(
            tf.EtaLogitsWarper(epsilon=float(eta), min_tokens_to_keep=1, device=getattr(model, "device", "cpu"))
        )
    return warpers


class SeededSampler:
    """A ``transformers`` logits processor that samples each row with its own generator (see the module doc).
    It returns scores that are 0 at the sampled token and -inf elsewhere, for greedy decoding to pick."""

    def __init__(self, seeds: list[int], warpers: list[Any] | None = None) -> None:
        self.seeds = list(seeds)
        self.warpers = list(warpers or [])
        self._generators: list[Any] | None = None

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        import torch

        if scores.shape[0] != len(self.seeds):
            raise RuntimeError(f"SeededSampler got {scores.shape[0]} rows for {len(self.seeds)} seeds")
        if self._generators is None:
            self._generators = [torch.Generator(device=scores.device).manual_seed(s) for s in self.seeds]
        for warper in self.warpers:
            scores = warper(input_ids, scores)
        probs = torch.softmax(scores.float(), dim=-1)
        race = torch.stack(
            [torch.empty(probs.shape[-1], device=probs.device).exponential_(generator=g) for g in self._generators]
        )
        choice = (probs / race).argmax(dim=-1)
        out = torch.full_like(scores, float("-inf"))
        out.scatter_(1, choice.unsqueeze(1), 0.0)
        return out
