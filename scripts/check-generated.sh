#!/usr/bin/env bash
# Fails when `go mod tidy` (of the project and of its tools module) or `make generate` changes a
# file: what they produce must be committed. On a clean clone, as in CI, any change means
# something was not committed; in a working tree with edits of its own, only what the commands
# themselves change counts.
set -euo pipefail
cd "$(dirname "$0")/.."

# The clone may belong to another user than the one running this (root in CI).
git() { command git -c safe.directory="$PWD" "$@"; }
state() { git status --porcelain=v1 --untracked-files=all; git diff; }

before=$(state)
go mod tidy
(cd internal/tools && go mod tidy)
make --no-print-directory generate
after=$(state)

if [ "$before" != "$after" ]; then
  echo "go mod tidy or make generate changed the tree; commit what they produce:" >&2
  diff <(echo "$before") <(echo "$after") >&2 || true
  exit 1
fi
