# airy-auth's image: distroless Node 22, no shell or package manager, non-root (uid 65532).
#
# Base images are pinned by the digest of their multi-arch index, so a rebuild gets the same
# bytes until the digests below are changed on purpose. Override them to use a mirror, a newer
# digest or local images (podman build --pull=never with the stand-ins of docs/install.md):
#   --build-arg NODE_IMAGE=docker.io/library/node:22-bookworm-slim
#   --build-arg RUNTIME_IMAGE=gcr.io/distroless/nodejs22-debian12:nonroot
ARG NODE_IMAGE=docker.io/library/node:22-bookworm-slim@sha256:43ac6c60b8f89723f746e8a92ce91abd5017e627ce1ddfe4238355d3a30b772c
ARG RUNTIME_IMAGE=gcr.io/distroless/nodejs22-debian12:nonroot@sha256:13593b7570658e8477de39e2f4a1dd25db2f836d68a0ba771251572d23bb4f8e

# Production dependencies alone, in a stage of their own: cached until the lockfile changes.
# Behind a TLS-intercepting proxy npm must trust the proxy's CA: pass it (and an npmrc naming
# it) as build secrets, which exist during this RUN only and in no layer:
#   docker build --secret id=npmrc,src=NPMRC --secret id=npm-ca,src=CA_BUNDLE .
# where NPMRC holds `cafile=/run/secrets/npm-ca`. Both are optional.
FROM ${NODE_IMAGE} AS production-dependencies
WORKDIR /src
COPY package.json package-lock.json ./
RUN --mount=type=secret,id=npmrc,target=/root/.npmrc --mount=type=secret,id=npm-ca \
    npm ci --omit=dev --ignore-scripts --no-audit --no-fund && rm -rf /root/.npm

# Compile with the dev dependencies, and drop them (and npm's cache) in the same step: about
# 1 GB that no layer, kept image or build cache ever holds. Only dist/ leaves this stage.
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json tsconfig.json ./
COPY cmd ./cmd
COPY src ./src
RUN --mount=type=secret,id=npmrc,target=/root/.npmrc --mount=type=secret,id=npm-ca \
    npm ci --ignore-scripts --no-audit --no-fund && npx tsc -p tsconfig.json && rm -rf node_modules /root/.npm

FROM ${RUNTIME_IMAGE}
WORKDIR /app
ENV NODE_ENV=production
COPY --from=production-dependencies /src/package.json ./package.json
COPY --from=production-dependencies /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
# `airy-auth demo` serves examples/airy.yaml.
COPY examples ./examples
USER 65532:65532
EXPOSE 8080 9090
ENTRYPOINT ["/nodejs/bin/node", "dist/cmd/airy-auth.js"]
CMD ["serve", "--configmap", "security"]
