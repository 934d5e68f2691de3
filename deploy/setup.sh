#!/usr/bin/env bash
# deploy/setup.sh — make this Debian 12 machine ready to build, test and run paperchart.
#
# Safe to run any number of times, also while everything already runs (then it
# takes about a second). On a fresh machine it installs and starts everything:
#
#   1. Debian packages (Tesseract, poppler, Redis, PostgreSQL, Chromium, jq, ...)
#   2. versitygw, a local S3 server, built into var/bin/
#   3. Redis     — reuse the one that answers on PAPERCHART_REDIS_ADDR, else start our own
#   4. PostgreSQL — reuse / start / create a Debian cluster, then role + database "paperchart"
#   5. S3        — reuse what answers on PAPERCHART_S3_ENDPOINT, else start versitygw
#   6. var/paperchart.env — the environment for the Go code, to `source`
#   7. the npm packages of the FHIR client test (fhir/testdata/client), with node
#
# Every PAPERCHART_* variable already set in the environment wins over the defaults.
# Services are only ever started for loopback addresses; a remote address must answer.
# What this script started itself is recorded in var/run/ so `deploy/stop.sh --all`
# stops exactly that and nothing else.

set -euo pipefail

# shellcheck source=deploy/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

VERSITYGW_VERSION=v1.8.0

# Debian packages. Checked with dpkg-query; apt-get runs only if one is missing.
PACKAGES=(
  # OCR: the tesseract CLI, its C++ API for gosseract (cgo), English + orientation models
  tesseract-ocr tesseract-ocr-eng tesseract-ocr-osd libtesseract-dev libleptonica-dev
  # pdftoppm, to rasterize pages pdfcpu cannot decode (JBIG2, JPEG 2000)
  poppler-utils
  # the queue (asynq) and the database
  redis-server postgresql
  # headless browser tests
  chromium chromium-driver
  # what the scripts and cgo need: C/C++ compilers, make, curl, jq, ps, CA roots for `go install`
  gcc g++ make curl jq procps ca-certificates
)

# ---------------------------------------------------------------------------
# Configuration: defaults, unless already set in the environment.
# ---------------------------------------------------------------------------
load_config() {
  : "${PAPERCHART_DATABASE_URL:=postgres://paperchart@127.0.0.1:5432/paperchart?sslmode=disable}"
  : "${PAPERCHART_REDIS_ADDR:=127.0.0.1:6379}"
  : "${PAPERCHART_S3_ENDPOINT:=127.0.0.1:7070}"
  : "${PAPERCHART_S3_ACCESS_KEY:=paperchart}"
  : "${PAPERCHART_S3_SECRET_KEY:=paperchart-dev-secret}"
  : "${PAPERCHART_S3_BUCKET:=paperchart}"
  : "${PAPERCHART_DROP:=$VAR/drop/inbox}"
  : "${PAPERCHART_HTTP_ADDR:=127.0.0.1:8080}"
  # Debian cluster name used only when setup.sh has to create a cluster.
  : "${PAPERCHART_PG_CLUSTER:=main}"
  # Tesseract's OpenMP threads fight each other across our parallel workers:
  # always one thread per OCR call (10-26 s/page without this, 2 s with it).
  OMP_THREAD_LIMIT=1
  export OMP_THREAD_LIMIT
}

SUMMARY=()
summary() { SUMMARY+=("$(printf '%-11s %s' "$1" "$2")"); }

make_dirs() {
  mkdir -p "$VAR/bin" "$RUN_DIR" "$LOG_DIR" "$VAR/tmp" "$VAR/redis" \
           "$VAR/s3/data" "$VAR/s3/versions" "$VAR/s3/iam"
  local dir
  while IFS= read -r dir; do mkdir -p "$dir"; done < <(drop_paths)
}

# Two setups at once (say `make run` in one terminal, `make test` in another)
# would both try to start versitygw: serialize them. The lock is held on fd 9
# until this script exits; daemons are started through in_clean_fds or
# spawn_detached (lib.sh), so they do not inherit fd 9 and hold the lock forever.
take_lock() {
  exec 9>"$RUN_DIR/setup.lock"
  if ! flock -n 9; then
    log "another deploy/setup.sh is running; waiting for it"
    flock 9
  fi
}

