#!/usr/bin/env bash
# Prints -race when the race detector can run, after installing what it builds with through cgo:
# a C compiler and the C library's headers (gcc without its recommended libc6-dev cannot build
# runtime/cgo, so the header is checked, not only the compiler). When it cannot run, it prints
# nothing and says why on stderr; with CI=true that is an error instead, as CI must race.
set -euo pipefail
go=${GO:-go}

reason=""
if [ "${CGO_ENABLED:-}" = 0 ]; then
  reason="CGO_ENABLED=0 is set, and the race detector needs cgo"
elif ! "$(dirname "$0")/ensure-packages.sh" gcc=gcc /usr/include/stdlib.h=libc6-dev >&2; then
  reason="the C compiler and headers the race detector needs (gcc, libc6-dev) could not be installed"
elif [ "$("$go" env CGO_ENABLED)" != 1 ]; then
  reason="cgo is off (go env CGO_ENABLED is $("$go" env CGO_ENABLED)), and the race detector needs it"
fi

if [ -z "$reason" ]; then
  echo -race
elif [ "${CI:-}" = true ]; then
  echo "error: $reason; CI runs the tests with -race" >&2
  exit 1
else
  echo "NOTICE: $reason: the tests run WITHOUT -race" >&2
fi
