#!/usr/bin/env bash
# Install everything the test suite needs, then run it. Extra arguments go to pytest.
#   system packages (as root, via apt): bubblewrap (sandbox), chromium (leaderboard browser check)
#   a virtualenv .venv with the project and its [dev] extra, torch pinned to the CPU build
set -euo pipefail
cd "$(dirname "$0")/.."

if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  missing=()
  for pkg in bubblewrap chromium util-linux procps; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "installing system packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
fi

PY="${PYTHON:-python3.11}"
command -v "$PY" >/dev/null 2>&1 || PY=python3
[ -x .venv/bin/python ] || "$PY" -m venv .venv
# No local CPU wheel of the pinned torch here (a stock runner)? Take PyTorch's CPU index, not PyPI's CUDA build.
if [ -z "${PIP_EXTRA_INDEX_URL:-}" ] && ! .venv/bin/python -m pip show -q torch >/dev/null 2>&1 \
    && ! .venv/bin/python -m pip install -q --dry-run --no-index --no-deps -c constraints-cpu.txt torch >/dev/null 2>&1; then
  export PIP_EXTRA_INDEX_URL=https://download.pytorch.org/whl/cpu
  echo "no local torch wheel: installing the CPU build from $PIP_EXTRA_INDEX_URL"
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -c constraints-test.txt -e '.[dev]'

export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
exec .venv/bin/python -m pytest -q "$@"
