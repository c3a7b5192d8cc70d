# The model server image: `driftloop serve`. Built by CI elsewhere (no Docker engine runs on
# the development machines); the Rollout in k8s/base runs it non-root with a read-only root
# filesystem and an emptyDir at /tmp (model downloads, MLflow's scratch files).
#
#   docker build -t driftloop-server .
#   docker run --read-only --tmpfs /tmp -p 8080:8080 \
#     -e MLFLOW_TRACKING_URI=http://mlflow:5000 driftloop-server --model-uri models:/churn@champion

FROM python:3.11-slim-bookworm AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY requirements/image.txt ./requirements/image.txt
COPY src ./src
# The locked versions release.yml audited (driftloop audit-deps), then driftloop itself
# without resolving anything again.
RUN python -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-cache-dir --upgrade pip \
    && /opt/venv/bin/pip install --no-cache-dir -r requirements/image.txt \
    && /opt/venv/bin/pip install --no-cache-dir --no-deps . \
    && find /opt/venv -name '__pycache__' -prune -exec rm -rf {} +

FROM python:3.11-slim-bookworm
# libgomp: OpenMP runtime that scikit-learn's histogram gradient boosting uses.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libgomp1 \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --gid 10001 driftloop \
    && useradd --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin driftloop
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp \
    TMPDIR=/tmp \
    MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR=false
USER 10001:10001
EXPOSE 8080
# SIGTERM: not ready for --drain-seconds, then in-flight requests finish, exit 0.
STOPSIGNAL SIGTERM
ENTRYPOINT ["driftloop", "serve", "--host", "0.0.0.0", "--port", "8080"]
