# syntax=docker/dockerfile:1
# Build: compile TypeScript with the dev dependencies, then prune to production dependencies.
FROM node:22-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json tsconfig.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY cmd ./cmd
COPY src ./src
RUN npx tsc -p tsconfig.json && npm ci --omit=dev --ignore-scripts --no-audit --no-fund

# Runtime: distroless Node 22, no shell or package manager, non-root (uid 65532).
FROM gcr.io/distroless/nodejs22-debian12:nonroot
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
USER 65532:65532
EXPOSE 8080 9090
ENTRYPOINT ["/nodejs/bin/node", "dist/cmd/airy-auth.js"]
CMD ["serve", "--configmap", "security"]
