#!/usr/bin/env bash
# deploy/run.sh — run paperchart on this machine and push one demo batch through it.
# `make run` runs deploy/setup.sh first, then this.
#
#   1. build bin/paperchart and apply database migrations (paperchart migrate)
#   2. stop the instance a previous run started, start `paperchart all` detached
#   3. wait for http://$PAPERCHART_HTTP_ADDR/healthz
#   4. generate a 6-page demo PDF and drop it (atomic mv) into the drop folder
#   5. follow the batch until it is done, failed, rejected (or duplicate)
#
# The instance keeps running afterwards; `make stop` (deploy/stop.sh) stops it.

set -euo pipefail

# shellcheck source=deploy/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

BIN="$REPO/bin/paperchart"
PIDFILE="$RUN_DIR/paperchart.pid"
APP_LOG="$LOG_DIR/paperchart.log"
HEALTH_TIMEOUT=60   # seconds for /healthz to answer after start
DEMO_TIMEOUT=300    # seconds for the demo batch to finish

load_env() {
  [ -f "$ENV_FILE" ] || die "$ENV_FILE is missing: run 'make setup' (bash deploy/setup.sh) first"
  # shellcheck disable=SC1090
  source "$ENV_FILE"
  export OMP_THREAD_LIMIT=1 # must be set before the process starts (Tesseract/OpenMP)
  ensure_go_on_path
  cd "$REPO"
}

build_and_migrate() {
  log "building bin/paperchart"
  go build -o "$BIN" ./cmd/paperchart
  log "applying migrations (paperchart migrate)"
  "$BIN" migrate
}

healthz_url() { echo "http://$PAPERCHART_HTTP_ADDR/healthz"; }
healthy() { [ "$(http_code "$(healthz_url)")" = 200 ]; }

start_instance() {
  log "stopping a previous instance, if any"
  bash "$REPO/deploy/stop.sh"
  if [ "$(http_code "$(healthz_url)")" != 000 ]; then
    die "something else already answers on $PAPERCHART_HTTP_ADDR (not started by deploy/run.sh); stop it or set PAPERCHART_HTTP_ADDR and re-run make setup"
  fi

  log "starting bin/paperchart all (log: var/log/paperchart.log)"
  printf '\n==== %s deploy/run.sh: starting paperchart all ====\n' "$(date -Is)" >>"$APP_LOG"
  spawn_detached "$APP_LOG" "$PIDFILE" "$BIN" all
  local pid i
  pid="$(cat "$PIDFILE")"

  for ((i = 0; i < HEALTH_TIMEOUT; i++)); do
    if healthy; then
      info "up: $(healthz_url) answers 200 (pid $pid)"
      return 0
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "---- last lines of $APP_LOG ----" >&2
      tail -n 30 "$APP_LOG" >&2
      die "paperchart exited during start-up"
    fi
    sleep 1
  done
  echo "---- last lines of $APP_LOG ----" >&2
  tail -n 30 "$APP_LOG" >&2
  die "$(healthz_url) did not answer 200 within ${HEALTH_TIMEOUT}s (paperchart still runs as pid $pid; make stop)"
}

