#!/usr/bin/env bash
# Installs the Debian packages the run and the tests need when something of theirs is missing:
# a command, a file (a path, e.g. a header that a compiler alone does not bring), or a Python module.
# Usage: scripts/ensure-packages.sh [command=package | /path=package | python3:module=package ...]
set -euo pipefail

# Debian's python3-* packages serve the system interpreter, which a python3 earlier on PATH
# (pyenv, a virtualenv) may hide.
python=/usr/bin/python3
[ -x "$python" ] || python=python3

missing=()
for pair in "$@"; do
  cmd=${pair%%=*} pkg=${pair#*=}
  if [[ $cmd == python3:* ]]; then
    "$python" -c "import ${cmd#python3:}" 2>/dev/null || missing+=("$pkg")
  elif [[ $cmd == /* ]]; then
    [ -e "$cmd" ] || missing+=("$pkg")
  else
    command -v "$cmd" >/dev/null 2>&1 || missing+=("$pkg")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "installing ${missing[*]} with apt-get" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
