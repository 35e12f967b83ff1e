#!/usr/bin/env bash
# Checks that the README's two commands work on a fresh machine: builds a minimal Debian 12 root
# with debootstrap, gives it Go (this machine's installation), make and git and nothing else,
# clones the committed HEAD into it, and runs there `CI=true make test`, then `make run` until a
# log sent over OTLP lands in Redis. The root shares this machine's network, so the module proxy
# and the Debian mirror are reached as from here, and `make run` needs the ports it serves on
# free. Runs as root.
#
#   FRESH_ROOT=dir      where the root is built (default .tmp/fresh-root; replaced on each run)
#   FRESH_KEEP=1        keep the root afterwards, for inspection with `chroot`
#   FRESH_MIRROR=url    the Debian mirror (default: the one apt on this machine uses for bookworm)
set -euo pipefail

suite=bookworm
repo_dir=/root/otelcol-plumelog
run_ports=(4317 4318 13133 6379) # OTLP gRPC and HTTP, health_check, Redis: testdata/collector-config.yaml

step() { printf '\n==> %s\n' "$*"; }
fail() { echo "fresh-check: $*" >&2; exit 1; }
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# inside runs in the root, in the clone, as a new user would.
inside() {
  cd "$repo_dir"
  step "CI=true make test"
  local start=$SECONDS
  CI=true make test
  echo "make test passed in $((SECONDS - start)) s"

  step "make run, then one log over OTLP"
  start=$SECONDS
  # Job control gives make run a process group of its own, in which Ctrl-C's SIGINT is not
  # ignored, as it would be in a background job without it.
  set -m
  make run >/root/make-run.log 2>&1 </dev/null &
  run=$!
  set +m
  trap 'interrupt "$run"' EXIT
  for _ in $(seq 600); do
    health_ok && break
    kill -0 "$run" 2>/dev/null || { cat /root/make-run.log; fail "make run ended before it served"; }
    sleep 1
  done
  health_ok || { cat /root/make-run.log; fail "the collector's health check did not answer within 600 s"; }

  local marker
  marker="fresh-check $(date +%s.%N)"
  bin/telemetrygen logs --otlp-insecure --otlp-endpoint localhost:4317 --logs 1 \
    --service fresh-check --body "$marker" >/root/telemetrygen.log 2>&1 ||
    { cat /root/telemetrygen.log; fail "telemetrygen could not send the log"; }
  local found=""
  for _ in $(seq 60); do
    found=$(redis-cli -p 6379 lrange plume_log_list 0 -1 | grep -F "$marker" || true)
    [ -n "$found" ] && break
    sleep 0.5
  done
  [ -n "$found" ] || { cat /root/telemetrygen.log /root/make-run.log; fail "the log sent over OTLP did not reach plume_log_list"; }
  echo "in Redis's plume_log_list: $found"

  trap - EXIT
  interrupt "$run"
  for _ in $(seq 20); do
    redis-cli -p 6379 ping >/dev/null 2>&1 || break
    sleep 0.5
  done
  ! redis-cli -p 6379 ping >/dev/null 2>&1 || fail "make run left its redis-server running after Ctrl-C"
  echo "make run served OTLP into Redis and stopped on Ctrl-C, $((SECONDS - start)) s after it started"
}

# interrupt stops a process group as Ctrl-C in its terminal would, and waits for its leader.
interrupt() {
  kill -INT -- "-$1" 2>/dev/null || return 0
  for _ in $(seq 60); do
    kill -0 "$1" 2>/dev/null || break
    sleep 0.5
  done
  kill -0 "$1" 2>/dev/null && fail "make run did not stop within 30 s of Ctrl-C"
  wait "$1" || true
}

health_ok() {
  local reply
  reply=$( (exec 3<>/dev/tcp/127.0.0.1/13133 && printf 'GET / HTTP/1.0\r\n\r\n' >&3 && head -n1 <&3) 2>/dev/null) || return 1
  [[ $reply == *" 200 "* ]]
}

if [ "${1:-}" = inside ]; then
  inside
  exit
fi

[ "$(id -u)" -eq 0 ] || fail "builds a root with debootstrap and chroot: run it as root"
self=$(realpath "$0")
source_dir=$(git rev-parse --show-toplevel)
cd "$source_dir"
head=$(git rev-parse HEAD)
[ -z "$(git status --porcelain)" ] || echo "fresh-check: uncommitted changes are not checked, only HEAD $head" >&2
for port in "${run_ports[@]}"; do
  ! listening "$port" || fail "port $port is in use here; make run in the root needs it"