# ---------------------------------------------------------------------------
# 1. Debian packages
# ---------------------------------------------------------------------------
install_packages() {
  local missing=() pkg status
  for pkg in "${PACKAGES[@]}"; do
    status="$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)"
    [ "$status" = installed ] || missing+=("$pkg")
  done
  if [ "${#missing[@]}" -eq 0 ]; then
    summary packages "all ${#PACKAGES[@]} present"
    return
  fi
  log "installing Debian packages: ${missing[*]}"
  [ "$(id -u)" -eq 0 ] || die "installing packages needs root (run: sudo bash deploy/setup.sh)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  # in_clean_fds: package scripts may start daemons; they must not inherit our lock.
  in_clean_fds apt-get install -y -q -o Dpkg::Use-Pty=0 "${missing[@]}"
  summary packages "installed ${missing[*]}"
}

# ---------------------------------------------------------------------------
# 2. versitygw (S3 server), built from source into var/bin with the Go toolchain
# ---------------------------------------------------------------------------
VERSITYGW="$VAR/bin/versitygw"

install_versitygw() {
  ensure_go_on_path
  command -v go >/dev/null || die "go not found (expected /usr/local/go/bin/go)"
  if [ -x "$VERSITYGW" ] && go version -m "$VERSITYGW" 2>/dev/null | grep -q "versitygw[[:space:]]*$VERSITYGW_VERSION"; then
    return
  fi
  log "building versitygw $VERSITYGW_VERSION into var/bin (first time: a few minutes)"
  local build_log="$LOG_DIR/versitygw-build.log" pid started=$SECONDS
  GOBIN="$VAR/bin" go install -v "github.com/versity/versitygw/cmd/versitygw@$VERSITYGW_VERSION" \
    >"$build_log" 2>&1 &
  pid=$!
  # Heartbeat, so a CI log does not look stuck during the build.
  while kill -0 "$pid" 2>/dev/null; do
    sleep 5
    kill -0 "$pid" 2>/dev/null || break
    if [ $(((SECONDS - started) % 15)) -lt 5 ]; then
      info "still building... $((SECONDS - started))s, $(wc -l <"$build_log") packages compiled so far"
    fi
  done
  if ! wait "$pid"; then
    tail -n 30 "$build_log" >&2
    die "building versitygw failed; full log: $build_log"
  fi
  info "built $VERSITYGW in $((SECONDS - started))s"
}

# ---------------------------------------------------------------------------
# 3. Redis
# ---------------------------------------------------------------------------
redis_cli() {
  if [ -n "${PAPERCHART_REDIS_PASSWORD:-}" ]; then
    # redis-cli reads the password from REDISCLI_AUTH (not visible in ps).
    REDISCLI_AUTH="$PAPERCHART_REDIS_PASSWORD" timeout 5 redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" "$@"
  else
    timeout 5 redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" "$@"
  fi
}
redis_answers() { [ "$(redis_cli ping 2>/dev/null)" = PONG ]; }

setup_redis() {
  split_hostport "$PAPERCHART_REDIS_ADDR" 6379
  REDIS_HOST="$HP_HOST" REDIS_PORT="$HP_PORT"
  local how=found
  pid_alive "$RUN_DIR/redis.pid" redis-server && how="found (ours, pid $(cat "$RUN_DIR/redis.pid"))"

  if ! redis_answers; then
    is_loopback "$REDIS_HOST" || die "nothing answers PING at Redis $PAPERCHART_REDIS_ADDR (not local, so not starting one)"
    if ! pid_alive "$RUN_DIR/redis.pid" redis-server; then
      log "starting Redis on $REDIS_HOST:$REDIS_PORT (data in var/redis)"
      # deploy/redis.conf holds the settings asynq needs; paths and port come from here.
      in_clean_fds redis-server "$REPO/deploy/redis.conf" \
        --port "$REDIS_PORT" --bind 127.0.0.1 -::1 \
        --dir "$VAR/redis" --daemonize yes \
        --pidfile "$RUN_DIR/redis.pid" --logfile "$LOG_DIR/redis.log"
    fi
    wait_until "Redis on $REDIS_HOST:$REDIS_PORT" 20 redis_answers || {
      tail -n 20 "$LOG_DIR/redis.log" >&2 || true
      die "Redis did not come up; see $LOG_DIR/redis.log"
    }
    how=started
  fi

  # A Redis we did not start (the machine's own) may run without persistence and
  # with an evicting policy. asynq keeps the whole queue in Redis: losing or
  # evicting keys loses tasks. Fix it at runtime (not persisted in its config file).
  local key val
  for key in "appendonly yes" "maxmemory-policy noeviction"; do
    # shellcheck disable=SC2086
    val="$(redis_cli config set $key 2>&1 || true)"
    [ "$val" = OK ] || warn "Redis refused CONFIG SET $key: $val (asynq may lose tasks on restart or eviction)"
  done
  summary redis "$how at $REDIS_HOST:$REDIS_PORT (appendonly=$(redis_cli config get appendonly | sed -n 2p), maxmemory-policy=$(redis_cli config get maxmemory-policy | sed -n 2p))"
}

