# Sandbox image for the `docker` backend of reflectevo_bench.sandbox.
#
# No registry is assumed: BASE is a local image made by docker/build-sandbox-image.sh with `docker import` of
# a minimal root file system (this machine's Python interpreter, its standard library and the shared
# libraries it needs; no shell, no package manager, no site-packages). The build context holds only the
# four in-sandbox files (launch.py, runner.py, codec.py, seccomp.py) with their compiled byte code.
#
# Runtime hardening (network none, read-only root, tmpfs /tmp, pids/memory/cpu limits, no-new-privileges,
# cap_drop ALL, uid 65534) is applied by the backend at `docker run` time, not here.
ARG BASE=reflectevo-sandbox-base:local
FROM ${BASE}
ARG PYTHON
ARG RUNNER_HASH=unknown
COPY --chown=0:0 runner/ /opt/reflectevo-sandbox/
LABEL org.reflectevo.sandbox.python="${PYTHON}" \
      org.reflectevo.sandbox.runner-hash="${RUNNER_HASH}"
USER 65534:65534
WORKDIR /tmp