done
scripts/ensure-packages.sh debootstrap=debootstrap
root=$(realpath -m "${FRESH_ROOT:-.tmp/fresh-root}")
# shellcheck disable=SC2016 # $(REPO_URI) is apt's format field, not the shell's
mirror=${FRESH_MIRROR:-$(apt-get indextargets --format '$(REPO_URI)' 'Identifier: Packages' \
  "Codename: $suite" 'Component: main' | head -n1)}
[ -n "$mirror" ] || fail "apt has no $suite main source here; set FRESH_MIRROR"
goroot=$(go env GOROOT)
[[ $(go env GOVERSION) == go1.26* ]] || fail "needs Go 1.26 here to copy into the root, found $(go env GOVERSION)"

mounted_under() { awk -v r="$1" '$2 == r || index($2, r "/") == 1 {print $2}' /proc/self/mounts; }

# Processes still running in the root would keep its mounts busy: make run's Redis if it
# outlived its script, or anything an interrupted check left.
stop_root_processes() {
  local link pid killed=""
  for link in /proc/[0-9]*/root; do
    pid=${link#/proc/} pid=${pid%/root}
    [ "$(readlink "$link" 2>/dev/null)" = "$root" ] && kill -KILL "$pid" 2>/dev/null && killed=1
  done
  [ -z "$killed" ] || sleep 1
}

cleanup() {
  local status=$? mount
  stop_root_processes
  for mount in $(mounted_under "$root" | sort -r); do
    umount "$mount" 2>/dev/null || umount -l "$mount"
  done
  if [ "${FRESH_KEEP:-0}" = 1 ]; then
    echo "fresh-check: the root is kept in $root (chroot $root /bin/bash -l)"
  elif [ -z "$(mounted_under "$root")" ]; then
    rm -rf --one-file-system "$root"
  fi
  [ $status -eq 0 ] && echo "fresh-check: passed in $SECONDS s" || echo "fresh-check: FAILED after $SECONDS s" >&2
}

# Only a root this check built is replaced: FRESH_ROOT may name a directory that holds anything.
marker=.fresh-check-root
if [ -e "$root" ]; then
  [ -e "$root/$marker" ] || fail "$root is not a root this check built; remove it or set FRESH_ROOT"
  [ -z "$(mounted_under "$root")" ] || fail "$root still has mounts from an earlier run: $(mounted_under "$root")"
  rm -rf --one-file-system "$root"
fi
mkdir -p "$root"
trap cleanup EXIT
trap 'exit 130' INT TERM

step "debootstrap --variant=minbase $suite from $mirror"
debootstrap --variant=minbase "$suite" "$root" "$mirror"
touch "$root/$marker"
echo "debootstrap took $SECONDS s"
printf '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' >"$root/etc/hosts"
mount -t proc proc "$root/proc"
mount -t sysfs sysfs "$root/sys"
mount --bind /dev "$root/dev"
mount --bind /dev/pts "$root/dev/pts"

# What a new user's root shell has: Go installed as go.dev/doc/install says, and the settings
# (module proxy, HTTP proxy) this machine needs to reach the network.
fresh_env=(HOME=/root TERM="${TERM:-dumb}" LANG=C.UTF-8
  PATH=/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin)
for var in GOPROXY GOSUMDB GONOSUMDB GOPRIVATE GONOPROXY GOINSECURE; do
  value=$(go env "$var")
  [ "$value" = "$(env -i PATH="$PATH" GOENV=off go env "$var")" ] || fresh_env+=("$var=$value")
done
for var in http_proxy https_proxy no_proxy HTTP_PROXY HTTPS_PROXY NO_PROXY; do
  [ -z "${!var:-}" ] || fresh_env+=("$var=${!var}")
done
# The CAs this machine adds to Debian's (a TLS-inspecting proxy's, say) belong to its network as
# the proxy settings do. The root gets them where Debian keeps local CAs, which the ca-certificates
# package, once something installs it, adds to the bundle Go reads.
mkdir -p "$root/usr/local/share/ca-certificates"
cp -a /usr/local/share/ca-certificates/. "$root/usr/local/share/ca-certificates/" 2>/dev/null || true
in_root() { chroot "$root" /usr/bin/env -i "${fresh_env[@]}" "$@"; }

step "Go $(go env GOVERSION) from $goroot, make and git (without recommended packages)"
cp -a "$goroot/." "$root/usr/local/go"
in_root apt-get update -qq
in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends make git >/dev/null

step "git clone of $head"
git clone --quiet --no-hardlinks "$source_dir" "$root$repo_dir"
git -C "$root$repo_dir" checkout --quiet --detach "$head"
cp "$self" "$root/root/fresh-check.sh"
in_root /bin/bash -c "cd $repo_dir && bash /root/fresh-check.sh inside"
