# A streaming replica of the test database server for `make test` (sourced by scripts/test.sh).
# replica_up: when DATABASE_REPLICA_URLS is not given, takes a base backup of the server named by
# DATABASE_URL (`pg_basebackup -R`, Debian's PostgreSQL 15, as the postgres user, the way
# scripts/lib.sh starts the primary), starts it as a hot standby on loopback and exports
# DATABASE_REPLICA_URLS for pytest (portal/replicas.py; tests/test_replicas.py reads from it).
# replica_down stops it; callers run it from their EXIT trap before stack_down.

REPLICA_DIR=""

replica_up() {
  [ -n "${DATABASE_REPLICA_URLS:-}" ] && return 0
  case "${DATABASE_URL:-}" in postgres*) ;; *) return 0 ;; esac
  local port; port=$(free_port)
  step "streaming replica on 127.0.0.1:$port (pg_basebackup -R)"
  REPLICA_DIR=$(mktemp -d /tmp/portal-replica.XXXXXX)
  chmod 755 "$REPLICA_DIR"; chown postgres:postgres "$REPLICA_DIR"
  # the URL's role must be allowed to replicate (the throwaway primary's app role is a superuser)
  runuser -u postgres -- "$PGBIN/pg_basebackup" -d "$DATABASE_URL" -D "$REPLICA_DIR/data" -R -X stream \
    --checkpoint=fast --no-sync >"$REPLICA_DIR/basebackup.log" 2>&1 || { cat "$REPLICA_DIR/basebackup.log" >&2; return 1; }
  runuser -u postgres -- "$PGBIN/pg_ctl" -D "$REPLICA_DIR/data" -l "$REPLICA_DIR/server.log" -w -t 60 \
    -o "-h 127.0.0.1 -p $port -k $REPLICA_DIR -c hot_standby=on -c max_connections=200 -c fsync=off" start >/dev/null \
    || { cat "$REPLICA_DIR/server.log" >&2; return 1; }
  export DATABASE_REPLICA_URLS="${DATABASE_URL%@*}@127.0.0.1:$port/${DATABASE_URL##*/}"
  export PORTAL_REPLICA_DATA="$REPLICA_DIR/data" PORTAL_REPLICA_PORT="$port"
}

replica_down() {
  [ -n "$REPLICA_DIR" ] || return 0
  [ -s "$REPLICA_DIR/data/postmaster.pid" ] && runuser -u postgres -- "$PGBIN/pg_ctl" -D "$REPLICA_DIR/data" stop -m fast >/dev/null 2>&1
  rm -rf "$REPLICA_DIR"
  REPLICA_DIR=""
}
