#!/usr/bin/env bash
# Gather, on a machine with PyPI, the wheels scripts/gpu-check.sh installs on a CUDA machine that has no package
# index: this project's wheel plus every package of its dependency tree (with the [train] extra) that the CUDA
# machine lacks (scripts/gpu-host-packages.txt lists what it has), at the versions tested here (.venv), as binary
# wheels for the CUDA machine's Python.
#
#   scripts/gpu-wheels.sh [DIR]        (default .whl; PYVER=3.12 by default: the lent machine's python3)
#
# Prints the wheels and their total size (the device tool carries at most 64 MiB with the working tree).
set -euo pipefail
cd "$(dirname "$0")/.."
DIR="${1:-.whl}"
PYVER="${PYVER:-3.12}"
PY=.venv/bin/python
[[ -x "$PY" ]] || { echo "error: no .venv here: run 'bash scripts/test.sh' (or the README's install) first" >&2; exit 2; }
mkdir -p "$DIR"
rm -f "$DIR"/*.whl
"$PY" -m pip wheel -q --no-deps --no-build-isolation -w "$DIR" . >/dev/null
mapfile -t NEEDED < <("$PY" - scripts/gpu-host-packages.txt <<'PY'
import importlib.metadata as md
import sys

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

present = {canonicalize_name(line.strip()) for line in open(sys.argv[1]) if line.strip() and not line.startswith("#")}
seen, todo = {}, [("reflectevo-bench", frozenset({"train"}))]
while todo:  # the installed dependency closure of reflectevo-bench[train], markers evaluated here
    name, extras = todo.pop()
    dist = md.distribution(name)
    key = canonicalize_name(dist.metadata["Name"])
    if key in seen and extras <= seen[key][1]:
        continue
    seen[key] = (dist.version, extras | seen.get(key, ("", frozenset()))[1])
    for text in dist.requires or []:
        req = Requirement(text)
        if req.marker is None or any(req.marker.evaluate({"extra": e}) for e in (extras or {""})):
            todo.append((req.name, frozenset(req.extras)))
for key, (version, _) in sorted(seen.items()):
    if key not in present and key != "reflectevo-bench":
        print(f"{key}=={version.split('+')[0]}")
PY
)
PLATFORMS=()
for n in 39 35 34 31 28 27 24 17 5; do PLATFORMS+=(--platform "manylinux_2_${n}_x86_64"); done
PLATFORMS+=(--platform manylinux2014_x86_64 --platform manylinux1_x86_64 --platform any)
for req in "${NEEDED[@]}"; do   # a binary wheel for the CUDA machine, else one built here from the sdist (pure Python)
  "$PY" -m pip download -q --no-deps --only-binary=:all: --python-version "$PYVER" --implementation cp \
    "${PLATFORMS[@]}" -d "$DIR" "$req" 2>/dev/null \
  || "$PY" -m pip wheel -q --no-deps -w "$DIR" "$req" 2>&1 | grep -v "^WARNING: Location" \
  || true
  ls "$DIR" | grep -qi "^$(echo "${req%%==*}" | tr '-' '_' )-" || { echo "error: no wheel for $req" >&2; exit 1; }
done
ls -1 "$DIR"
echo "$(ls "$DIR"/*.whl | wc -l) wheels, $(du -cm "$DIR"/*.whl | tail -1 | cut -f1) MiB in $DIR (${#NEEDED[@]} packages the CUDA machine lacks + this project)"
