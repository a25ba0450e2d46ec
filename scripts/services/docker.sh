#!/usr/bin/env bash
# The Docker engine the tests (and a local demo) build on.
#
#   ensure       install what is missing (apt-get), start the project's own dockerd unless an engine
#                already answers at DOCKER_HOST, wait for it, print the DOCKER_HOST to use (stdout,
#                one line).
#   running      exit 0 if an engine answers at DOCKER_HOST (or the project's own socket), else 1;
#                scripts/test.sh asks it first so that it stops only a daemon it started.
#   base-image   ensure, then make the test base image (Python 3, pip, venv) with mmdebstrap piped
#                into `docker import`, unless the engine already has it; prints its tag.
#   stop         stop the daemon this script started (by the PID in its pidfile) and unmount its
#                network namespace; its data-root (images, build cache) is kept.
#   clean        stop, then remove the daemon's state folder.
#
# The project's own daemon lives under .services/docker/ of the checkout (git-ignored): its own
# socket, data-root, exec-root and pidfile, so it never touches a system daemon. It runs with
# --bridge=none --iptables=false --ip-masq=false: the default bridge does not work on these
# machines, and no container may reach a private address range. Builds then need an explicit
# network (`host` to reach the project's package index on 127.0.0.1, else `none`).
#
# Environment: DOCKER_HOST (another engine; ensure then only checks that it answers),
# TERRARIUM_TEST_BASE_IMAGE (the base image tag), TERRARIUM_CACHE_DIR (where the base image's root
# file system is kept as a tar, so another checkout's daemon imports it in seconds instead of
# running mmdebstrap again; default ${XDG_CACHE_HOME:-$HOME/.cache}/terrarium).
set -euo pipefail
cd "$(dirname "$0")/../.."

state="$PWD/.services/docker"
own_host="unix://$state/docker.sock"
host="${DOCKER_HOST:-$own_host}"
base_image="${TERRARIUM_TEST_BASE_IMAGE:-terrarium-test/python-base:bookworm}"
cache_dir="${TERRARIUM_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/terrarium}"
# The 20.10 client: it has BuildKit built in (a newer client elsewhere on PATH may lack buildx).
docker_cli=/usr/bin/docker

say() { echo "docker.sh: $*" >&2; }

answers() { "$docker_cli" -H "$host" version --format '{{.Server.Version}}' >/dev/null 2>&1; }

apt_install() {
  say "installing $*"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends "$@" >&2 || { apt-get update -qq >&2 && apt-get install -y -qq --no-install-recommends "$@" >&2; }
}

# What the engine and the test fixtures need: the daemon and its client, a registry (the base
# image pull test, the registry contract) and openssl (the token server's signing certificate), mmdebstrap for the base image, busybox-static for the tiny registry image (test/support/TinyImage.ts), cph for the tiny conda packages, Debian's Python with wheel/venv/pip for the tiny wheels.
install_missing() {
  local missing=()
  command -v dockerd >/dev/null && [ -x "$docker_cli" ] || missing+=(docker.io)
  command -v docker-registry >/dev/null || missing+=(docker-registry)
  command -v openssl >/dev/null || missing+=(openssl)
  command -v mmdebstrap >/dev/null || missing+=(mmdebstrap)
  command -v cph >/dev/null || missing+=(conda-package-handling)
  [ -x /bin/busybox ] || missing+=(busybox-static)
  [ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import wheel, venv, pip, ensurepip' >/dev/null 2>&1 ||
    missing+=(python3 python3-wheel python3-venv python3-pip)
  if [ ${#missing[@]} -gt 0 ]; then apt_install "${missing[@]}"; fi
}

start_daemon() {
  mkdir -p "$state"
  if [ -f "$state/dockerd.pid" ] && kill -0 "$(cat "$state/dockerd.pid")" 2>/dev/null; then
    say "dockerd $(cat "$state/dockerd.pid") is running but does not answer at $host yet"
  else
    say "starting dockerd (state in .services/docker/, log in .services/docker/dockerd.log)"
    unmount_netns
    # setsid: the daemon outlives this script and is not hit by the caller's Ctrl-C.
    setsid dockerd \
      --host "$own_host" \
      --data-root "$state/data" \
      --exec-root "$state/exec" \
      --pidfile "$state/dockerd.pid" \
      --bridge=none --iptables=false --ip-masq=false \
      >"$state/dockerd.log" 2>&1 </dev/null &
  fi
  for _ in $(seq 1 150); do
    if answers; then return 0; fi
    sleep 0.2
  done
  say "dockerd did not answer at $host within 30 s; last lines of its log:"
  tail -n 20 "$state/dockerd.log" >&2 || true
  exit 1
}

ensure() {
  install_missing
  if answers; then
    echo "$host"
    return 0
  fi
  if [ "$host" != "$own_host" ]; then
    say "no engine answers at DOCKER_HOST=$host (unset DOCKER_HOST to use the project's own daemon)"
    exit 1
  fi
  start_daemon
  echo "$host"
}

unmount_netns() {
  if mountpoint -q "$state/exec/netns/default" 2>/dev/null; then umount "$state/exec/netns/default" || true; fi
}

stop() {
  local pidfile="$state/dockerd.pid"
  if [ ! -f "$pidfile" ]; then say "no pidfile: the project's dockerd is not running"; return 0; fi
  local pid
  pid="$(cat "$pidfile")"
  if kill -0 "$pid" 2>/dev/null; then
    say "stopping dockerd $pid"
    kill -TERM "$pid"
    for _ in $(seq 1 150); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.2
    done
    if kill -0 "$pid" 2>/dev/null; then say "dockerd $pid did not stop within 30 s; killing it"; kill -KILL "$pid" || true; fi
  fi
  rm -f "$pidfile"
  unmount_netns
}

rootfs_tar() {
  local tar="$cache_dir/python-base-bookworm.tar"
  if [ -s "$tar" ]; then echo "$tar"; return 0; fi
  mkdir -p "$cache_dir"
  local sources=/etc/apt/sources.list.d/debian.sources
  [ -f "$sources" ] || sources=/etc/apt/sources.list
  say "making the base image's root file system with mmdebstrap (about 30 s, once per machine)"
  # The host's own apt sources serve as the mirror: the machine reaches only its configured mirror.
  mmdebstrap --variant=minbase --include=python3,python3-venv,python3-pip,ca-certificates \
    --aptopt='Acquire::Languages "none"' \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-include=/usr/share/doc/*/copyright' --dpkgopt='path-exclude=/usr/share/locale/*' \
    --format=tar bookworm "$tar.partial" "$sources" >&2
  mv "$tar.partial" "$tar"
  echo "$tar"
}

base_image() {
  host="$(ensure)"
  if "$docker_cli" -H "$host" image inspect "$base_image" >/dev/null 2>&1; then
    echo "$base_image"
    return 0
  fi
  local tar
  tar="$(rootfs_tar)"
  say "importing $base_image"
  "$docker_cli" -H "$host" import -c 'ENV LANG=C.UTF-8' -c 'CMD ["/bin/bash"]' "$tar" "$base_image" >/dev/null
  echo "$base_image"
}

case "${1:-ensure}" in
  ensure) ensure ;;
  running) answers ;;
  base-image) base_image ;;
  stop) stop ;;
  clean) stop; unmount_netns; rm -rf "$state" ;;
  *) echo "usage: docker.sh ensure | running | base-image | stop | clean" >&2; exit 2 ;;
esac