# wait_until WHAT SECONDS COMMAND...: retry COMMAND once a second.
wait_until() {
  local what="$1" secs="$2" i
  shift 2
  for ((i = 0; i < secs; i++)); do
    "$@" && return 0
    sleep 1
  done
  warn "$what did not answer within ${secs}s"
  return 1
}

# ---------------------------------------------------------------------------
# 4. PostgreSQL
# ---------------------------------------------------------------------------
# Split PAPERCHART_DATABASE_URL into PG_USER, PG_HOST, PG_PORT, PG_DB.
parse_database_url() {
  local re='^postgres(ql)?://(([^:@/]+)(:[^@/]*)?@)?([^:/?]*)(:([0-9]+))?/([^?]+)'
  [[ "$PAPERCHART_DATABASE_URL" =~ $re ]] ||
    die "cannot parse PAPERCHART_DATABASE_URL=$PAPERCHART_DATABASE_URL (want postgres://user@host:port/db?...)"
  PG_USER="${BASH_REMATCH[3]:-paperchart}"
  PG_HOST="${BASH_REMATCH[5]:-127.0.0.1}"
  PG_PORT="${BASH_REMATCH[7]:-5432}"
  PG_DB="${BASH_REMATCH[8]}"
}

pg_answers() { pg_isready -q -h "$PG_HOST" -p "$PG_PORT" -t 3; }

# The Debian cluster listening on PG_PORT, as "VERSION NAME STATUS", if any.
pg_find_cluster() {
  pg_lsclusters -h 2>/dev/null | awk -v port="$PG_PORT" '$3 == port { print $1, $2, $4; exit }'
}

# Start (or create and start) a local Debian cluster on PG_PORT.
pg_start_local() {
  local cluster ver name
  cluster="$(pg_find_cluster)"
  if [ -z "$cluster" ]; then
    ver="$(find /usr/lib/postgresql -mindepth 1 -maxdepth 1 -printf '%f\n' 2>/dev/null | sort -V | tail -n 1 || true)"
    [ -n "$ver" ] || die "no PostgreSQL server installed under /usr/lib/postgresql"
    name="$PAPERCHART_PG_CLUSTER"
    log "creating PostgreSQL $ver cluster '$name' on port $PG_PORT (TCP from loopback: trust; socket: peer)"
    # A dev machine: trust for TCP connections (Debian only listens on localhost).
    in_clean_fds pg_createcluster -p "$PG_PORT" "$ver" "$name" -- --auth-local=peer --auth-host=trust >/dev/null
    PG_HOW="created cluster $ver/$name and started it"
  else
    local status
    read -r ver name status <<<"$cluster"
    case "$status" in
      online*) die "cluster $ver/$name is running but $PG_HOST:$PG_PORT does not answer (check listen_addresses in /etc/postgresql/$ver/$name/postgresql.conf)" ;;
    esac
    log "starting PostgreSQL cluster $ver/$name on port $PG_PORT"
    PG_HOW="started cluster $ver/$name"
  fi
  in_clean_fds pg_ctlcluster --skip-systemctl-redirect "$ver" "$name" start
  echo "$ver $name" >"$RUN_DIR/postgres.started"
  wait_until "PostgreSQL on $PG_HOST:$PG_PORT" 30 pg_answers ||
    die "PostgreSQL did not come up; see /var/log/postgresql/postgresql-$ver-$name.log"
}

