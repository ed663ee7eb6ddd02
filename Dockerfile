# syntax=docker/dockerfile:1
# Two images from one file; docker-compose.yml picks them by target (docs/deployment.md):
#   api     the web API and organizer commands: non-root, CPU-only torch
#   worker  scoring workers: CUDA torch, root, because the sandbox (worker/sandbox) needs root to
#           build namespaces and then runs team code under an unprivileged uid of its own
ARG PYTHON_VERSION=3.11
ARG TORCH_VERSION=2.13.0

FROM python:${PYTHON_VERSION}-slim-bookworm AS slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    SRCHALLENGE_DATA_DIR=/data

# The project, built once into a wheel; each target installs it after its own torch, so the
# multi-GB torch layer stays cached while the source changes. The wheel is installed by its file
# name, never by project name, so no package index can substitute another "srchallenge".
FROM slim AS base
WORKDIR /src
COPY pyproject.toml ./
COPY scoring/ scoring/
COPY server/ server/
COPY worker/ worker/
COPY migrations/ migrations/
COPY competitions/ competitions/
RUN pip wheel --no-deps --wheel-dir /wheels .

# The API process never imports torch (only the worker runs models); the CPU wheel is here because
# pyproject lists torch as a dependency, and it is ~10x smaller than the CUDA build pip would pick.
FROM slim AS api
ARG TORCH_VERSION
RUN pip install "torch==${TORCH_VERSION}" --index-url https://download.pytorch.org/whl/cpu
RUN --mount=type=bind,from=base,source=/wheels,target=/wheels \
    pip install "$(ls /wheels/srchallenge-*.whl)[postgres]"
COPY --from=base /src/competitions /opt/srchallenge/competitions
# /data is owned by the API user so that a fresh named volume mounted there is writable by it.
RUN useradd --system --uid 10001 --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin srchallenge \
    && mkdir /data && chown srchallenge:srchallenge /data
USER srchallenge
WORKDIR /opt/srchallenge
EXPOSE 8000
CMD ["srchallenge", "serve", "--host", "0.0.0.0", "--port", "8000", "--no-migrate"]

# PyPI's default torch wheel bundles the CUDA runtime and cuDNN; the host's NVIDIA driver comes in
# through the NVIDIA Container Toolkit, so no nvidia/cuda base image is needed.
FROM slim AS worker
ARG TORCH_VERSION
ENV NVIDIA_DRIVER_CAPABILITIES=compute,utility
# the code sandbox: util-linux's unshare/setpriv, and libseccomp for its syscall filter (pyseccomp)
RUN apt-get update && apt-get install -y --no-install-recommends libseccomp2 util-linux \
    && rm -rf /var/lib/apt/lists/*
RUN pip install "torch==${TORCH_VERSION}"
RUN --mount=type=bind,from=base,source=/wheels,target=/wheels \
    pip install "$(ls /wheels/srchallenge-*.whl)[postgres]"
COPY --from=base /src/competitions /opt/srchallenge/competitions
WORKDIR /opt/srchallenge
CMD ["srchallenge", "worker", "--queues", "scoring,gpu", "--concurrency", "1"]
