# The runner image: `post16-sandbox serve`, the only container that holds the Docker socket. It installs
# the runner's dependencies only (requirements/runner.lock: Litestar, uvicorn, docker, prometheus-client;
# no database stack). Build from the repository root:
#   docker build -f deploy/runner.Dockerfile -t post16-runner .
FROM python:3.11-slim-bookworm AS build
WORKDIR /src
COPY requirements/runner.lock requirements/runner.lock
RUN python -m venv /opt/post16 && /opt/post16/bin/pip install --no-cache-dir -r requirements/runner.lock
COPY pyproject.toml README.md ./
COPY shared shared
COPY sandbox sandbox
# Only the packages the runner imports (shared, sandbox): the API's code is not in this image.
RUN /opt/post16/bin/pip install --no-cache-dir --no-deps .

FROM python:3.11-slim-bookworm
RUN useradd --system --uid 10002 --home /nonexistent --no-create-home post16-runner
COPY --from=build /opt/post16 /opt/post16
ENV PATH=/opt/post16/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
# The Docker socket's group is added by compose (group_add: POST16_DOCKER_GID), not baked in here.
USER post16-runner
EXPOSE 8700
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8700/health', timeout=2).status == 200 else 1)"
CMD ["post16-sandbox", "serve", "--host", "0.0.0.0", "--port", "8700"]
