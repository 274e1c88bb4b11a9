#!/usr/bin/env bash
# Build the docker sandbox image from a LOCAL base image (no registry access needed).
#
#   docker/build-sandbox-image.sh [PYTHON]
#
# 1. Packs a minimal root file system: PYTHON's real binary, libpython, its standard library (no
#    site-packages, tests, idle, tkinter, ensurepip) and every shared library `ldd` reports for them, plus
#    an /etc/passwd with nobody. `docker import` turns it into reflectevo-sandbox-base:local.
# 2. Builds docker/sandbox.Dockerfile on top with the in-sandbox runner files, tagged
#    reflectevo-sandbox:<runner hash> and reflectevo-sandbox:latest.
# Idempotent: the base is rebuilt only when missing (FORCE_BASE=1 to force), the image when the runner
# changed. Honours DOCKER_HOST. Needs: docker CLI, tar, ldd.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="${1:-}"
if [[ -z "$PY" ]]; then
  if [[ -x "$REPO/.venv/bin/python" ]]; then PY="$REPO/.venv/bin/python"; else PY="$(command -v python3)"; fi
fi
PYREAL="$("$PY" -c 'import os, sys; print(os.path.realpath(getattr(sys, "_base_executable", sys.executable)))')"
PREFIX="$(dirname "$(dirname "$PYREAL")")"
STDLIB="$("$PYREAL" -I -S -c 'import sysconfig; print(sysconfig.get_paths()["stdlib"])')"
DYNLOAD="$STDLIB/lib-dynload"
BASE_TAG="reflectevo-sandbox-base:local"
SANDBOX_DIR="$REPO/reflectevo_bench/sandbox"
RUNNER_HASH="$(cat "$SANDBOX_DIR/launch.py" "$SANDBOX_DIR/runner.py" "$SANDBOX_DIR/codec.py" "$SANDBOX_DIR/seccomp.py" \
  | sha256sum | cut -c1-16)"
IMAGE="reflectevo-sandbox:$RUNNER_HASH"

WORK="$(mktemp -d /tmp/reflectevo-image-XXXXXX)"
trap 'rm -rf "$WORK"' EXIT

if [[ -n "${FORCE_BASE:-}" ]] || ! docker image inspect "$BASE_TAG" >/dev/null 2>&1; then
  echo "building $BASE_TAG from $PYREAL (prefix $PREFIX)"
  ROOT="$WORK/rootfs"
  mkdir -p "$ROOT"/{tmp,proc,dev,etc,opt/reflectevo-sandbox}
  chmod 1777 "$ROOT/tmp"
  # the interpreter and its standard library (byte code included: fast imports)
  tar -C / -cf - \
      --exclude="${STDLIB#/}/site-packages" --exclude="${STDLIB#/}/test" --exclude="${STDLIB#/}/idlelib" \
      --exclude="${STDLIB#/}/tkinter" --exclude="${STDLIB#/}/turtledemo" --exclude="${STDLIB#/}/ensurepip" \
      --exclude="${STDLIB#/}/lib2to3/tests" --exclude="${STDLIB#/}/config-*" \
      "${PYREAL#/}" "${STDLIB#/}" $(cd / && ls -d "${PREFIX#/}"/lib/libpython*.so* 2>/dev/null || true) \
    | tar -C "$ROOT" -xf -
  # shared libraries of the interpreter and of every extension module, and the dynamic loader
  { ldd "$PYREAL"; for so in "$DYNLOAD"/*.so; do
      case "$so" in *_tkinter*) continue;; esac; ldd "$so" 2>/dev/null || true; done; } \
    | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\/.*ld-linux/ {print $1}' | sort -u > "$WORK/libs"
  while read -r lib; do
    mkdir -p "$ROOT$(dirname "$lib")"
    cp -L "$lib" "$ROOT$lib"
  done < "$WORK/libs"
  # merged-/usr systems resolve /lib64/ld-linux via a symlink: recreate top-level symlinks
  for top in lib lib64 bin sbin; do
    if [[ -L "/$top" && ! -e "$ROOT/$top" ]]; then ln -s "$(readlink "/$top")" "$ROOT/$top"; fi
  done
  # every directory on the way to the interpreter must be traversable by uid 65534
  d="$PREFIX"; while [[ "$d" != "/" ]]; do chmod 0755 "$ROOT$d" 2>/dev/null || true; d="$(dirname "$d")"; done
  printf 'root:x:0:0:root:/root:/nonexistent\nnobody:x:65534:65534:nobody:/tmp:/nonexistent\n' > "$ROOT/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' > "$ROOT/etc/group"
  tar -C "$ROOT" --numeric-owner -cf "$WORK/rootfs.tar" .
  docker import "$WORK/rootfs.tar" "$BASE_TAG" >/dev/null
fi

if docker image inspect "$IMAGE" >/dev/null 2>&1; then
  echo "$IMAGE is up to date"
else
  CTX="$WORK/context"
  mkdir -p "$CTX/runner"
  cp "$SANDBOX_DIR"/{launch,runner,codec,seccomp}.py "$CTX/runner/"
  "$PYREAL" -I -S -c "import py_compile, sys; [py_compile.compile(f, doraise=True) for f in sys.argv[1:]]" \
    "$CTX/runner/runner.py" "$CTX/runner/codec.py" "$CTX/runner/seccomp.py"
  chmod -R a+rX "$CTX/runner"
  cp "$REPO/docker/sandbox.Dockerfile" "$CTX/Dockerfile"
  docker build -q --build-arg "BASE=$BASE_TAG" --build-arg "PYTHON=$PYREAL" --build-arg "RUNNER_HASH=$RUNNER_HASH" \
    -t "$IMAGE" -t reflectevo-sandbox:latest "$CTX" >/dev/null
  echo "built $IMAGE"
fi
echo "$IMAGE"
