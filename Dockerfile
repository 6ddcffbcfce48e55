# syntax=docker/dockerfile:1
# Telemetry store service image. Build: docker build -t telemetry-store:0.1.0 .
# (docker compose up builds it too.)

# --- build: TypeScript -> dist/ with the dev dependencies (tsc) -------------------------------
FROM node:20-bookworm-slim AS build
WORKDIR /app
# Dependencies first, so source edits do not re-run npm ci.
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY proto ./proto
# src/ only (tsconfig.build.json): the tests' harness (test/) and the benchmark and load test
# (tools/) need dev dependencies and do not ship (npm run check:image checks the runtime stage).
COPY src ./src
RUN npm run build

# --- runtime: production dependencies and the compiled service only --------------------------
FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev && npm cache clean --force
COPY --from=build /app/dist ./dist
# Read at run time: the wire format (codec) and the migrations (applied at startup).
COPY proto ./proto
COPY sql ./sql
# Without DATABASE_URL the service runs the embedded TimescaleDB and keeps its files here.
RUN mkdir /data && chown node:node /data
ENV DATA_DIR=/data
VOLUME /data
# The `node` user of the base image (uid 1000): the service needs no root.
USER node
# Uploads and health (PORT), Prometheus /metrics (METRICS_PORT; set METRICS_HOST=0.0.0.0 to
# let a scraper outside the container reach it).
EXPOSE 8080 9464
HEALTHCHECK --interval=15s --timeout=3s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8080) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "dist/main.js"]
