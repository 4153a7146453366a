#!/usr/bin/env bash
# npm run test:image: builds airy-auth's image from this checkout's Dockerfile with podman and no
# container registry, then runs it as a hardened pod would, and checks what the image holds.
#
# The base images are local stand-ins made from Debian packages and the npm registry by
# shared/tools/image/base-images.sh, tagged with the real names; the Dockerfile pins the real
# ones by digest, so the build names the stand-ins' tags with --build-arg (see docs/install.md).
#
# environment:
#   AIRY_IMAGE_TOOLS  the image scripts [../shared/tools/image beside the checkout]
#   PODMAN            podman command [podman]; CONTAINERS_CONF [AIRY_IMAGE_TOOLS/containers.conf]
#   IMAGE_TAG         [localhost/airy-auth:test]
# Where the scripts or podman are missing it says so and exits 0; under CI=true it fails.
set -euo pipefail
cd "$(dirname "$0")/.."
tools=${AIRY_IMAGE_TOOLS:-../shared/tools/image}
tag=${IMAGE_TAG:-localhost/airy-auth:test}
read -r -a PODMAN_CMD <<<"${PODMAN:-podman}"
pm() { "${PODMAN_CMD[@]}" "$@"; }
say() { printf '[test:image %s] %s\n' "$(date +%T)" "$*" >&2; }

missing=
[ -x "$tools/build.sh" ] && [ -x "$tools/base-images.sh" ] && [ -x "$tools/smoke.sh" ] || missing="the image scripts in $tools (set AIRY_IMAGE_TOOLS)"
[ -n "$missing" ] || command -v "${PODMAN_CMD[0]}" >/dev/null || missing="podman (see docs/development.md for the apt-get line)"
if [ -n "$missing" ]; then
  if [ "${CI:-}" = true ]; then
    say "FAILED: CI=true and the image lane cannot run: missing $missing"
    exit 1
  fi
  say "*** SKIPPED: missing $missing (under CI=true this fails instead)"
  exit 0
fi
tools=$(cd "$tools" && pwd)
export CONTAINERS_CONF=${CONTAINERS_CONF:-$tools/containers.conf}

free_port() { node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"; }

say "base images (local stand-ins; a no-op when they exist)"
"$tools/base-images.sh"

say "build"
build_args=(--build-arg NODE_IMAGE=docker.io/library/node:22-bookworm-slim --build-arg RUNTIME_IMAGE=gcr.io/distroless/nodejs22-debian12:nonroot)
ca_flag=()
if [ -n "${NODE_EXTRA_CA_CERTS:-}" ] && [ -r "$NODE_EXTRA_CA_CERTS" ]; then
  # Behind a TLS-intercepting proxy: through the Dockerfile's own optional build secrets (what a
  # docker build there uses), not build.sh's bind mounts, so this lane tests them.
  secrets=$(mktemp -d "${TMPDIR:-/tmp}/airy-image-secrets.XXXXXX")
  printf 'cafile=/run/secrets/npm-ca\n' >"$secrets/npmrc"
  build_args+=(--secret "id=npmrc,src=$secrets/npmrc" --secret "id=npm-ca,src=$NODE_EXTRA_CA_CERTS")
  ca_flag=(--no-ca-bundle)
  say "npm trusts $NODE_EXTRA_CA_CERTS through the build secrets npmrc and npm-ca"
fi
BUILD_ARGS="${build_args[*]} ${BUILD_ARGS:-}" "$tools/build.sh" "${ca_flag[@]}" --tag "$tag" .
[ -z "${secrets:-}" ] || rm -rf "$secrets"

say "smoke: read-only, uid 65532, no capabilities, answers, no writes, SIGTERM exits 0"
"$tools/smoke.sh" --port "$(free_port)" --metrics-port "$(free_port)" "$tag"

fails=0
ok() { say "ok   $*"; }
bad() { say "FAIL $*"; fails=$((fails + 1)); }

say "what the image holds"
container=$(pm create "$tag")
files=$(pm export "$container" | tar -t)
pm rm -f "$container" >/dev/null
for path in app/examples/airy.yaml app/dist/cmd/airy-auth.js app/node_modules/jose/package.json app/node_modules/@kubernetes/client-node/package.json; do
  if grep -qx "$path" <<<"$files"; then ok "has /$path"; else bad "no /$path"; fi
done
for dev in typescript vitest oidc-provider playwright-core @biomejs @aws-cdk; do
  # npm ci --omit=dev may leave an omitted scope as an empty directory: a file in it is what counts.
  if grep -q "^app/node_modules/$dev/." <<<"$files"; then bad "development dependency $dev in the image"; else ok "no $dev"; fi
done
if grep -q "^src/\|^app/src/\|^app/test/" <<<"$files"; then bad "TypeScript sources in the image"; else ok "no TypeScript sources"; fi

say "airy-auth demo in the image"
port=$(free_port) mport=$(free_port) name=airy-demo-$$
pm run -d --name "$name" --network host --read-only --cap-drop ALL "$tag" demo --port "$port" --metrics-port "$mport" >/dev/null
trap 'pm rm -f -t 0 "$name" >/dev/null 2>&1 || true' EXIT
token=$(sed -n 's/^ *systemToken: *"\{0,1\}\(DEMO-[^"]*\)"\{0,1\} *$/\1/p' examples/airy.yaml)
status=000
for _ in $(seq 1 240); do
  status=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" "http://127.0.0.1:$port/auth" || true)
  [ "$status" = 000 ] || break
  [ "$(pm inspect -f '{{.State.Running}}' "$name")" = true ] || break
  sleep 0.25
done
if [ "$status" = 200 ]; then ok "demo answers 200 to the example's systemToken"; else bad "demo answered $status; its log:"; pm logs "$name" >&2 || true; fi
nocreds=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/auth" || true)
if [ "$nocreds" = 401 ]; then ok "demo answers 401 without credentials"; else bad "demo answered $nocreds without credentials"; fi

say "images kept (the build stages' images hold no dev dependency: each is its base plus a few MB, or the production dependencies)"
pm images --format '{{.Repository}}:{{.Tag}} {{.ID}} {{.Size}}' >&2

if [ "$fails" -gt 0 ]; then
  say "FAILED $fails check(s)"
  exit 1
fi
say "PASS"
