#!/usr/bin/env bash
# Debian's Chromium, which the browser tests drive with playwright-core (never a browser that
# playwright downloads: these machines reach only Debian's mirror and the npm registry).
#
#   ensure   install it with apt-get when /usr/bin/chromium is missing, then print its path
#            (stdout, one line).
#
# The tests start it themselves (test/support/Browser.ts): headless, no sandbox (they run as
# root), background networking, component updates and sync off, a fresh profile every run.
set -euo pipefail

chromium=/usr/bin/chromium

say() { echo "chromium.sh: $*" >&2; }

case "${1:-}" in
  ensure)
    if [ ! -x "$chromium" ]; then
      say "installing chromium"
      export DEBIAN_FRONTEND=noninteractive
      apt-get install -y -qq --no-install-recommends chromium >&2 ||
        { apt-get update -qq >&2 && apt-get install -y -qq --no-install-recommends chromium >&2; }
    fi
    [ -x "$chromium" ] || { say "$chromium is still missing after apt-get install"; exit 1; }
    echo "$chromium"
    ;;
  *)
    echo "usage: $0 ensure" >&2
    exit 2
    ;;
esac
