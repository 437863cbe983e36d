# One image for the API, the worker, the simulator and the migration job; docker-compose.yml picks
# the command. The services run their TypeScript directly through tsx, which is why tsx is a
# runtime dependency: `npm ci --omit=dev` keeps it and drops only the compiler and the test tools.
ARG NODE_IMAGE=node:24-bookworm-slim

FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# No install script is needed: the Temporal core bridge and esbuild/swc ship prebuilt binaries
# as platform packages, which npm picks from the lockfile for the image's platform.
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# The web console bundle (web/dist), built with the dev dependencies (esbuild, MapLibre, uPlot,
# world-atlas), which stay out of the final image.
FROM ${NODE_IMAGE} AS web
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY web ./web
COPY domain ./domain
COPY infra ./infra
COPY scripts/build-web.ts ./scripts/
RUN node --import tsx scripts/build-web.ts

FROM ${NODE_IMAGE}
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --chown=node:node . .
COPY --from=web --chown=node:node /app/web/dist ./web/dist
USER node
EXPOSE 3000
# `node --import tsx` rather than the tsx CLI: one process, and SIGTERM reaches the app directly.
CMD ["node", "--import", "tsx", "api/main.ts"]
