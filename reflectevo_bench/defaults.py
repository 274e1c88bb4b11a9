"""Default values that more than one module uses: each is written here once, and the others import it."""

from __future__ import annotations

DEFAULT_SEED = 1234  # run --seed, the engine's request seeds, an experiment spec's `seed`
# lm-eval's default fewshot_random_seed (simple_evaluate's), so attempt 1 matches stock runs: another seed than
# DEFAULT_SEED that happens to have the same value; --seed does not change it
FEWSHOT_SEED = 1234
FEWSHOT_AS_MULTITURN = True  # lm_eval.simple_evaluate's default (0.4.x): exemplars as user/assistant turns
DEFAULT_BATCH_SIZE = "16"  # run --batch-size (a string: "auto" is allowed)
DEFAULT_CHUNK_SIZE = 256  # run --chunk-size: docs per engine chunk
DEFAULT_TASKS = "countdown,arith_1op"  # run with no --tasks
DEFAULT_LIMIT = 10  # per task, with no --tasks: the no-options run finishes in about 3 minutes on 2 CPU cores
DEFAULT_MODEL_ALIAS = "smollm2-135m"  # an hf / vllm model with no pretrained=
