# syntax=docker/dockerfile:1
# One image for the whole suite. The gateway and the four services are one Python
# distribution with one pinned dependency set (pyproject.toml), so one image means one
# build, one vulnerability scan and one tag to roll out; docker-compose.yml and
# deploy/k8s/ pick the process with the command (`python -m gateway` or
# `python -m services.<name>`). Every process listens on port 8000 inside its own
# container, so the HEALTHCHECK below and the Kubernetes probes are the same for all.

# The browser libraries the gateway serves (echarts, Swagger UI, Redoc), pinned by ui/package-lock.json.
# No install scripts: neither needs one, and Swagger UI's dependency would report the install.
FROM node:22-slim AS ui
WORKDIR /ui
COPY ui/package.json ui/package-lock.json ui/.npmrc ./
RUN npm ci --omit=dev --no-audit --no-fund --ignore-scripts

# The project and its pinned runtime dependencies (no test extra) in a virtualenv.
FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN python -m venv /opt/venv && /opt/venv/bin/pip install pip==25.3
WORKDIR /src
# The Python SDK first: the csloop command (cli/) runs on it.
COPY clients/python ./clients/python
RUN /opt/venv/bin/pip install ./clients/python
COPY pyproject.toml ./
COPY shared ./shared
COPY gateway ./gateway
COPY cli ./cli
COPY services ./services
RUN /opt/venv/bin/pip install .

FROM python:3.11-slim
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    CSLOOP_ENVIRONMENT=production
RUN groupadd --system --gid 10001 csloop \
    && useradd --system --uid 10001 --gid csloop --home-dir /home/csloop --create-home csloop
COPY --from=build /opt/venv /opt/venv
# gateway/web/vendor.py serves <gateway package>/../ui/node_modules/...; installed, the gateway
# package lives in site-packages, so the libraries go beside it.
COPY --from=ui /ui/node_modules/echarts/dist /opt/venv/lib/python3.11/site-packages/ui/node_modules/echarts/dist
COPY --from=ui /ui/node_modules/swagger-ui-dist /opt/venv/lib/python3.11/site-packages/ui/node_modules/swagger-ui-dist
COPY --from=ui /ui/node_modules/redoc/bundles/redoc.standalone.js /opt/venv/lib/python3.11/site-packages/ui/node_modules/redoc/bundles/redoc.standalone.js
USER 10001
WORKDIR /home/csloop
EXPOSE 8000
# /readyz answers 503 until the database is reachable; urllib raises on it, so the check fails.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=2)"]
CMD ["python", "-m", "gateway", "--host", "0.0.0.0", "--port", "8000", "--migrate"]
