# mcp-proxy: serve a stdio MCP server over Streamable HTTP (/mcp) and legacy HTTP+SSE (/sse).
#
#   docker build -t mcp-proxy .
#   docker run --rm --init -p 3000:3000 mcp-proxy -- npx -y @modelcontextprotocol/server-everything
#
# The `uv` target adds uv/uvx and Python, for MCP servers published on PyPI:
#   docker build --target uv -t mcp-proxy:uv .
#   docker run --rm --init -p 3000:3000 mcp-proxy:uv -- uvx mcp-server-fetch
# Without --target the image is the default one (the last stage), exactly as before.
#
# Base image: node:24-bookworm-slim in the build and runtime stages: Node 24 is the active LTS (Node 20 is
# past its end of life), and CI runs the e2e tests and the conformance suite on it (scripts/other-nodes.sh).
# Node is needed at run time anyway: most MCP servers are `npx` or `node` programs, and they run inside
# this container.

# uv's official image holds nothing but the two static binaries (/uv, /uvx) for each architecture; the uv
# stage copies them. Bump the version here (and pin its digest once checked: docker buildx imagetools inspect).
ARG UV_VERSION=0.12.9
FROM ghcr.io/astral-sh/uv:${UV_VERSION} AS uv-bin

# ---- build: install the workspace, compile, then deploy only the server's production dependencies ----
FROM node:24-bookworm-slim AS build
# The pnpm version package.json's "packageManager" names.
RUN npm install -g pnpm@10.34.9
WORKDIR /src

# Manifests first, so the dependency layer is reused until the lockfile or a manifest changes. Only the
# packages the server is built from (and the root, which holds TypeScript) are installed: the bench and
# conformance workspaces are not part of the image.
COPY package.json pnpm-lock.yaml pnpm-workspace.yaml .npmrc ./
COPY packages/core/package.json packages/core/
COPY packages/fastify-plugin/package.json packages/fastify-plugin/
COPY apps/server/package.json apps/server/
RUN pnpm install --frozen-lockfile --filter 'server...'

COPY tsconfig.base.json ./
COPY packages/core packages/core
COPY packages/fastify-plugin packages/fastify-plugin
COPY apps/server apps/server
# No git in the build context: `mcp-proxy --version` reports commit "unknown" unless the commit is passed
# in: docker build --build-arg GIT_COMMIT=$(git rev-parse HEAD) .
ARG GIT_COMMIT=
RUN pnpm --filter 'server...' build

# A self-contained copy of the server: its package.json "files" (dist), its production dependencies, and
# the workspace packages (@proxy/fastify-plugin, @proxy/core) as real directories holding their dist.
# pnpm 10 deploys a workspace without inject-workspace-packages only with --legacy.
RUN pnpm --filter server deploy --prod --legacy /out

# ---- runtime: the default image ----
FROM node:24-bookworm-slim AS runtime
ENV NODE_ENV=production \
    MCP_PROXY_HOST=0.0.0.0 \
    MCP_PROXY_PORT=3000
WORKDIR /app
# Owned by root, read-only for the user that runs the proxy.
COPY --from=build /out /app
# The official node images ship the unprivileged user `node` (uid 1000, home /home/node for the npx cache).
USER node
EXPOSE 3000
# Slim images have no curl: ask Node. /ping needs no API key.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.MCP_PROXY_PORT || 3000) + '/ping').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# Everything after the image name is the proxy's command line: `docker run IMAGE [flags] -- <command> [args…]`.
ENTRYPOINT ["node", "/app/dist/cli.js"]
CMD ["--help"]

# ---- uv: the runtime plus uv/uvx and Python, for `uvx some-mcp-server` (image tag suffix -uv) ----
# uv: the static binaries from uv's official image (above), the way uv's documentation installs it in Docker:
# two files, no pip and no build tools. (`pip install uv` would need python3-pip, and Debian's pip refuses to
# install into the system Python without --break-system-packages; Debian 12 has no uv package.)
# Python: Debian's python3 (3.11), the smallest interpreter that gets security updates with the base image;
# python-is-python3 adds `python`, so `-- python -u server.py` works too. A server that requires a newer
# Python makes uv download a managed one at its first start (like uvx downloads the server itself from
# PyPI then); set UV_PYTHON_DOWNLOADS=never to forbid that.
FROM runtime AS uv
USER root
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python-is-python3 \
 && rm -rf /var/lib/apt/lists/*
COPY --from=uv-bin /uv /uvx /usr/local/bin/
# No progress bars in the proxy's log (a child's stderr is logged); uv's cache and tool environments live in
# /home/node/.cache/uv, writable by the user below.
ENV UV_NO_PROGRESS=1
# Back to the unprivileged user; EXPOSE, HEALTHCHECK (node fetch of /ping), ENTRYPOINT and CMD are the
# runtime stage's, inherited.
USER node

# ---- default target: the plain runtime, so `docker build .` without --target builds it as before ----
FROM runtime AS default
