#!/usr/bin/env bash
# The main job on the embedded default (PGlite, no server): define an environment from an
# AzureML v2 YAML, change it, register a second version, then list, show, diff and audit.
#
# The demo always works in a registry of its own, .terrarium/demo in the checkout (git-ignored),
# which it empties first: it never reads or deletes $TERRARIUM_HOME, and never writes to the
# PostgreSQL server of $TERRARIUM_DATABASE_URL.
set -euo pipefail
cd "$(dirname "$0")/.."
PATH="$PWD/node_modules/.bin:$PATH"
demo_home="$PWD/.terrarium/demo"
export TERRARIUM_HOME="$demo_home"
unset TERRARIUM_DATABASE_URL TERRARIUM_DATABASE_SCHEMA
rm -rf -- "$demo_home"
# The CLI runs from its build (packages/app/dist): make it from the sources as they are now.
node scripts/build-cli.ts >/dev/null
t() { echo; printf '$ terrarium'; printf ' %q' "$@"; echo; node packages/app/bin/terrarium.mjs "$@"; }

echo "Terrarium demo: a fresh embedded registry (PGlite) in $demo_home;"
echo "your own TERRARIUM_HOME and TERRARIUM_DATABASE_URL are not used or touched."
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
