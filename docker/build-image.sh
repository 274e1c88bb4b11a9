#!/usr/bin/env bash
# Build a reflectevo-bench image from docker/Dockerfile with no network inside the build.
#
#   docker/build-image.sh --target cpu|gpu [--base IMAGE] [--tag TAG] [--python PYTHON]
#
# 1. Base. cpu: a local Debian bookworm image (docker/build-base.sh: debootstrap + docker import, cached).
#    gpu: --base (default: the Dockerfile's BASE, a vllm/vllm-openai image), pulled by docker as usual.
# 2. Wheels, staged in build/docker/ (the build context is the repo root; .dockerignore lets only these and
#    docker/install-project.sh through): the project's wheel (build/docker/project), built from a copy of the
#    working tree, and every dependency wheel with a pinned requirements.txt (build/docker/wheels).
#    cpu: `pip wheel` on the host with constraints-cpu.txt (torch = the local CPU wheel), cached in
#    ~/.cache/reflectevo-bench/docker/wheels-<python>-<hash of the declared dependencies + constraints> and
#    hard-linked into the context. gpu: `pip wheel` run inside the base image itself (its Python, constrained
#    to the packages it already has), so only what the base lacks is downloaded (network needed here only).
# 3. docker build --target <target> with VERSION and REVISION (git) build-args for the OCI labels; tags
#    reflectevo-bench:<target> and reflectevo-bench:<version>-<target> (and reflectevo-bench:<target>-deps, the
#    dependency stage, so that its layers stay cached when dangling images are pruned).
# Prints the image tag on its last line. Honours DOCKER_HOST.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TARGET="" BASE="" TAG="" PY=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --target) TARGET="$2"; shift 2;;
    --base) BASE="$2"; shift 2;;
    --tag) TAG="$2"; shift 2;;
    --python) PY="$2"; shift 2;;
    -h|--help) sed -n '2,18p' "$0"; exit 0;;
    *) echo "error: unknown argument $1; usage: docker/build-image.sh --target cpu|gpu [--base IMAGE] [--tag TAG]" >&2
       exit 2;;
  esac
done
[[ "$TARGET" == cpu || "$TARGET" == gpu ]] \
  || { echo "error: --target must be cpu or gpu (got '${TARGET}')" >&2; exit 2; }
if [[ -z "$PY" ]]; then
  if [[ -x "$REPO/.venv/bin/python" ]]; then PY="$REPO/.venv/bin/python"; else PY="$(command -v python3)"; fi
fi
EXTRAS="api,train"
VERSION="$("$PY" -c 'import tomllib, sys; print(tomllib.load(open(sys.argv[1], "rb"))["project"]["version"])' \
  "$REPO/pyproject.toml")"
REVISION="$(git -C "$REPO" rev-parse HEAD 2>/dev/null || echo unknown)"
[[ -z "$(git -C "$REPO" status --porcelain 2>/dev/null | head -1)" ]] || REVISION="$REVISION-dirty"
TAG="${TAG:-reflectevo-bench:$TARGET}"
CACHE="${REFLECTEVO_CACHE:-$HOME/.cache/reflectevo-bench}/docker"
STAGE="$REPO/build/docker/wheels"
WORK="$(mktemp -d /tmp/reflectevo-build-image-XXXXXX)"
trap 'rm -rf "$WORK"' EXIT
t0=$SECONDS
step() { echo "[$((SECONDS - t0)) s] $*"; }

# --- the project's wheel, from a copy of the working tree (tracked + untracked, ignored files left out) -----
step "building the project wheel"
mkdir -p "$WORK/src"
(cd "$REPO" && git ls-files -z --cached --others --exclude-standard | xargs -0 -I{} sh -c \
  'test -e "{}" && mkdir -p "$0/$(dirname "{}")" && cp -p "{}" "$0/{}"' "$WORK/src")
"$PY" -m pip wheel -q --no-deps --no-build-isolation -w "$WORK/project" "$WORK/src" >/dev/null
PROJECT_WHEEL="$(ls "$WORK"/project/reflectevo_bench-*.whl)"

PROJECT_STAGE="$REPO/build/docker/project"
rm -rf "$STAGE" "$PROJECT_STAGE" && mkdir -p "$STAGE" "$PROJECT_STAGE"
if [[ "$TARGET" == cpu ]]; then
  if [[ -z "$BASE" ]]; then
    step "the Debian base (docker/build-base.sh)"
    "$REPO/docker/build-base.sh" > "$WORK/base.log" 2>&1 || { cat "$WORK/base.log"; exit 1; }
    BASE="$(tail -n 1 "$WORK/base.log")"
  fi
  PYTAG="$("$PY" -c 'import sys; print(f"cp{sys.version_info.major}{sys.version_info.minor}")')"
  # the key: the project's declared dependencies (not the whole pyproject.toml), the constraints, python, extras
  KEY="$({ "$PY" -c 'import json, sys, tomllib; p = tomllib.load(open(sys.argv[1], "rb"))["project"]
