#!/usr/bin/env bash
# GPU check, for a CUDA machine that has torch, transformers, peft and accelerate but no vLLM and no package index.
# Bring the wheels made by scripts/gpu-wheels.sh (on a machine with PyPI) in WHEELS (default .whl), then:
#
#   bash scripts/gpu-check.sh [benchmarks/gpu_check.py options]
#
# 1. installs this project and its missing pure-Python dependencies from those wheels with --no-index, into
#    python3's environment (or, where that is read-only, into /tmp/site on PYTHONPATH);
# 2. runs benchmarks/gpu_check.py: a random Llama of about 0.7B parameters in bf16 on CUDA through the `hf`
#    backend, phase-batched vs sequential generated tokens/s, and one SFT step. Prints the figures.
set -euo pipefail
cd "$(dirname "$0")/.."
WHEELS="${WHEELS:-.whl}"
PY="${PYTHON:-python3}"
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false PYTHONUNBUFFERED=1

ls "$WHEELS"/reflectevo_bench-*.whl >/dev/null 2>&1 \
  || { echo "error: no reflectevo_bench wheel in $WHEELS: run scripts/gpu-wheels.sh where PyPI is reachable and bring $WHEELS along" >&2; exit 2; }
"$PY" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' \
  || { echo "error: $PY's torch sees no CUDA device: run this on the GPU machine" >&2; exit 2; }
project="$(ls "$WHEELS"/reflectevo_bench-*.whl | head -1)"
if ! "$PY" -m pip install -q --no-index --find-links "$WHEELS" --no-compile "${project}[train]"; then
  echo "installing into python3's environment failed; installing the wheels into /tmp/site instead"
  "$PY" -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/site "$WHEELS"/*.whl
  export PYTHONPATH="/tmp/site${PYTHONPATH:+:$PYTHONPATH}"
fi
"$PY" -c 'import torch, transformers, trl, lm_eval; print("torch", torch.__version__, "| transformers", transformers.__version__, "| trl", trl.__version__, "| lm-eval", lm_eval.__version__, "|", torch.cuda.get_device_name(0))'
exec "$PY" benchmarks/gpu_check.py "$@"