# pg_super ARGS...: psql as the postgres superuser. TCP with trust first
# (works on our machines), else the Unix socket as the postgres OS user.
pg_super() {
  if [ -z "${PG_SUPER_MODE:-}" ]; then
    if PGCONNECT_TIMEOUT=5 psql -w -X -q -h "$PG_HOST" -p "$PG_PORT" -U postgres -d postgres -Atc 'select 1' >/dev/null 2>&1; then
      PG_SUPER_MODE=tcp
    elif [ "$(id -u)" -eq 0 ] && runuser -u postgres -- psql -w -X -q -p "$PG_PORT" -d postgres -Atc 'select 1' >/dev/null 2>&1; then
      PG_SUPER_MODE=socket
    else
      die "cannot connect to PostgreSQL as superuser 'postgres' (tried TCP $PG_HOST:$PG_PORT and the socket as OS user postgres)"
    fi
  fi
  if [ "$PG_SUPER_MODE" = tcp ]; then
    psql -w -X -q -v ON_ERROR_STOP=1 -h "$PG_HOST" -p "$PG_PORT" -U postgres -d postgres "$@"
  else
    runuser -u postgres -- psql -w -X -q -v ON_ERROR_STOP=1 -p "$PG_PORT" -d postgres "$@"
  fi
}

# Role with LOGIN CREATEDB (tests create throw-away databases) and its database.
pg_ensure_role_and_db() {
  pg_super -v role="$PG_USER" -v db="$PG_DB" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN CREATEDB', :'role')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'role') \gexec
SELECT format('ALTER ROLE %I LOGIN CREATEDB', :'role')
 WHERE EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'role' AND NOT (rolcanlogin AND rolcreatedb)) \gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'db', :'role')
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'db') \gexec
SQL
}

app_can_connect() {
  PGCONNECT_TIMEOUT=5 psql -w -X -q "$PAPERCHART_DATABASE_URL" -Atc 'select 1' >/dev/null 2>&1
}

# A cluster made by the Debian package (apt install postgresql) asks for a
# password on TCP. Our URL has none, so on a local cluster let the app role in
# from loopback without one. Touches pg_hba.conf only if the app cannot connect.
pg_allow_app_role() {
  app_can_connect && return 0
  is_loopback "$PG_HOST" || die "cannot connect with PAPERCHART_DATABASE_URL (remote server: fix its auth or put a password in the URL)"
  local hba marker="# paperchart dev (deploy/setup.sh): app role from loopback without password"
  hba="$(pg_super -Atc 'show hba_file')"
  if ! grep -qF "$marker" "$hba"; then
    log "allowing role $PG_USER to connect from loopback without a password ($hba)"
    local tmp
    tmp="$(mktemp)"
    {
      echo "$marker"
      printf 'host\tall\t%s\t127.0.0.1/32\ttrust\n' "$PG_USER"
      printf 'host\tall\t%s\t::1/128\ttrust\n' "$PG_USER"
      cat "$hba"
    } >"$tmp"
    cat "$tmp" >"$hba" # keep the file's owner and mode
    rm -f "$tmp"
    pg_super -Atc 'select pg_reload_conf()' >/dev/null
    sleep 1
  fi
  app_can_connect || die "still cannot connect with PAPERCHART_DATABASE_URL=$PAPERCHART_DATABASE_URL"
}

setup_postgres() {
  parse_database_url
  PG_HOW=found
  if ! pg_answers; then
    is_loopback "$PG_HOST" || die "nothing answers at PostgreSQL $PG_HOST:$PG_PORT (not local, so not starting one)"
    [ "$(id -u)" -eq 0 ] || die "PostgreSQL is not running and starting it needs root"
    pg_start_local
  fi
  if is_loopback "$PG_HOST"; then
    pg_ensure_role_and_db
    pg_allow_app_role
  else
    app_can_connect || die "cannot connect with PAPERCHART_DATABASE_URL (remote; create role/db there yourself)"
  fi
  summary postgres "$PG_HOW at $PG_HOST:$PG_PORT (role $PG_USER, database $PG_DB)"
}

