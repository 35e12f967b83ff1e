#!/usr/bin/env bash
# Runs the built collector in the foreground against the Redis at $PLUMELOG_REDIS, starting a
# local redis-server there first when nothing answers.
set -euo pipefail

collector=$1
config=$2
export PLUMELOG_REDIS=${PLUMELOG_REDIS:-localhost:6379}
host=${PLUMELOG_REDIS%:*} port=${PLUMELOG_REDIS##*:}

if ! redis-cli -h "$host" -p "$port" ping >/dev/null 2>&1; then
  mkdir -p .tmp/redis
  echo "starting redis-server on $host:$port (data in .tmp/redis)"
  redis-server --bind "$host" --port "$port" --dir .tmp/redis --daemonize yes \
    --pidfile "$PWD/.tmp/redis/redis.pid" --logfile "$PWD/.tmp/redis/redis.log"
  trap 'kill "$(cat .tmp/redis/redis.pid)" 2>/dev/null || true' EXIT
  for _ in $(seq 50); do redis-cli -h "$host" -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
fi

cat <<MSG
otelcol-plumelog is starting with $config
  send OTLP to        grpc://localhost:4317  or  http://localhost:4318
  logs land in        Redis $PLUMELOG_REDIS, list plume_log_list
  traces land in      Redis $PLUMELOG_REDIS, list plume_trace_list
  look at them with   redis-cli -h $host -p $port lrange plume_log_list 0 -1
MSG
"$collector" --config "$config"
