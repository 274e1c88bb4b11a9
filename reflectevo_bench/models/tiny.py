"""A tiny random Llama with a real byte-level BPE tokenizer, for tests and smoke runs.

`build_tiny_model(path, seed)` writes an ordinary Hugging Face folder (config, safetensors weights,
tokenizer.json, tokenizer_config with a ChatML template carrying `{% generation %}` markers, greedy
generation_config) that loads with `AutoModelForCausalLM`, `AutoTokenizer` and lm-eval's `HFLM`.
Everything is built locally in about a second; the same seed gives the same bytes.

`scale=N` widens the model to about N times the parameters (same tokenizer, template and layer count), e.g. the
"10x-larger reference" of the experiment tests; `scale=1` is the original model, byte for byte.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from reflectevo_bench.models._files import make_readable, portable_tokenizer_config

SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
EOS_TOKEN = "<|im_end|>"
PAD_TOKEN = "<|endoftext|>"
VOCAB_SIZE = 768

# ChatML; assistant content (and its closing <|im_end|>) sits inside generation markers so TRL's
# assistant_only_loss can mask everything else.
CHAT_TEMPLATE = (
    "{%- for message in messages %}"
    "{%- if message['content'] is string %}{%- set content = message['content'] %}"
    "{%- else %}{%- set content = message['content'] | map(attribute='text') | join('') %}{%- endif %}"
    "{%- if message['role'] == 'assistant' %}"
    "{{- '<|im_start|>assistant\\n' }}"
    "{% generation %}{{- content + '<|im_end|>' }}{% endgeneration %}"
    "{{- '\\n' }}"
    "{%- else %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + content + '<|im_end|>\\n' }}"
    "{%- endif %}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)

_CORPUS = r"""
The quick brown fox jumps over the lazy dog. A model reads the question, thinks step by step, and writes an answer.
If the first answer is wrong, the model reflects on its mistake and tries again. The answer is correct.
The answer is incorrect. Let us check the reasoning: which step failed, and why? Reflection: I made an error.
Question: What is the capital of France? Answer: Paris. Question: Which option is true? Answer: (B)
Choose the best option: A, B, C or D. The correct option is C. Explain your reasoning before you answer.
You are a helpful assistant. Please answer the user's question as briefly as possible. Thank you.
Math: 2 + 2 = 4. 3 * 7 = 21. 10 - 4 = 6. 12 / 3 = 4. (3 + 5) * 2 = 16. 100 - 25 * 3 = 25. 7 * 8 = 56.
Countdown: use the numbers 3, 5, 2 and 16 exactly once with + - * / to reach the target 24.
(25 - 5) / 4 + 19 = 24. (6 * 4) - (9 / 3) = 21. ((1 + 2) * (3 + 4)) - 5 = 16. 0 1 2 3 4 5 6 7 8 9
x = 5, y = x ** 2 + 3 * x - 1; solve 2x + 3 = 11, so x = 4. \frac{1}{2} + \frac{1}{3} = \frac{5}{6}. \boxed{42}
The sum of the angles of a triangle is 180 degrees. The square root of 144 is 12. 15% of 200 is 30.
def add(a, b):
    return a + b

def is_prime(n: int) -> bool:
    if n < 2:
        return False
    for i in range(2, int(n ** 0.5) + 1):
        if n % i == 0:
            return False
    return True

class Stack:
    def __init__(self):
        self.items = []

    def push(self, item):
        self.items.append(item)

assert add(2, 3) == 5
print([x * x for x in range(10) if x % 2 == 0])
{"name": "get_weather", "arguments": {"city": "Paris", "unit": "celsius"}}
[{"name": "search", "arguments": {"query": "tiny model", "limit": 3}}]
Traceback (most recent call last): AssertionError: expected 5, got 6. NameError: name 'x' is not defined.
"""


def _corpus() -> list[str]:
    """Training lines: the built-in text plus digits, operators and the chat markers."""
    extra = [" ".join(str(i) for i in range(100)), "+ - * / = ( ) [ ] { } < > , . : ; ! ? ' \" % ^ & | _ # @ $"]
    chat = ["<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\nhello<|im_end|>\n"]
    return [ln for ln in _CORPUS.splitlines() if ln.strip()] * 3 + extra * 3 + chat


def _train_tokenizer():
    """Train a byte-level BPE (`tokenizers`) on the built-in corpus and wrap it as a fast HF tokenizer."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE,
        min_frequency=2,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(_corpus(), trainer=trainer)
    hf = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token=EOS_TOKEN,
        pad_token=PAD_TOKEN,
        unk_token=None,
        bos_token=None,
        model_max_length=2048,
        padding_side="left",
    )
    hf.chat_template = CHAT_TEMPLATE
    return hf


BASE_HIDDEN = 64
LAYERS = 2
HEADS = 4


def param_count(vocab: int, hidden: int, layers: int = LAYERS) -> int:
    """Parameters of the tiny Llama layout (tied embeddings, MLP width 2 × hidden, as many KV heads as heads)."""
    per_layer = 4 * hidden * hidden + 3 * hidden * (2 * hidden) + 2 * hidden
    return vocab * hidden + layers * per_layer + hidden


def hidden_for_scale(vocab: int, scale: float) -> int:
    """The hidden size (a multiple of 8) whose model is closest to ``scale`` × the parameters of the base one."""
    if scale <= 0:
        raise ValueError(f"scale must be positive, got {scale}")
    if scale == 1:
        return BASE_HIDDEN
    target = scale * param_count(vocab, BASE_HIDDEN)
    return min(range(8, 8193, 8), key=lambda h: abs(param_count(vocab, h) - target))


def _build_model(
    tokenizer, seed: int, scale: float = 1, hidden: int | None = None, layers: int = LAYERS, heads: int = HEADS
):
    """A randomly initialised Llama (2 layers unless ``layers``) sized to the tokenizer, greedy by default."""
    import torch
    from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM

    eos_id = tokenizer.convert_tokens_to_ids(EOS_TOKEN)
    pad_id = tokenizer.convert_tokens_to_ids(PAD_TOKEN)
    hidden = hidden or hidden_for_scale(len(tokenizer), scale)
    if hidden % heads:
        raise ValueError(f"hidden size {hidden} is not a multiple of --heads {heads}")
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden,
        intermediate_size=2 * hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=heads,
        max_position_embeddings=2048,
        tie_word_embeddings=True,
        bos_token_id=None,
        eos_token_id=eos_id,
        pad_token_id=pad_id,
        torch_dtype="float32",
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config).eval()
    model.generation_config = GenerationConfig(
        do_sample=False, eos_token_id=eos_id, pad_token_id=pad_id, bos_token_id=None
    )
    return model


def build_tiny_model(
    path: Path, seed: int = 0, scale: float = 1, hidden: int | None = None, layers: int = LAYERS, heads: int = HEADS
) -> Path:
    """Write a tiny random Llama + BPE tokenizer folder at `path` and return it.

    The folder is written in a temporary sibling and moved into place, replacing any previous
    content at `path`. Same `seed` (and `scale`) -> identical `model.safetensors` bytes. `scale` N: about N times
    the parameters (a wider model; 1 = the original). `hidden`, `layers`, `heads` set the shape outright instead
    (e.g. hidden 2048, 16 layers, 16 heads: a random Llama of about 0.7B parameters for GPU throughput checks).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tokenizer = _train_tokenizer()
    model = _build_model(tokenizer, seed, scale, hidden, layers, heads)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        portable_tokenizer_config(tmp, chat_template=CHAT_TEMPLATE)
        make_readable(tmp)
        if path.exists():
            shutil.rmtree(path)
        os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path
