#!/usr/bin/env bash
# Make the local Debian base image of the `cpu` target of docker/Dockerfile (no registry needed).
#
#   docker/build-base.sh          prints the image tag on its last line
#
# debootstrap (minbase) of Debian bookworm from Debian's own package mirror, with Python 3.11 (python3 +
# python3-venv), bubblewrap and tini already inside, so the image build itself needs no network. The root file
# system is packed once into ~/.cache/reflectevo-bench/docker/ (keyed by suite + package list) and `docker
# import`ed as reflectevo-debian:<key>; later runs import the cached tarball (or reuse the image) and skip
# debootstrap. Installs debootstrap with apt-get when missing (root). Honours DOCKER_HOST, DEBIAN_MIRROR.
set -euo pipefail

SUITE=bookworm
PACKAGES="python3,python3-venv,bubblewrap,tini,ca-certificates"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
KEY="$(printf '%s\n' "$SUITE" "$PACKAGES" v1 | sha256sum | cut -c1-12)"
TAG="reflectevo-debian:$SUITE-$KEY"
CACHE="${REFLECTEVO_CACHE:-$HOME/.cache/reflectevo-bench}/docker"
TARBALL="$CACHE/debian-$SUITE-$KEY.tar"

if docker image inspect "$TAG" >/dev/null 2>&1; then
  echo "$TAG is present"; echo "$TAG"; exit 0
fi
mkdir -p "$CACHE"
if [[ ! -s "$TARBALL" ]]; then
  if ! command -v debootstrap >/dev/null 2>&1; then
    echo "installing debootstrap"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap >/dev/null 2>&1 \
      || { apt-get update -q >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap >/dev/null; }
  fi
  ROOT="$(mktemp -d /tmp/reflectevo-debootstrap-XXXXXX)"
  trap 'rm -rf "$ROOT"' EXIT
  echo "debootstrap $SUITE (minbase + $PACKAGES) from $MIRROR"
  debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$ROOT" "$MIRROR" >"$ROOT.log" 2>&1 \
    || { tail -n 20 "$ROOT.log"; echo "error: debootstrap failed (log above)"; exit 1; }
  rm -f "$ROOT.log"
  # an image, not a machine: no package caches or lists, no machine id, apt pointed at the mirror
  rm -rf "$ROOT"/var/cache/apt/archives/*.deb "$ROOT"/var/lib/apt/lists/* "$ROOT"/var/log/* "$ROOT"/tmp/*
  : > "$ROOT/etc/machine-id"
  echo "deb $MIRROR $SUITE main" > "$ROOT/etc/apt/sources.list"
  tar -C "$ROOT" --numeric-owner -cf "$TARBALL.part" .
  mv "$TARBALL.part" "$TARBALL"
  echo "cached $TARBALL ($(du -h "$TARBALL" | cut -f1))"
fi
docker import --change 'ENV LANG=C.UTF-8' --change 'CMD ["/bin/bash"]' "$TARBALL" "$TAG" >/dev/null
echo "imported $TARBALL as $TAG"
echo "$TAG"
