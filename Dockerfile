# One image for the services and the CLI; the command chooses:
#   docker run anonmerge ingest | merger | activity | anonmerge <command>   (see docs/deployment.md)
# Built from the repository root: docker build -t anonmerge .
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# patch-package (postinstall) applies patches/kafkajs+2.2.4.patch: read_committed for kafkajs.
COPY patches ./patches
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY services ./services
COPY bench ./bench
# The consumer helper's record types are generated from the schemas (scripts/generate-avro-types.js).
COPY schemas ./schemas
COPY scripts ./scripts
RUN node scripts/generate-avro-types.js \
 && npx tsc -p tsconfig.build.json \
 # Dev dependencies go; the patched kafkajs stays as it is (prune does not reinstall it).
 && npm prune --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    # Mount your workspaces file here (a Secret: it holds API keys). The image carries none, and the
    # services do not start without one, nor with the demo's public keys (unless ANONMERGE_DEMO=1).
    ANONMERGE_WORKSPACES_FILE=/etc/anonmerge/workspaces.json \
    # Inside a container the servers listen on every interface (the defaults are loopback).
    ANONMERGE_INGEST_HOST=0.0.0.0 \
    ANONMERGE_INGEST_METRICS_HOST=0.0.0.0 \
    ANONMERGE_MERGER_HOST=0.0.0.0 \
    ANONMERGE_ACTIVITY_HOST=0.0.0.0
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# Read at run time from the project root: Avro schemas, Lua scripts, the OpenAPI document.
COPY schemas ./schemas
COPY services/merger/redis/scripts ./services/merger/redis/scripts
COPY services/ingest/openapi.json ./services/ingest/openapi.json
COPY services/admin/openapi.json ./services/admin/openapi.json
COPY services/ingest/public ./services/ingest/public
COPY services/activity/public ./services/activity/public
COPY infra/docker-entrypoint.sh /usr/local/bin/anonmerge-entrypoint
# The image's node user, by number: Kubernetes' runAsNonRoot can check a number, not a name.
USER 1000:1000
# ingest: 3000 (HTTP API, snippet); merger: 3001 (health, /metrics); activity: 3002 (/activity);
# ingest's /metrics: 3003 (not public: Kubernetes' network policy admits only the monitoring namespace)
# admin: 3004 (the admin API of workspaces: never public)
EXPOSE 3000 3001 3002 3003
ENTRYPOINT ["anonmerge-entrypoint"]
CMD ["ingest"]
