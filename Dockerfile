# mcp-proxy: serve a stdio MCP server over Streamable HTTP (/mcp) and legacy HTTP+SSE (/sse).
#
#   docker build -t mcp-proxy .
#   docker run --rm --init -p 3000:3000 mcp-proxy -- npx -y @modelcontextprotocol/server-everything
#
# Base image: node:20-bookworm-slim in both stages. Node 20.19 is the oldest engine the workspace supports
# and tests (package.json "engines"), so the image runs what CI runs. Node is needed at run time anyway:
# most MCP servers are `npx` or `node` programs, and they run inside this container.

# ---- build: install the workspace, compile, then deploy only the server's production dependencies ----
FROM node:20-bookworm-slim AS build
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

# ---- runtime ----
FROM node:20-bookworm-slim
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
