# One image per service, all from this file; the same image runs the service's API and its worker.
#
#   docker build --build-arg SERVICE=goals -t stepwise/goals .     (goals | questionnaires | notifications)
#     optionally --build-arg STEPWISE_VERSION=1.2.0 --build-arg STEPWISE_REVISION=$(git rev-parse HEAD):
#     what the stepwise_build_info metric reports (dev and unknown otherwise)
#   docker run stepwise/goals            # the API: gunicorn with services/goals/gunicorn.conf.py
#   docker run stepwise/goals worker     # the worker: python -m services.goals.worker
#
# Two stages: `build` installs requirements.txt (the runtime dependencies only; tests and tools
# are in requirements-dev.txt) into a virtualenv, and the runtime stage copies that virtualenv
# without pip's caches or build leftovers. The process runs as the numeric user 10001:10001, so
# Kubernetes can verify runAsNonRoot, and writes only under /tmp (PROMETHEUS_MULTIPROC_DIR, the
# worker's heartbeat, gunicorn's control socket): the root filesystem can be mounted read-only.
ARG PYTHON_IMAGE=python:3.11.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
COPY requirements.txt /tmp/requirements.txt
RUN /opt/venv/bin/pip install --requirement /tmp/requirements.txt

FROM ${PYTHON_IMAGE} AS runtime
ARG SERVICE
ARG UID=10001
ARG GID=10001
# Fail the build, not the first start, on a missing or misspelt SERVICE. libcairo2 and the DejaVu
# fonts: CairoSVG draws the PNG charts with them.
RUN case "${SERVICE}" in \
        goals|questionnaires|notifications) ;; \
        *) echo "build with --build-arg SERVICE=goals|questionnaires|notifications (got '${SERVICE}')" >&2; exit 1 ;; \
    esac \
    && apt-get update \
    && apt-get install -y --no-install-recommends libcairo2 fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid "${GID}" stepwise \
    && useradd --system --uid "${UID}" --gid "${GID}" --no-create-home --home-dir /tmp \
        --shell /usr/sbin/nologin stepwise

ENV SERVICE=${SERVICE} \
    PATH=/opt/venv/bin:${PATH} \
    PYTHONPATH=/app \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp \
    XDG_RUNTIME_DIR=/tmp \
    PROMETHEUS_MULTIPROC_DIR=/tmp/prometheus \
    WORKER_HEARTBEAT_FILE=/tmp/stepwise-worker.heartbeat

WORKDIR /app
COPY --from=build /opt/venv /opt/venv
COPY services/__init__.py services/__init__.py
COPY shared/ shared/
COPY services/${SERVICE}/ services/${SERVICE}/
COPY deploy/docker/entrypoint /usr/local/bin/stepwise
# Byte-code compiled now, as root: the running process cannot (and need not) write it.
RUN python -m compileall -q /app \
    && chmod 0755 /usr/local/bin/stepwise

# Last, so that a new version or revision rebuilds no layer: what stepwise_build_info reports.
ARG STEPWISE_VERSION=dev
ARG STEPWISE_REVISION=unknown
ENV STEPWISE_VERSION=${STEPWISE_VERSION} \
    STEPWISE_REVISION=${STEPWISE_REVISION}

USER ${UID}:${GID}

# The APIs' ports (goals 8001, questionnaires 8002, notifications 8003; PORT overrides) and the
# worker's metrics (WORKER_METRICS_PORT).
EXPOSE 8001 8002 8003 9100

# An API container answers GET /healthz; a worker container has a fresh heartbeat file.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 CMD ["stepwise", "healthcheck"]

ENTRYPOINT ["stepwise"]
CMD ["api"]
