#!/bin/sh
# Backups of W&B's MySQL database to an S3-compatible bucket.
#
#   mysql-backup.sh dump FILE        a consistent dump (one transaction), gzipped
#   mysql-backup.sh upload FILE      to s3://$BACKUP_BUCKET/$BACKUP_PREFIX<name of FILE>
#   mysql-backup.sh prune            keep the newest $BACKUP_RETENTION backups
#   mysql-backup.sh list             the backups, oldest first
#   mysql-backup.sh download NAME FILE
#   mysql-backup.sh restore FILE     into $MYSQL_DATABASE, refused when it has
#                                    tables unless BACKUP_FORCE=true
#
# dump and restore need the MySQL client (mysqldump, mysql) and read
# MYSQL_HOST, MYSQL_PORT, MYSQL_USER, MYSQL_PWD (the clients' own variable,
# never on a command line) and MYSQL_DATABASE. The others need curl 7.75 or
# later (its --aws-sigv4) and read S3_ENDPOINT (http(s)://host[:port]),
# S3_REGION, BACKUP_BUCKET, BACKUP_PREFIX, AWS_ACCESS_KEY_ID and
# AWS_SECRET_ACCESS_KEY. Names sort by time:
# wandb-mysql-20261202T031500Z.sql.gz.
set -eu

die() { echo "mysql-backup: $*" >&2; exit 1; }
need() { eval "[ -n \"\${$1:-}\" ]" || die "$1 is not set"; }

# A request to the bucket; the credentials go to curl on its stdin, so
# they are not in the process list either.
s3() { # method path [curl args...]
  method=$1 path=$2; shift 2
  need S3_ENDPOINT; need BACKUP_BUCKET; need AWS_ACCESS_KEY_ID; need AWS_SECRET_ACCESS_KEY
  printf 'user = "%s:%s"\n' "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" |
    curl --config - --silent --show-error --fail -X "$method" \
      --aws-sigv4 "aws:amz:${S3_REGION:-us-east-1}:s3" \
      -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" \
      "$@" "${S3_ENDPOINT%/}/$BACKUP_BUCKET/$path"
}

# The backups' object names under the prefix, oldest first (names sort by time).
names() {
  s3 GET "?list-type=2&prefix=${BACKUP_PREFIX:-}" |
    tr '<' '\n' | sed -n 's/^Key>//p' |
    sed "s|^${BACKUP_PREFIX:-}||" | grep '^wandb-mysql-.*\.sql\.gz$' | sort || true
}

case "${1:-}" in
dump)
  [ $# -eq 2 ] || die "usage: dump FILE"
  need MYSQL_HOST; need MYSQL_USER; need MYSQL_DATABASE
  # One transaction: a consistent view of InnoDB tables without locking
  # them; --quick streams rows instead of holding tables in memory.
  mysqldump --host="$MYSQL_HOST" --port="${MYSQL_PORT:-3306}" --user="$MYSQL_USER" \
    --single-transaction --quick --routines --triggers --no-tablespaces \
    --default-character-set=utf8mb4 "$MYSQL_DATABASE" | gzip >"$2.partial"
  mv "$2.partial" "$2"
  echo "dumped $MYSQL_DATABASE to $2 ($(wc -c <"$2") bytes)"
  ;;
upload)
  [ $# -eq 2 ] || die "usage: upload FILE"
  [ -s "$2" ] || die "$2 is missing or empty"
  s3 PUT "${BACKUP_PREFIX:-}$(basename "$2")" -T "$2" >/dev/null
  echo "uploaded $(basename "$2") to $BACKUP_BUCKET/${BACKUP_PREFIX:-}"
  ;;
prune)
  keep=${BACKUP_RETENTION:-7}
  case $keep in '' | *[!0-9]*) die "BACKUP_RETENTION must be a number, found $keep" ;; esac
  [ "$keep" -ge 1 ] || die "BACKUP_RETENTION must be 1 or more"
  all=$(names)
  count=$(printf '%s' "$all" | grep -c . || true)
  excess=$((count - keep))
  if [ "$excess" -gt 0 ]; then
    printf '%s\n' "$all" | head -n "$excess" | while read -r name; do
      s3 DELETE "${BACKUP_PREFIX:-}$name" >/dev/null
      echo "deleted $name (keeping the newest $keep)"
    done
  fi
  ;;
list)
  names
  ;;
download)
  [ $# -eq 3 ] || die "usage: download NAME FILE"
  s3 GET "${BACKUP_PREFIX:-}$2" -o "$3.partial"
  mv "$3.partial" "$3"
  echo "downloaded $2 to $3"
  ;;
restore)
  [ $# -eq 2 ] || die "usage: restore FILE"
  [ -s "$2" ] || die "$2 is missing or empty"
  need MYSQL_HOST; need MYSQL_USER; need MYSQL_DATABASE
  client() {
    mysql --host="$MYSQL_HOST" --port="${MYSQL_PORT:-3306}" --user="$MYSQL_USER" \
      --default-character-set=utf8mb4 "$@"
  }
  tables=$(client -N -B -e "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = '$MYSQL_DATABASE'")
  if [ "$tables" != 0 ] && [ "${BACKUP_FORCE:-false}" != true ]; then
    die "database $MYSQL_DATABASE has $tables tables: restoring would mix two databases; restore into an empty one, or set BACKUP_FORCE=true to overwrite the tables the backup has"
  fi
  gzip -dc "$2" | client "$MYSQL_DATABASE"
  echo "restored $(basename "$2") into $MYSQL_DATABASE"
  ;;
*)
  die "usage: mysql-backup.sh dump|upload|prune|list|download|restore ..."
  ;;
esac
