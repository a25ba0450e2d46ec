#!/usr/bin/env bash
# The main job on the embedded default (PGlite, no server): define an environment from an
# AzureML v2 YAML, change it, register a second version, then list, show, diff and audit.
# Uses a fresh TERRARIUM_HOME under .terrarium/demo unless TERRARIUM_HOME is set.
set -euo pipefail
cd "$(dirname "$0")/.."
PATH="$PWD/node_modules/.bin:$PATH"
export TERRARIUM_HOME="${TERRARIUM_HOME:-$PWD/.terrarium/demo}"
rm -rf "$TERRARIUM_HOME"
t() { echo; printf '$ terrarium'; printf ' %q' "$@"; echo; node packages/app/bin/terrarium.mjs "$@"; }

echo "Terrarium demo: data in $TERRARIUM_HOME (embedded PGlite)"
t environment create --file examples/pydata/environment.yml
t environment create --file examples/pydata/environment.yml
t environment add-package pydata --pip "numpy >= 1.26"
t environment register pydata
t environment label pydata:1 prod
t environment list
t environment list --name pydata
t environment show pydata@latest
t environment diff pydata:1 pydata:2
t audit pydata
t environment show pydata@prod --output json
