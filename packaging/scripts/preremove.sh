#!/bin/sh
# Stops the service before its binary goes away; an upgrade leaves it running (postinstall
# restarts it). Arguments: Debian "remove" or "upgrade <new version>", RPM "0" (erase) or "1"
# (upgrade).
set -e
case "$1" in
  remove | 0) ;;
  *) exit 0 ;;
esac
if [ -z "${DPKG_ROOT:-}" ] && [ -d /run/systemd/system ]; then
  systemctl disable --now otelcol-plumelog.service >/dev/null 2>&1 || true
fi
exit 0