# ---------------------------------------------------------------------------
# 5. S3 (versitygw)
# ---------------------------------------------------------------------------
s3_answers() { [ "$(http_code "$S3_SCHEME://$S3_HOST:$S3_PORT/")" != 000 ]; }

# HTTP status of a signed ListBuckets with our credentials (200: usable).
# curl signs SigV4 itself; the credentials go through stdin, not the command line.
s3_list_code() {
  local empty_sha=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
  printf 'user = "%s:%s"\n' "$PAPERCHART_S3_ACCESS_KEY" "$PAPERCHART_S3_SECRET_KEY" |
    curl -K - -s -o /dev/null -w '%{http_code}' --connect-timeout 2 --max-time 5 \
      --aws-sigv4 "aws:amz:us-east-1:s3" -H "x-amz-content-sha256: $empty_sha" \
      "$S3_SCHEME://$S3_HOST:$S3_PORT/" 2>/dev/null || true
}

# versitygw processes serving our port whose data folder is gone: left over by
# an earlier setup in a checkout that was deleted or re-cloned (CI clones afresh).
# They still answer, but store objects in a deleted directory.
stale_versitygw_pids() {
  local dir pid data
  local -a argv
  for dir in /proc/[0-9]*; do
    pid="${dir#/proc/}"
    [ -r "$dir/cmdline" ] || continue
    mapfile -d '' -t argv <"$dir/cmdline" 2>/dev/null || continue
    if [ "${#argv[@]}" -lt 3 ] || [ "${argv[0]##*/}" != versitygw ]; then continue; fi
    [[ " ${argv[*]} " == *" --port $S3_HOST:$S3_PORT "* ]] || continue
    data="${argv[-1]}" # the posix backend's root folder
    if [ ! -d "$data" ] || holds_deleted "$dir" "$data"; then
      echo "$pid"
    fi
  done
}

# holds_deleted /proc/PID PATH: the process has PATH open, but PATH was deleted
# (a new directory may since exist under the same name).
holds_deleted() {
  local fd
  for fd in "$1"/fd/*; do
    [ "$(readlink "$fd" 2>/dev/null)" = "$2 (deleted)" ] && return 0
  done
  return 1
}

kill_stale_versitygw() {
  local pid i
  for pid in $(stale_versitygw_pids); do
    warn "stopping versitygw pid $pid on $S3_HOST:$S3_PORT: its data folder was deleted (left over from an old checkout)"
    kill "$pid" 2>/dev/null || true
    for ((i = 0; i < 10; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
}

start_versitygw() {
  local pidfile="$RUN_DIR/versitygw.pid" logfile="$LOG_DIR/versitygw.log"
  if ! pid_alive "$pidfile" versitygw; then
    log "starting versitygw on $S3_HOST:$S3_PORT (data in var/s3, log var/log/versitygw.log)"
    # Detached (setsid nohup, see spawn_detached): it outlives this script, make and the CI step.
    # --versioning-dir gives real versioning, which S3 Object Lock relies on;
    # object lock itself needs no flag (buckets must be created with it enabled).
    # --quiet: no line per request in the log.
    spawn_detached "$logfile" "$pidfile" \
      env ROOT_ACCESS_KEY="$PAPERCHART_S3_ACCESS_KEY" ROOT_SECRET_KEY="$PAPERCHART_S3_SECRET_KEY" \
      "$VERSITYGW" --port "$S3_HOST:$S3_PORT" --quiet \
        --iam-dir "$VAR/s3/iam" \
        posix --versioning-dir "$VAR/s3/versions" "$VAR/s3/data"
  fi
  local i
  for ((i = 0; i < 30; i++)); do
    s3_answers && return 0
    pid_alive "$pidfile" versitygw || break
    sleep 1
  done
  echo "---- last lines of $logfile ----" >&2
  tail -n 20 "$logfile" >&2 || true
  die "versitygw did not come up on $S3_HOST:$S3_PORT"
}

setup_s3() {
  split_hostport "$PAPERCHART_S3_ENDPOINT" 7070
  S3_HOST="$HP_HOST" S3_PORT="$HP_PORT" S3_SCHEME=http
  case "${PAPERCHART_S3_TLS:-}" in 1|t|T|true|TRUE|True) S3_SCHEME=https ;; esac
  [ "$S3_SCHEME" = https ] || kill_stale_versitygw
  if s3_answers; then
    local code
    code="$(s3_list_code)"
    [ "$code" = 200 ] || die "S3 at $S3_SCHEME://$S3_HOST:$S3_PORT answers, but a signed ListBuckets with PAPERCHART_S3_ACCESS_KEY/SECRET_KEY gets HTTP $code (wrong credentials, or not an S3 server?)"
    if pid_alive "$RUN_DIR/versitygw.pid" versitygw; then
      summary s3 "versitygw already running at $S3_HOST:$S3_PORT (pid $(cat "$RUN_DIR/versitygw.pid"))"
    else
      summary s3 "found at $S3_HOST:$S3_PORT"
    fi
    return
  fi
  is_loopback "$S3_HOST" || die "nothing answers at S3 endpoint $PAPERCHART_S3_ENDPOINT (not local, so not starting one)"
  [ "$S3_SCHEME" = http ] || die "nothing answers at https://$PAPERCHART_S3_ENDPOINT; the local versitygw speaks plain HTTP (unset PAPERCHART_S3_TLS)"
  start_versitygw
  summary s3 "started versitygw at $S3_HOST:$S3_PORT (pid $(cat "$RUN_DIR/versitygw.pid"))"
}

# ---------------------------------------------------------------------------
# 6. var/paperchart.env
# ---------------------------------------------------------------------------
shquote() { printf "'%s'" "${1//\'/\'\\\'\'}"; }

ENV_VARS=(PAPERCHART_DATABASE_URL PAPERCHART_REDIS_ADDR PAPERCHART_S3_ENDPOINT
          PAPERCHART_S3_ACCESS_KEY PAPERCHART_S3_SECRET_KEY PAPERCHART_S3_BUCKET
          PAPERCHART_DROP PAPERCHART_HTTP_ADDR OMP_THREAD_LIMIT)

write_env_file() {
  local tmp="$ENV_FILE.tmp" v
  {
    echo "# Written by deploy/setup.sh on $(date -Is). Source it: . var/paperchart.env"
    echo "# Re-run setup (make setup) instead of editing; export overrides before running it."
    for v in "${ENV_VARS[@]}"; do
      echo "export $v=$(shquote "${!v}")"
    done
    # Any other PAPERCHART_* setting (log level, concurrency, ...) exported when
    # setup ran is kept too, so `make test` and `make run` see it.
    for v in $(compgen -e | grep '^PAPERCHART_' | sort); do
      case " ${ENV_VARS[*]} PAPERCHART_PG_CLUSTER " in *" $v "*) continue ;; esac
      echo "export $v=$(shquote "${!v}")"
    done
  } >"$tmp"
  chmod 600 "$tmp" # it holds the S3 secret
  mv -f "$tmp" "$ENV_FILE"
  summary env "$ENV_FILE"
}

print_summary() {
  log "paperchart dev environment ready (${SECONDS}s)"
  local line
  for line in "${SUMMARY[@]}"; do info "$line"; done
  info "$(printf '%-11s %s' drop "$(drop_paths | paste -sd ' ')")"
}

# ---------------------------------------------------------------------------
# 7. npm packages for the FHIR client test: fhir-kit-client and the FHIR R4
#    JSON schema, pinned by fhir/testdata/client/package-lock.json
# ---------------------------------------------------------------------------
install_node_packages() {
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    log "installing nodejs and npm (the FHIR client test)"
    [ "$(id -u)" -eq 0 ] || die "installing packages needs root (run: sudo bash deploy/setup.sh)"
    export DEBIAN_FRONTEND=noninteractive
    in_clean_fds apt-get install -y -q -o Dpkg::Use-Pty=0 nodejs npm
  fi
  local dir="$REPO/fhir/testdata/client"
  if [ -f "$dir/node_modules/.package-lock.json" ] && ! [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    summary npm "fhir/testdata/client up to date"
    return
  fi
  log "installing the FHIR client test's npm packages (npm ci)"
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  summary npm "installed fhir/testdata/client packages"
}

main() {
  load_config
  make_dirs
  take_lock
  install_packages
  install_node_packages
  install_versitygw
  setup_redis
  setup_postgres
  setup_s3
  write_env_file
  print_summary
}

main "$@"
