# shellcheck shell=bash
# shellcheck disable=SC2034 # the variables set here are used by the scripts that source it
# Helpers shared by deploy/setup.sh, deploy/run.sh and deploy/stop.sh.
# Source it; it does nothing on its own except set REPO and the var/ paths.
#
# Layout of the git-ignored var/ folder (all service data of a dev machine):
#   var/bin/          versitygw binary (built by setup.sh)
#   var/run/          pid files and "started by us" markers (stop.sh --all reads them)
#   var/log/          logs of everything started from here
#   var/tmp/          scratch space (demo PDFs are written here, then mv'd into the drop folder)
#   var/redis/        Redis data when setup.sh had to start its own Redis
#   var/s3/           versitygw data, versions and IAM
#   var/drop/inbox/   the default drop folder
#   var/paperchart.env  the environment for the Go code, written by setup.sh

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VAR="$REPO/var"
RUN_DIR="$VAR/run"
LOG_DIR="$VAR/log"
ENV_FILE="$VAR/paperchart.env"

log()  { printf '==> %s\n' "$*"; }
info() { printf '    %s\n' "$*"; }
warn() { printf 'WARNING: %s\n' "$*" >&2; }
die()  { printf 'ERROR: %s\n' "$*" >&2; exit 1; }

# Go lives in /usr/local/go on our machines; make sure it is found.
ensure_go_on_path() {
  if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then
    export PATH="$PATH:/usr/local/go/bin"
  fi
  # `go install` needs a home for its module cache (CI may start without HOME).
  if [ -z "${HOME:-}" ]; then
    HOME="$(getent passwd "$(id -u)" | cut -d: -f6)"
    export HOME
  fi
}

# is_loopback HOST: true for 127.x.x.x, ::1 and localhost. We only ever start
# services ourselves for loopback addresses; a remote address must already answer.
is_loopback() {
  case "$1" in
    127.*|localhost|::1|'[::1]') return 0 ;;
    *) return 1 ;;
  esac
}

# split_hostport HOST:PORT DEFAULT_PORT -> sets HP_HOST and HP_PORT.
# Accepts an optional http:// or https:// prefix and [::1]:port.
split_hostport() {
  local s="${1#http://}"
  s="${s#https://}"
  s="${s%%/*}"
  if [[ "$s" =~ ^\[(.*)\]:([0-9]+)$ ]]; then
    HP_HOST="${BASH_REMATCH[1]}"; HP_PORT="${BASH_REMATCH[2]}"
  elif [[ "$s" =~ ^([^:]*):([0-9]+)$ ]]; then
    HP_HOST="${BASH_REMATCH[1]}"; HP_PORT="${BASH_REMATCH[2]}"
  else
    HP_HOST="$s"; HP_PORT="$2"
  fi
  [ -n "$HP_HOST" ] || HP_HOST=127.0.0.1
}

# drop_paths: the folders in PAPERCHART_DROP, one a line. The variable is a
# comma-separated list of PATH or NAME=PATH; relative paths are relative to the repo.
drop_paths() {
  local item path
  local -a items
  IFS=',' read -r -a items <<<"$PAPERCHART_DROP"
  for item in "${items[@]}"; do
    path="${item#*=}"
    [ -n "$path" ] || continue
    case "$path" in /*) ;; *) path="$REPO/$path" ;; esac
    printf '%s\n' "$path"
  done
}

# pid_alive PIDFILE [NAME]: true if the pid in PIDFILE is a live process whose
# command line mentions NAME (guards against a recycled pid after a reboot).
pid_alive() {
  local pidfile="$1" name="${2:-}" pid
  [ -s "$pidfile" ] || return 1
  pid="$(cat "$pidfile")"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  if [ -n "$name" ]; then
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$name" || return 1
  fi
  return 0
}

# stop_pidfile PIDFILE NAME TIMEOUT_SECONDS: SIGTERM the process (and its process
# group when it leads one, as everything we start with setsid does), wait up to
# TIMEOUT for it to exit, then SIGKILL. Removes the pid file. Silent no-op when
# the process is not running.
stop_pidfile() {
  local pidfile="$1" name="$2" timeout="$3" pid waited=0
  if ! pid_alive "$pidfile" "$name"; then
    rm -f "$pidfile"
    return 0
  fi
  pid="$(cat "$pidfile")"
  if [ "$(ps -o pgid= -p "$pid" 2>/dev/null | tr -d ' ')" = "$pid" ]; then
    kill -TERM -- "-$pid" 2>/dev/null || true
  else
    kill -TERM "$pid" 2>/dev/null || true
  fi
  while kill -0 "$pid" 2>/dev/null; do
    if [ "$waited" -ge "$timeout" ]; then
      warn "$name (pid $pid) did not stop within ${timeout}s; sending SIGKILL"
      kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
      break
    fi
    if [ "$waited" -gt 0 ] && [ $((waited % 10)) -eq 0 ]; then
      info "waiting for $name (pid $pid) to finish its work... ${waited}s"
    fi
    sleep 1
    waited=$((waited + 1))
  done
  rm -f "$pidfile"
  info "stopped $name (pid $pid)"
}

# close_fds: close every file descriptor above 2 of the current (sub)shell.
# Daemons we start must not inherit our fds: setup.sh's lock (fd 9) would stay
# held for as long as the daemon runs, and a pipe of a CI runner or terminal
# could keep it waiting for an EOF that never comes.
close_fds() {
  local fd
  for fd in /proc/"$BASHPID"/fd/*; do
    fd="${fd##*/}"
    if [ "$fd" -gt 2 ]; then eval "exec $fd>&-"; fi
  done
  return 0
}

# in_clean_fds CMD...: run CMD (which may leave a daemon behind) without our extra fds.
in_clean_fds() { (close_fds; exec "$@"); }

# spawn_detached LOGFILE PIDFILE CMD...: start CMD in the background in its own
# session (setsid: no controlling terminal, own process group, so it survives
# this script, make and a CI step; stop_pidfile can signal the whole group),
# stdin from /dev/null, stdout+stderr appended to LOGFILE, pid into PIDFILE.
spawn_detached() {
  local logfile="$1" pidfile="$2"
  shift 2
  (close_fds; exec setsid nohup "$@" >>"$logfile" 2>&1 </dev/null) &
  echo $! >"$pidfile"
}

# http_code URL: the HTTP status code, or 000 when nothing answers.
http_code() {
  curl -s -o /dev/null -w '%{http_code}' --connect-timeout 2 --max-time 5 "$1" 2>/dev/null || true
}
