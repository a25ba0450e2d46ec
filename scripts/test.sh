#!/usr/bin/env bash
# Runs every test. Starts the services the tests need (PostgreSQL, a Docker engine with the test
# base image; Chromium is installed when missing) if they are down, and never lets a test skip for
# a missing service: if a service cannot be started, the run fails. A Docker engine this script started is stopped at the end
# (by its PID, its images kept for the next run); one that was already running is left running.
set -euo pipefail
cd "$(dirname "$0")/.."

PATH="$PWD/node_modules/.bin:$PATH"
export PATH
if [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 24 ]; then
  echo "test.sh: node_modules/.bin/node is not Node 24; run 'npx -y pnpm@10.34.9 install' first" >&2
  exit 1
fi

bash scripts/services/postgres.sh ensure

if ! bash scripts/services/docker.sh running; then
  trap 'bash scripts/services/docker.sh stop' EXIT
fi
DOCKER_HOST="$(bash scripts/services/docker.sh ensure)"
export DOCKER_HOST
bash scripts/services/docker.sh base-image >/dev/null
# The web page's browser tests drive Debian's Chromium; installed here when missing.
bash scripts/services/chromium.sh ensure >/dev/null

# The CLI e2e tests run the build (packages/app/dist), so it is made from the sources under test.
echo "== build"
node scripts/build-cli.ts
# The browser tests load the web page's build (packages/web/dist), made from the sources under test.
node packages/web/build.ts

echo "== typecheck"
tsc -p tsconfig.json
tsc -p packages/web/tsconfig.json

echo "== tests"
vitest run "$@"
