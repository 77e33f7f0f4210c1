# A streaming replica of the test database server for `make test` (sourced by scripts/test.sh).
# replica_up: when DATABASE_REPLICA_URLS is not given, takes a base backup of the server named by
# DATABASE_URL (`pg_basebackup -R`, Debian's PostgreSQL 15, as the postgres user, the way
# scripts/lib.sh starts the primary), starts it as a hot standby on loopback and exports
# DATABASE_REPLICA_URLS for pytest (portal/replicas.py; tests/test_replicas.py reads from it).
# replica_down stops it; callers run it from their EXIT trap before stack_down.
#
# The standby streams through a physical replication slot (pg_basebackup -C -S): the primary keeps
# every WAL segment the standby has not received, also across a restart of the primary
# (tests/test_faults.py stops and starts it under the running portal). Without the slot the
# restarted primary's checkpoint recycled the segment the standby was in the middle of ("requested
# WAL segment … has already been removed"), the standby never caught up again, and every replica
# test that ran after the fault test failed waiting for replay (CI, 2026-12-07). replica_down drops
# the slot; one left by a killed run is dropped by the next replica_up (inactive slots of this name).

REPLICA_DIR=""
REPLICA_SLOT=""

replica_up() {
  [ -n "${DATABASE_REPLICA_URLS:-}" ] && return 0
  case "${DATABASE_URL:-}" in postgres*) ;; *) return 0 ;; esac
  local port; port=$(free_port)
  step "streaming replica on 127.0.0.1:$port (pg_basebackup -R)"
  REPLICA_DIR=$(mktemp -d /tmp/portal-replica.XXXXXX)
  chmod 755 "$REPLICA_DIR"; chown postgres:postgres "$REPLICA_DIR"
  # the URL's role must be allowed to replicate (the throwaway primary's app role is a superuser)
  "$PGBIN/psql" "$DATABASE_URL" -qAt -c "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots
    WHERE slot_name LIKE 'portal_test_replica_%' AND NOT active" >/dev/null
  REPLICA_SLOT="portal_test_replica_$port"
  runuser -u postgres -- "$PGBIN/pg_basebackup" -d "$DATABASE_URL" -D "$REPLICA_DIR/data" -R -X stream \
    -C -S "$REPLICA_SLOT" --checkpoint=fast --no-sync >"$REPLICA_DIR/basebackup.log" 2>&1 \
    || { cat "$REPLICA_DIR/basebackup.log" >&2; return 1; }
  runuser -u postgres -- "$PGBIN/pg_ctl" -D "$REPLICA_DIR/data" -l "$REPLICA_DIR/server.log" -w -t 60 \
    -o "-h 127.0.0.1 -p $port -k $REPLICA_DIR -c hot_standby=on -c max_connections=200 -c fsync=off" start >/dev/null \
    || { cat "$REPLICA_DIR/server.log" >&2; return 1; }
  export DATABASE_REPLICA_URLS="${DATABASE_URL%@*}@127.0.0.1:$port/${DATABASE_URL##*/}"
  export PORTAL_REPLICA_DATA="$REPLICA_DIR/data" PORTAL_REPLICA_PORT="$port"
}

replica_down() {
  [ -n "$REPLICA_DIR" ] || return 0
  [ -s "$REPLICA_DIR/data/postmaster.pid" ] && runuser -u postgres -- "$PGBIN/pg_ctl" -D "$REPLICA_DIR/data" stop -m fast >/dev/null 2>&1
  # the primary would keep WAL for the slot forever (the throwaway primary goes anyway)
  [ -n "$REPLICA_SLOT" ] && "$PGBIN/psql" "$DATABASE_URL" -qAt -c "SELECT pg_drop_replication_slot('$REPLICA_SLOT')
    FROM pg_replication_slots WHERE slot_name = '$REPLICA_SLOT'" >/dev/null 2>&1
  rm -rf "$REPLICA_DIR"
  REPLICA_DIR=""
  REPLICA_SLOT=""
}
