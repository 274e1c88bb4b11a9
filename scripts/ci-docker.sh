#!/usr/bin/env bash
# Run the docker-backend sandbox tests, starting (and afterwards stopping) a private Docker engine if needed.
#
#   scripts/ci-docker.sh [extra pytest args]
#
# - Uses an engine that already answers ($DOCKER_HOST or /var/run/docker.sock) if there is one.
# - Otherwise (root only) installs docker.io with apt-get if dockerd is missing, and starts dockerd with its own
#   data root, exec root and socket under $REFLECTEVO_DOCKER_STATE (default /tmp/reflectevo-dockerd), no
#   iptables and no bridge (sandbox containers use network "none").
# - Builds the sandbox image from a local base (docker/build-sandbox-image.sh; no registry needed), then runs
#   `pytest tests/sandbox -k docker`.
# - Builds the `cpu` image of docker/Dockerfile (docker/build-image.sh --target cpu: a debootstrapped Debian
#   base and wheels staged on the host, no network in the build), then runs tests/docker/test_cpu_image.py
#   against it (sandbox check, models tiny, run on countdown + mbpp with the sandbox in the container,
#   leaderboard build), and tests/docker/test_compose.py with `docker-compose config` (Debian's docker-compose,
#   installed if missing). REFLECTEVO_SKIP_IMAGE=1 skips this part.
# - The engine it starts keeps its images in $REFLECTEVO_DOCKER_DATA (default
#   ~/.cache/reflectevo-bench/dockerd), so the next run reuses the base and the dependency layers; a lock
#   keeps two engines off one data root (a second one gets a throwaway data root under the state dir).
# - Stops the dockerd it started and removes its state dir (REFLECTEVO_DOCKER_KEEP=1 keeps it). Exits 0 with
#   "skipped: <reason>" when no engine can be had; otherwise exits with the first failing status (sandbox
#   tests, image build, image tests). Idempotent and non-interactive.
set -uo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE="${REFLECTEVO_DOCKER_STATE:-/tmp/reflectevo-dockerd}"
DATA="${REFLECTEVO_DOCKER_DATA:-${REFLECTEVO_CACHE:-$HOME/.cache/reflectevo-bench}/dockerd}"
SOCK="unix://$STATE/docker.sock"
PY="$REPO/.venv/bin/python"; [[ -x "$PY" ]] || PY="$(command -v python3)"
STARTED_PID=""

skip() { echo "skipped: $*"; exit 0; }

stop_engine() {
  if [[ -n "$STARTED_PID" ]] && kill -0 "$STARTED_PID" 2>/dev/null; then
    kill -TERM "$STARTED_PID" 2>/dev/null
    for _ in $(seq 1 40); do kill -0 "$STARTED_PID" 2>/dev/null || break; sleep 0.5; done
    kill -KILL "$STARTED_PID" 2>/dev/null || true
    echo "stopped the dockerd this script started (pid $STARTED_PID)"
    if [[ -z "${REFLECTEVO_DOCKER_KEEP:-}" ]] && ! grep -q " $STATE/" /proc/mounts; then
      rm -rf "$STATE"   # REFLECTEVO_DOCKER_KEEP=1 keeps it (the images live in $DATA either way)
    fi
  fi
}
trap stop_engine EXIT

engine_ok() { timeout 10 docker -H "$1" info >/dev/null 2>&1; }

if [[ -n "${DOCKER_HOST:-}" ]] && engine_ok "$DOCKER_HOST"; then
  echo "using the Docker engine at $DOCKER_HOST"
elif engine_ok unix:///var/run/docker.sock; then
  export DOCKER_HOST=unix:///var/run/docker.sock
  echo "using the Docker engine at $DOCKER_HOST"
else
  [[ "$(id -u)" == 0 ]] || skip "no Docker engine reachable and not root, so none can be started"
  if ! command -v dockerd >/dev/null 2>&1; then
    echo "installing docker.io"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q docker.io >/dev/null 2>&1 \
      || { apt-get update -q >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q docker.io >/dev/null 2>&1; } \
      || skip "could not install docker.io with apt-get"
  fi
  command -v docker >/dev/null 2>&1 || skip "docker CLI not found after installing docker.io"
  mkdir -p "$STATE/exec" "$(dirname "$DATA")"
  if [[ -f "$STATE/dockerd.pid" ]] && kill -0 "$(cat "$STATE/dockerd.pid")" 2>/dev/null; then
    STARTED_PID="$(cat "$STATE/dockerd.pid")"   # left over by an interrupted run: adopt it, stop it at the end
  else
    rm -f "$STATE/docker.sock" "$STATE/dockerd.pid"
    exec 9>"$DATA.lock"   # held until this script exits: one engine per data root
    flock -n 9 || { echo "$DATA is in use by another engine: using a throwaway data root"; DATA="$STATE/data"; }
    mkdir -p "$DATA"
    dockerd --data-root "$DATA" --exec-root "$STATE/exec" -H "$SOCK" --pidfile "$STATE/dockerd.pid" \
      --iptables=false --ip6tables=false --bridge=none >"$STATE/dockerd.log" 2>&1 &
    STARTED_PID=$!
  fi
  for _ in $(seq 1 60); do engine_ok "$SOCK" && break; kill -0 "$STARTED_PID" 2>/dev/null || break; sleep 0.5; done
  engine_ok "$SOCK" || skip "dockerd did not start: $(tail -n 3 "$STATE/dockerd.log" 2>/dev/null | tr '\n' ' ')"
  export DOCKER_HOST="$SOCK"
  echo "started dockerd (pid $STARTED_PID, data root $DATA)"
fi

"$REPO/docker/build-sandbox-image.sh" "$PY" || { echo "error: building the sandbox image failed"; exit 1; }
cd "$REPO" || exit 1
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1
"$PY" -m pytest tests/sandbox -q -k docker "$@"
status=$?
failed() { [[ "$status" -ne 0 ]] || status=1; }

if [[ -z "${REFLECTEVO_SKIP_IMAGE:-}" ]]; then
  if ! command -v docker-compose >/dev/null 2>&1 && [[ "$(id -u)" == 0 ]]; then   # validates docker/compose.yaml
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q docker-compose >/dev/null 2>&1 || echo "could not install docker-compose"
  fi
  t0=$SECONDS
  if nice "$REPO/docker/build-image.sh" --target cpu --python "$PY"; then
    echo "cpu image built in $((SECONDS - t0)) s"
    t1=$SECONDS
    "$PY" -m pytest tests/docker/test_cpu_image.py tests/docker/test_compose.py -q "$@" || failed
    echo "cpu image tests took $((SECONDS - t1)) s"
  else
    echo "error: building the cpu image failed"; failed
  fi
  # our own engine only: drop superseded image versions (the tagged base and dependency stages stay cached)
  [[ -n "$STARTED_PID" ]] && docker image prune -f >/dev/null 2>&1
fi
exit "$status"