# Write the demo PDF next to the drop folder (same filesystem), then rename it
# into the drop folder: the watcher never sees a half-written file.
drop_demo_batch() {
  local stamp seed staging
  stamp="$(date +%Y%m%d-%H%M%S)"
  seed="$(date +%s)"
  DEMO_NAME="demo-$stamp.pdf"
  # PAPERCHART_DROP may list several folders: use the first.
  DROP_DIR="$(drop_paths | head -n 1)"
  mkdir -p "$DROP_DIR" "$VAR/tmp"
  staging="$VAR/tmp"
  if [ "$(stat -c %d "$staging")" != "$(stat -c %d "$DROP_DIR")" ]; then
    # A drop folder elsewhere (another disk, a share): mv across filesystems is a
    # copy, so stage in a hidden folder beside the drop folder instead.
    staging="$(dirname "$DROP_DIR")/.paperchart-staging"
    mkdir -p "$staging"
  fi
  local patients_flag=()
  if [ "${PAPERCHART_DEMO_PATIENTS:-1}" != 0 ]; then
    # Fictional patients, so that the demo's documents can file themselves.
    # Re-importing them changes nothing. PAPERCHART_DEMO_PATIENTS=0 skips
    # this (a real patient index).
    local csv="$VAR/demo-patients.csv"
    [ -f "$csv" ] || "$BIN" gen --population 500 --seed 1 --out "$csv" >/dev/null
    "$BIN" patients import "$csv" >/dev/null
    info "demo patient index: 500 fictional patients ($csv; PAPERCHART_DEMO_PATIENTS=0 to skip)"
    patients_flag=(--patients "$csv")
  fi
  log "generating an 8-page demo batch with cover and separator sheets (seed $seed)"
  "$BIN" gen --pages 8 --seed "$seed" --sheets mixed "${patients_flag[@]}" --out "$staging/$DEMO_NAME"
  mv "$staging/$DEMO_NAME" "$DROP_DIR/$DEMO_NAME"
  info "dropped $DROP_DIR/$DEMO_NAME"
}

# Print "id<TAB>state<TAB>pages<TAB>pages_done" of the demo batch, or nothing yet.
# The list is newest first; the name may be kept with or without ".pdf".
demo_batch_status() {
  "$BIN" batches --json 2>/dev/null | jq -r --arg n "$DEMO_NAME" '
    [ .[] | select(.name == $n or .name == ($n | rtrimstr(".pdf"))) ] | first
    | select(. != null)
    | [ .id, .state, (.pages // 0), (.pages_done // 0) ] | @tsv' 2>/dev/null || true
}

follow_demo_batch() {
  local started=$SECONDS line="" last="" id state pages done_
  log "waiting for the demo batch (up to ${DEMO_TIMEOUT}s)"
  while [ $((SECONDS - started)) -lt "$DEMO_TIMEOUT" ]; do
    line="$(demo_batch_status)"
    if [ -n "$line" ]; then
      IFS=$'\t' read -r id state pages done_ <<<"$line"
      if [ "$line" != "$last" ]; then
        if [ "$pages" -gt 0 ]; then
          info "demo batch $id: $done_/$pages pages OCR'd ($state)"
        else
          info "demo batch $id: $state"
        fi
        last="$line"
      fi
      case "$state" in
        done)
          "$BIN" documents --batch "$id" | sed 's/^/    /'
          return 0 ;;
        failed|rejected|duplicate)
          warn "demo batch $id ended as '$state'; details: bin/paperchart batches show $id, log: $APP_LOG"
          return 1 ;;
      esac
    elif [ $((SECONDS - started)) -gt 0 ] && [ $(((SECONDS - started) % 15)) -eq 0 ]; then
      info "no batch for $DEMO_NAME yet ($((SECONDS - started))s)"
    fi
    sleep 1
  done
  warn "demo batch not finished after ${DEMO_TIMEOUT}s; it may still be running. See $APP_LOG and bin/paperchart batches"
  return 1
}

print_pointers() {
  local rc="$1"
  echo
  log "paperchart is running (pid $(cat "$PIDFILE"))"
  info "drop PDFs into:    $(drop_paths | paste -sd ' ')"
  info "list batches:      bin/paperchart batches"
  info "one batch:         bin/paperchart batches show ID"
  info "batch API:         http://$PAPERCHART_HTTP_ADDR/api/batches"
  info "documents:         bin/paperchart documents [--state review]; bin/paperchart documents show ID"
  info "workstation:       http://$PAPERCHART_HTTP_ADDR/review/  (first: bin/paperchart users add NAME --role admin)"
  info "FHIR for the EHR:  http://$PAPERCHART_HTTP_ADDR/fhir/metadata  (bin/paperchart tokens create --name ehr --scope 'system/*.read')"
  info "log:               $APP_LOG"
  info "environment:       . var/paperchart.env"
  info "stop it:           make stop   (make stop-all also stops the services setup.sh started)"
  return "$rc"
}

main() {
  load_env
  build_and_migrate
  start_instance
  drop_demo_batch
  local rc=0
  follow_demo_batch || rc=1
  print_pointers "$rc"
}

main "$@"
