"""The retry continues the reflection's KV cache (TRL's plain ``transformers.generate`` path).

A reflection-GRPO rollout generates twice: the reflection, then the retry, whose chat is the reflection chat plus
the reflection and a retry request. Generated from scratch, the retry's prefill repeats the whole reflection prompt
for every completion. Here both generations run inside one ``unwrap_model_for_generation`` (one ZeRO-3 gather) and
the retry starts from the reflection's own cache: for each row only the tokens after the longest common prefix of
the retry prompt (rendered by the chat template, exactly as ``run`` renders it) and the row's cached tokens are
prefilled. Cached positions past that prefix (the end of a reflection the template renders differently, padding
after EOS) are masked out; position ids come from the mask (``cumsum - 1``), so every kept token and every new one
sits where a fresh prefill of the retry prompt would put it. The result is the same computation as a fresh
generation, up to floating-point summation order.

Used when TRL generates with plain ``transformers.generate`` (not vLLM, not continuous batching); elsewhere the
rollout makes its two generation calls as before (on vLLM the prefix cache does this work). Relies on TRL 1.16's
trainer attributes (``model_wrapped``, ``generation_kwargs``, ``pad_to_multiple_of``, ``eos_token_ids``), pinned.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any


def applies(trainer: Any) -> bool:
    """Whether the trainer generates with plain ``transformers.generate`` on a decoder-only text model whose layers
    all attend to the full context (a sliding-window layer's cache drops old positions, so holes in it cannot be
    masked by position: such models get a fresh prefill)."""
    if getattr(trainer, "use_vllm", False) or getattr(trainer, "use_transformers_continuous_batching", False):
        return False
    config = getattr(getattr(trainer, "model", None), "config", None)
    if config is None or getattr(config, "is_encoder_decoder", False) or getattr(trainer, "_is_vlm", False):
        return False
    if getattr(config, "sliding_window", None) and getattr(config, "use_sliding_window", True):
        return False
    return all(kind == "full_attention" for kind in (getattr(config, "layer_types", None) or ["full_attention"]))


@dataclass
class CachedGeneration:
    """What one reflection + retry pass produced, and how much of the retry prefill the cache saved."""

    completion_ids: list[list[int]]
    retry_ids: list[list[int]]
    retry_prompt_tokens: int  # the retry prompts' length, summed over rows (what a fresh prefill would compute)
    reused_tokens: int  # of those, the tokens read from the reflection's cache instead


@contextmanager
def _generation_model(trainer: Any) -> Iterator[Any]:
    """The unwrapped model, as TRL's ``_generate_single_turn`` holds it while it generates."""
    import torch
    from trl.models.utils import unwrap_model_for_generation

    with ExitStack() as stack:
        model = stack.enter_context(
            unwrap_model_for_generation(
                trainer.model_wrapped,
                trainer.accelerator,
                gather_deepspeed3_params=trainer.args.ds3_gather_for_generation,
                generation_kwargs=trainer.generation_kwargs,
                gradient_checkpointing_kwargs=trainer.args.gradient_checkpointing_kwargs,
            )
        )
        stack.enter_context(torch.no_grad())
        dist = getattr(trainer, "_dist", None)
        if dist is not None:
            stack.enter_context(dist.summon_full_params(trainer.model_wrapped, recurse=False))
        yield model


def _left_pad(trainer: Any, rows: list[list[int]]) -> tuple[Any, Any]:
    import torch
    from trl.trainer.utils import pad

    tensors = [torch.tensor(ids, dtype=torch.long) for ids in rows]
    multiple = getattr(trainer, "pad_to_multiple_of", None)
    ids = pad(tensors, padding_value=trainer._tokenizer.pad_token_id, padding_side="left", pad_to_multiple_of=multiple)
    mask = pad([torch.ones_like(t) for t in tensors], padding_value=0, padding_side="left", pad_to_multiple_of=multiple)
    device = trainer.accelerator.device
    return ids.to(device), mask.to(device)


