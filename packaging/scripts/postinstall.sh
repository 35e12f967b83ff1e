#!/bin/sh
# Creates the service user and tells systemd about the unit. It neither enables nor starts
# the service on a first install: the Redis address and password must be set first. On an
# upgrade a running service is restarted with the new binary.
# Arguments: Debian "configure <old version>", RPM "1" (install) or "2" (upgrade).
set -e
root=${DPKG_ROOT:-}

if command -v systemd-sysusers >/dev/null 2>&1; then
  systemd-sysusers --root="${root:-/}" "$root/usr/lib/sysusers.d/otelcol-plumelog.conf"
elif ! getent passwd otelcol-plumelog >/dev/null; then
  useradd --system --user-group --home-dir /var/lib/otelcol-plumelog --no-create-home \
    --shell /usr/sbin/nologin --comment "otelcol-plumelog service" otelcol-plumelog
fi

upgrade=false
case "$1" in
  configure) [ -n "${2:-}" ] && upgrade=true ;;
  2) upgrade=true ;;
esac

if [ -z "$root" ] && [ -d /run/systemd/system ]; then
  systemctl daemon-reload
  if $upgrade; then
    systemctl try-restart otelcol-plumelog.service
  else
    echo "otelcol-plumelog: set the Redis address and password in /etc/otelcol-plumelog/otelcol-plumelog.env,"
    echo "then: systemctl enable --now otelcol-plumelog"
  fi
fi
exit 0
