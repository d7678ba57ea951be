# Every Dirigen service, built from the repository root:
#   docker build -f deploy/docker/service.Dockerfile --build-arg SERVICE=intake -t dirigen/intake .
# One Dockerfile for all: the services differ only in their entry point.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.base.json tsconfig.build.json ./
COPY libs ./libs
COPY services ./services
RUN npx tsc -p tsconfig.build.json && npm prune --omit=dev

FROM node:20-bookworm-slim
ARG SERVICE
RUN test -n "$SERVICE" || (echo "build with --build-arg SERVICE=<folder under services/>" && exit 1)
WORKDIR /app
ENV NODE_ENV=production SERVICE_ENTRY=dist/services/${SERVICE}/src/main.js
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json tsconfig.base.json ./
COPY scripts/platform/register-paths.cjs scripts/platform/provision-topics.mjs scripts/platform/services.mjs scripts/platform/database-roles.mjs scripts/platform/bootstrap-database.mjs ./scripts/platform/
RUN test -f "$SERVICE_ENTRY"
USER node
CMD ["sh", "-c", "exec node -r ./scripts/platform/register-paths.cjs \"$SERVICE_ENTRY\""]
