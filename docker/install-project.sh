#!/bin/sh
# Runs inside docker/Dockerfile's build: install into /opt/venv from wheels only (--no-index: no network).
#
#   install-project.sh deps WHEELS_DIR              the venv and every dependency (WHEELS_DIR/requirements.txt)
#   install-project.sh project PROJECT_DIR EXTRAS   reflectevo-bench[EXTRAS] itself (its deps already there)
#
# The venv sees the base's own packages (--system-site-packages). `deps` freezes every package the base
# already has (on the vLLM base: torch, vllm, transformers, triton, ...) into /opt/venv/base-constraints.txt,
# and every install takes it as a constraint (with WHEELS_DIR/constraints.txt, copied to
# /opt/venv/constraints.txt), so installing the project replaces none of them: a conflict fails the build.
# Two steps so that a change to the project alone rebuilds one small layer, not the dependencies.
set -eu
VENV=/opt/venv
pip_() {
  if [ -x "$VENV/bin/pip" ]; then "$VENV/bin/python" -m pip "$@"
  else python3 -m pip --python "$VENV/bin/python" "$@"; fi
}
case "$1" in
  deps)
    WHEELS="$2"
    if python3 -m pip --version >/dev/null 2>&1; then
      python3 -m pip list --format=freeze --disable-pip-version-check > /tmp/base-constraints.txt
    else
      : > /tmp/base-constraints.txt   # the Debian base: no pip outside the venv, nothing to freeze
    fi
    if ! python3 -m venv --system-site-packages "$VENV" 2>/dev/null; then
      rm -rf "$VENV"   # a base without ensurepip: a venv without pip, driven by the base's pip
      python3 -m venv --system-site-packages --without-pip "$VENV"
    fi
    mv /tmp/base-constraints.txt "$VENV/base-constraints.txt"
    cp "$WHEELS/constraints.txt" "$VENV/constraints.txt"
    pip_ install --no-cache-dir --no-index --disable-pip-version-check --find-links "$WHEELS" \
      -c "$VENV/constraints.txt" -c "$VENV/base-constraints.txt" -r "$WHEELS/requirements.txt"
    ;;
  project)
    pip_ install --no-cache-dir --no-index --disable-pip-version-check --find-links "$2" \
      -c "$VENV/constraints.txt" -c "$VENV/base-constraints.txt" "reflectevo-bench[$3]"
    pip_ check
    "$VENV/bin/reflectevo-bench" --help >/dev/null
    ;;
  *) echo "usage: install-project.sh deps WHEELS_DIR | project PROJECT_DIR EXTRAS" >&2; exit 2;;
esac
