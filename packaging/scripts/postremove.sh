#!/bin/sh
# Debian "purge" also deletes the service's state (the durable queue and file offsets). The
# system user stays, as Debian's policy asks: files it owned may remain elsewhere.
# Arguments: Debian "remove", "purge", "upgrade", ...; RPM "0" (erase) or "1" (upgrade).
set -e
if [ "$1" = purge ]; then
  rm -rf "${DPKG_ROOT:-}/var/lib/otelcol-plumelog"
fi
if [ -z "${DPKG_ROOT:-}" ] && [ -d /run/systemd/system ]; then
  systemctl daemon-reload || true
fi
exit 0
