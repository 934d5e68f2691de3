#!/usr/bin/env bash
# deploy/backup.sh — back up paperchart's PostgreSQL database, and prove the
# backups restore. The object store is backed up by the S3 server itself
# (versioning, replication: README.md, Backups); this is the database's half.
#
#   bash deploy/backup.sh dump [DIR]     pg_dump (custom format) to DIR (default var/backups), checked
#                                        with pg_restore --list, with a .sha256; keeps the newest $KEEP (14)
#   bash deploy/backup.sh drill DUMP     restore DUMP into a scratch database beside the live one, check
#                                        its audit chain and count its rows, then drop the scratch database
#   bash deploy/backup.sh drill-rebuild  rebuild into a scratch database from the bucket's manifests
#                                        (paperchart rebuild --check: reads and inserts all, keeps nothing)
#
# The database and bucket come from the PAPERCHART_* variables (var/paperchart.env is read when it
# exists and PAPERCHART_DATABASE_URL is not set). The role needs CREATEDB for the drills.
# PAPERCHART_BIN is the paperchart binary (default bin/paperchart, built if missing).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [ -z "${PAPERCHART_DATABASE_URL:-}" ] && [ -f var/paperchart.env ]; then
  # shellcheck disable=SC1091
  . var/paperchart.env
fi
: "${PAPERCHART_DATABASE_URL:?set PAPERCHART_DATABASE_URL (or run deploy/setup.sh, which writes var/paperchart.env)}"
KEEP=${KEEP:-14}

die() { echo "backup.sh: $*" >&2; exit 1; }

paperchart() {
  local bin=${PAPERCHART_BIN:-bin/paperchart}
  if [ ! -x "$bin" ]; then
    go build -o "$bin" ./cmd/paperchart || die "cannot build $bin"
  fi
  "$bin" "$@"
}

# scratch_url NAME: the database URL with its database name replaced.
scratch_url() {
  local url=$PAPERCHART_DATABASE_URL base query
  base=${url%%\?*}
  query=${url#"$base"}
  echo "${base%/*}/$1$query"
}

# with_scratch CMD...: runs CMD with SCRATCH_URL naming a new empty database, dropped afterwards.
with_scratch() {
  local name
  name="paperchart_drill_$(date +%s)_$$"
  psql -v ON_ERROR_STOP=1 -q "$PAPERCHART_DATABASE_URL" -c "CREATE DATABASE $name" || die "cannot create the scratch database $name"
  SCRATCH_URL=$(scratch_url "$name")
  # shellcheck disable=SC2064
  trap "psql -q '$PAPERCHART_DATABASE_URL' -c 'DROP DATABASE IF EXISTS $name WITH (FORCE)' >/dev/null" EXIT
  "$@"
}

dump() {
  local dir=${1:-var/backups} stamp out
  mkdir -p "$dir"
  stamp=$(date -u +%Y%m%dT%H%M%SZ)
  out="$dir/paperchart-$stamp.dump"
  [ -e "$out" ] && out="$dir/paperchart-$stamp-$$.dump"
  # Written beside, checked, then renamed: a dump that exists under its name is whole.
  pg_dump --format=custom --no-owner --no-privileges --file="$out.part" "$PAPERCHART_DATABASE_URL" || die "pg_dump failed"
  pg_restore --list "$out.part" >/dev/null || die "the dump $out.part does not read back"
  (cd "$dir" && sha256sum "$(basename "$out").part" | sed 's/\.part$//' >"$(basename "$out").sha256")
  mv "$out.part" "$out"
  echo "dumped $out ($(stat -c %s "$out") bytes, sha256 $(cut -d' ' -f1 "$out.sha256"))"
  # Keep the newest $KEEP dumps.
  ls -1 "$dir"/paperchart-*.dump | sort -r | tail -n +$((KEEP + 1)) | while read -r old; do
    rm -f "$old" "$old.sha256"
    echo "removed $old (keeping $KEEP)"
  done
}

drill_restore() {
  local file=$1
  pg_restore --no-owner --no-privileges --exit-on-error --dbname="$SCRATCH_URL" "$file" || die "pg_restore of $file failed"
  echo "restored $file into a scratch database"
  paperchart migrate --database-url "$SCRATCH_URL" >/dev/null
  paperchart audit verify --database-url "$SCRATCH_URL" --anchors=false
  psql -At "$SCRATCH_URL" -c "SELECT 'rows: ' || (SELECT count(*) FROM batches) || ' batches, ' || (SELECT count(*) FROM documents)
    || ' documents, ' || (SELECT count(*) FROM patients) || ' patients, ' || (SELECT count(*) FROM users) || ' users, '
    || (SELECT count(*) FROM api_tokens) || ' tokens, ' || (SELECT count(*) FROM audit_log) || ' audit entries'"
  echo "drill passed: the dump restores and its audit chain is whole"
}

drill() {
  local file=${1:?usage: backup.sh drill DUMP}
  [ -f "$file" ] || die "no dump $file"
  if [ -f "$file.sha256" ]; then
    (cd "$(dirname "$file")" && sha256sum --check --quiet "$(basename "$file").sha256") || die "$file does not match its .sha256"
  fi
  with_scratch drill_restore "$file"
}

drill_rebuild_run() {
  paperchart rebuild --check --database-url "$SCRATCH_URL"
  echo "drill passed: the bucket's manifests rebuild"
}

case "${1:-}" in
  dump) shift; dump "$@" ;;
  drill) shift; drill "$@" ;;
  drill-rebuild) with_scratch drill_rebuild_run ;;
  *) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
