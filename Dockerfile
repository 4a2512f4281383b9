# syntax=docker/dockerfile:1
#
# One image, two processes: `duban worker` (the default) and `duban console`.
#   docker build -t duban:0.1.0 .
#   docker run duban:0.1.0                # the Temporal worker, health and metrics on :9400
#   docker run duban:0.1.0 console        # the web console on :8000
# Settings come from DUBAN_* variables; see docs/operations.md and deploy/compose/.env.example.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# ---- build: resolve and install duban into a self-contained virtual environment ----
FROM ${PYTHON_IMAGE} AS build

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN python -m venv /opt/duban

WORKDIR /src
# Dependencies first, from the runtime lock only (no Temporal binaries, no SMTP sink, no test
# tools): exact versions, every file checked against its hash. A layer of its own, so a code
# change does not reinstall them.
COPY requirements/runtime.txt requirements/runtime.txt
RUN /opt/duban/bin/pip install --require-hashes -r requirements/runtime.txt

# .dockerignore keeps the local venv, var/, tests and secrets out of this copy.
COPY . .

# duban itself, without dependencies (they are all in the lock): a plain (non-editable) install,
# so the runtime stage needs nothing from /src.
RUN /opt/duban/bin/pip install --no-deps . \
    && /opt/duban/bin/duban --help > /dev/null

# ---- runtime: the venv, the holiday overrides and an unprivileged user, nothing else ----
FROM ${PYTHON_IMAGE} AS runtime

# A fixed numeric id, so Kubernetes' runAsNonRoot can verify it and volumes can be chowned to it.
RUN groupadd --system --gid 10001 duban \
    && useradd --system --uid 10001 --gid duban --home-dir /var/lib/duban --shell /usr/sbin/nologin duban \
    && install -d -o duban -g duban -m 0750 /var/lib/duban

COPY --from=build /opt/duban /opt/duban
# Holiday data overrides (calendars/<year>.toml) are read at run time; updating them is a
# new image, see docs/operations.md "The yearly holiday update".
COPY --from=build /src/calendars /app/calendars

ENV PATH=/opt/duban/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DUBAN_ENVIRONMENT=production \
    DUBAN_DATA_DIR=/var/lib/duban \
    DUBAN_CALENDARS_DIR=/app/calendars \
    DUBAN_CONSOLE_HOST=0.0.0.0 \
    DUBAN_CONSOLE_PORT=8000 \
    DUBAN_HEALTH_HOST=0.0.0.0 \
    DUBAN_HEALTH_PORT=9400 \
    DUBAN_LOG_JSON=true

LABEL org.opencontainers.image.title="duban" \
      org.opencontainers.image.description="督办 duban: campaign supervision deadlines on Temporal (worker and console)" \
      org.opencontainers.image.licenses="Apache-2.0"

WORKDIR /app
VOLUME ["/var/lib/duban"]
# 8000: console (HTTP, /healthz, /codec); 9400: worker /healthz and Prometheus /metrics.
EXPOSE 8000 9400

USER 10001:10001

ENTRYPOINT ["duban"]
CMD ["worker"]