print(json.dumps([p["dependencies"], p.get("optional-dependencies", {})], sort_keys=True))' "$REPO/pyproject.toml"
    cat "$REPO/constraints-cpu.txt"; echo "$PYTAG $EXTRAS"; } | sha256sum | cut -c1-16)"
  WHEELS="$CACHE/wheels-$PYTAG-$KEY"
  if [[ ! -f "$WHEELS/.complete" ]]; then
    step "collecting dependency wheels into $WHEELS"
    rm -rf "$WHEELS.part" && mkdir -p "$WHEELS.part"
    "$PY" -m pip wheel -q -w "$WHEELS.part" -c "$REPO/constraints-cpu.txt" "$PROJECT_WHEEL[$EXTRAS]" 2>"$WORK/pip.log" \
      || { grep -v "is ignored: it is neither" "$WORK/pip.log" | tail -n 20; echo "error: pip wheel failed"; exit 1; }
    rm -f "$WHEELS.part"/reflectevo_bench-*.whl
    touch "$WHEELS.part/.complete" && rm -rf "$WHEELS" && mv "$WHEELS.part" "$WHEELS"
    # keep only the newest few wheel sets
    ls -dt "$CACHE"/wheels-* 2>/dev/null | tail -n +4 | xargs -r rm -rf
  else
    step "dependency wheels cached in $WHEELS"
  fi
  cp -al "$WHEELS"/*.whl "$STAGE"/ 2>/dev/null || cp "$WHEELS"/*.whl "$STAGE"/
  cp "$REPO/constraints-cpu.txt" "$STAGE/constraints.txt"
else
  BASE="${BASE:-$(sed -n 's/^ARG BASE=//p' "$REPO/docker/Dockerfile" | head -n 1)}"
  step "collecting dependency wheels inside $BASE (only what it lacks)"
  # what the base lacks = what pip would install on it (a dry run against the base's own packages, frozen);
  # exactly those are fetched as wheels
  cat > "$WORK/missing.py" <<'EOF'
import json, sys
for item in json.load(open(sys.argv[1]))["install"]:
    meta = item["metadata"]
    if meta["name"].lower() != "reflectevo-bench":
        print(f"{meta['name']}=={meta['version']}")
EOF
  docker run --rm -e HOME=/tmp -v "$WORK/project:/project:ro" -v "$WORK/missing.py:/missing.py:ro" \
    -v "$STAGE:/wheels" --entrypoint /bin/sh "$BASE" -c 'set -e
      python3 -m pip list --format=freeze > /tmp/base.txt
      python3 -m pip install -q --dry-run --report /tmp/report.json -c /tmp/base.txt \
        "$(ls /project/reflectevo_bench-*.whl)[$0]"
      python3 /missing.py /tmp/report.json > /tmp/missing.txt
      if [ -s /tmp/missing.txt ]; then python3 -m pip wheel -q --no-deps -w /wheels -r /tmp/missing.txt; fi
      chown -R "$1" /wheels' "$EXTRAS" "$(id -u):$(id -g)"
  : > "$STAGE/constraints.txt"
fi
# every staged wheel, pinned: the dependency layer installs exactly these (and is cached while they stay)
"$PY" - "$STAGE" > "$STAGE/requirements.txt" <<'EOF'
import os, sys
for name in sorted(os.listdir(sys.argv[1])):
    if name.endswith(".whl"):
        dist, version = name.split("-")[:2]
        print(f"{dist}=={version}")
EOF
cp "$PROJECT_WHEEL" "$PROJECT_STAGE/"
step "staged $(ls "$STAGE"/*.whl 2>/dev/null | wc -l) dependency wheels ($(du -sh "$STAGE" | cut -f1)) and the project's"

step "docker build --target $TARGET (base $BASE)"
# the dependency stage first, tagged, so that pruning dangling images keeps it (the layer cache of the next
# build); skipped when the tagged one was built from the same base and wheels (one context upload less)
DEPS_KEY="$({ docker image inspect -f '{{.Id}}' "$BASE" 2>/dev/null; cat "$STAGE/requirements.txt" "$STAGE/constraints.txt" \
  "$REPO/docker/install-project.sh"; sed -n '/AS deps/,/^$/p' "$REPO/docker/Dockerfile"; } | sha256sum | cut -c1-16)"
if [[ "$(docker image inspect -f '{{index .Config.Labels "org.reflectevo.deps-key"}}' "reflectevo-bench:$TARGET-deps" \
      2>/dev/null)" != "$DEPS_KEY" ]]; then
  docker build -f "$REPO/docker/Dockerfile" --target deps --build-arg "BASE=$BASE" --build-arg "DEPS_KEY=$DEPS_KEY" \
    -t "reflectevo-bench:$TARGET-deps" "$REPO" >"$WORK/build.log" 2>&1 \
    || { tail -n 30 "$WORK/build.log"; echo "error: docker build failed (log above)"; exit 1; }
fi
docker build -f "$REPO/docker/Dockerfile" --target "$TARGET" \
  --build-arg "BASE=$BASE" --build-arg "DEPS_KEY=$DEPS_KEY" --build-arg "VERSION=$VERSION" \
  --build-arg "REVISION=$REVISION" --build-arg "EXTRAS=$EXTRAS" -t "$TAG" -t "reflectevo-bench:$VERSION-$TARGET" "$REPO" >"$WORK/build.log" 2>&1 \
  || { tail -n 30 "$WORK/build.log"; echo "error: docker build failed (log above)"; exit 1; }
rm -rf "$STAGE" "$PROJECT_STAGE"
rmdir "$REPO/build/docker" 2>/dev/null || true
step "built $TAG"
echo "$TAG"