def _until_eos(trainer: Any, generated: Any) -> tuple[list[list[int]], Any]:
    """Each row's tokens up to and including its first EOS (TRL's rule), and the matching 0/1 mask."""
    import torch

    is_eos = torch.isin(generated, torch.tensor(trainer.eos_token_ids, device=generated.device))
    first = torch.full((generated.size(0),), generated.size(1), dtype=torch.long, device=generated.device)
    any_eos = is_eos.any(dim=1)
    first[any_eos] = is_eos.int().argmax(dim=1)[any_eos]
    keep = torch.arange(generated.size(1), device=generated.device).expand(generated.size(0), -1) <= first[:, None]
    return [row[m].tolist() for row, m in zip(generated.cpu(), keep.cpu())], keep.long()


def _generate(model: Any, ids: Any, mask: Any, config: Any, cache: Any = None) -> tuple[Any, Any]:
    kwargs = {"cache": cache} if cache is not None else {}
    out = model.generate(
        input_ids=ids,
        attention_mask=mask,
        generation_config=config,
        return_dict_in_generate=True,
        use_cache=True,
        **kwargs,
    )
    cache = getattr(out, "cache", None)  # transformers 5; 4.x calls it past_key_values
    return out.sequences, cache if cache is not None else getattr(out, "past_key_values", None)


def _common_prefix(cached: list[int], wanted: list[int]) -> int:
    n = min(len(cached), len(wanted))
    i = 0
    while i < n and cached[i] == wanted[i]:
        i += 1
    return i


def reuse_plan(cached: Any, real: Any, wanted: list[list[int]]) -> tuple[Any, list[list[int]], int]:
    """Per row: which cached positions the retry keeps (its real tokens that start the retry prompt, in order), the
    retry prompt's tokens left to prefill (at least one, so the first retry logits are computed fresh), and the
    number of tokens reused in all."""
    import torch

    keep = torch.zeros(real.shape, dtype=torch.long)
    suffixes, reused = [], 0
    for i, want in enumerate(wanted):
        positions = real[i].nonzero().flatten()
        n = min(_common_prefix(cached[i, positions].tolist(), want), len(want) - 1)
        keep[i, positions[:n]] = 1
        suffixes.append(want[n:])
        reused += n
    return keep, suffixes, reused


def reflect_then_retry(
    trainer: Any,
    prompt_ids: list[list[int]],
    retry_prompts: Callable[[list[list[int]]], list[list[int]]],
    retry_config: Any,
    retry_kwargs: dict[str, Any],
) -> CachedGeneration:
    """Generate the reflections (the trainer's own generation config, as TRL would), build the retry prompts from
    them (``retry_prompts``: completion ids -> retry prompt ids), and generate the retries (``retry_config``) from
    the reflection's cache."""
    import torch
    from trl.models.utils import _override_model_generation_config

    with _generation_model(trainer) as model:
        ids, mask = _left_pad(trainer, prompt_ids)
        sequences, cache = _generate(model, ids, mask, trainer.generation_config)
        completions, completion_mask = _until_eos(trainer, sequences[:, ids.size(1) :])
        wanted = retry_prompts(completions)

        if cache is None:  # a model or cache type that does not hand its cache back: a fresh prefill
            past, keep, suffixes, reused = 0, None, wanted, 0
        else:
            past = cache.get_seq_length()  # the last generated token was never fed, so it is not cached
            real = torch.cat([mask, completion_mask], dim=1)[:, :past].bool().cpu()
            keep, suffixes, reused = reuse_plan(sequences[:, :past].cpu(), real, wanted)
        width = max(map(len, suffixes))
        pad_id = trainer._tokenizer.pad_token_id
        block = torch.tensor([[pad_id] * (width - len(s)) + s for s in suffixes], dtype=torch.long)
        block_mask = torch.tensor([[0] * (width - len(s)) + [1] * len(s) for s in suffixes], dtype=torch.long)
        device = sequences.device
        if past:
            retry_ids = torch.cat([sequences[:, :past], block.to(device)], dim=1)
            retry_mask = torch.cat([keep.to(device), block_mask.to(device)], dim=1)
        else:
            retry_ids, retry_mask = block.to(device), block_mask.to(device)
        with _override_model_generation_config(model, generation_kwargs=retry_kwargs):
            retried, _ = _generate(model, retry_ids, retry_mask, retry_config, cache if past else None)
        retries, _ = _until_eos(trainer, retried[:, retry_ids.size(1) :])
    return CachedGeneration(completions, retries, sum(map(len, wanted)), reused)
