#!/usr/bin/env bash
# deploy/stop.sh — stop what deploy/run.sh started (the paperchart instance).
#
#   bash deploy/stop.sh         stop bin/paperchart (pid file var/run/paperchart.pid)
#   bash deploy/stop.sh --all   also stop versitygw, and the Redis and PostgreSQL
#                               that deploy/setup.sh started itself (never services
#                               it only found running: the machine's own stay up)
#
# Nothing running is not an error: a second stop, or a stop before any run, exits 0.
# Data in var/ is kept; `make setup` starts everything again.

set -euo pipefail

# shellcheck source=deploy/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Longer than the worker's 90 s shutdown timeout: let in-flight pages finish.
PAPERCHART_STOP_TIMEOUT=100

usage() { sed -n '2,10s/^# \{0,1\}//p' "$0"; }

stop_paperchart() {
  stop_pidfile "$RUN_DIR/paperchart.pid" "bin/paperchart" "$PAPERCHART_STOP_TIMEOUT"
}

stop_versitygw() {
  stop_pidfile "$RUN_DIR/versitygw.pid" versitygw 20
}

stop_redis() {
  # SIGTERM makes Redis flush its append-only file and exit cleanly.
  stop_pidfile "$RUN_DIR/redis.pid" redis-server 30
}

stop_postgres() {
  local marker="$RUN_DIR/postgres.started" ver name
  [ -s "$marker" ] || return 0
  read -r ver name <"$marker"
  if pg_lsclusters -h 2>/dev/null | awk -v v="$ver" -v n="$name" '$1 == v && $2 == n && $4 ~ /^online/ { found = 1 } END { exit !found }'; then
    pg_ctlcluster --skip-systemctl-redirect "$ver" "$name" stop
    info "stopped PostgreSQL cluster $ver/$name"
  fi
  rm -f "$marker"
}

main() {
  local all=0
  case "${1:-}" in
    "") ;;
    --all) all=1 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
  esac
  mkdir -p "$RUN_DIR"
  stop_paperchart
  if [ "$all" -eq 1 ]; then
    stop_versitygw
    stop_redis
    stop_postgres
  fi
}

main "$@"
