#!/bin/bash
# The streaming replica of docker-compose.yml (service postgres-replica), on the postgres image.
# On an empty data directory: a base backup of the primary with `pg_basebackup -R` (it writes
# standby.signal and primary_conninfo, so the server starts as a standby streaming from the
# primary) — the settings scripts/replica.sh uses for `make test`: -X stream, --checkpoint=fast.
# Then, every start: the server as a hot standby (read-only queries while it replays the WAL).
# max_connections is the primary's (a hot standby refuses to start with less than its primary).
set -euo pipefail
: "${PGDATA:=/var/lib/postgresql/data}"
: "${PRIMARY_HOST:=postgres}"
: "${PRIMARY_PORT:=5432}"
: "${POSTGRES_REPLICATION_USER:=replicator}"
: "${POSTGRES_REPLICATION_PASSWORD:?set POSTGRES_REPLICATION_PASSWORD}"

mkdir -p "$PGDATA"
chown postgres:postgres "$PGDATA"
chmod 700 "$PGDATA"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  # the primary's first start runs its init scripts on a server without TCP: wait until it listens
  until pg_isready -q -h "$PRIMARY_HOST" -p "$PRIMARY_PORT"; do sleep 1; done
  echo "replica: base backup of $PRIMARY_HOST:$PRIMARY_PORT into $PGDATA (pg_basebackup -R)"
  gosu postgres env PGPASSWORD="$POSTGRES_REPLICATION_PASSWORD" pg_basebackup \
    -h "$PRIMARY_HOST" -p "$PRIMARY_PORT" -U "$POSTGRES_REPLICATION_USER" \
    -D "$PGDATA" -R -X stream --checkpoint=fast --progress
fi
exec gosu postgres postgres -D "$PGDATA" -c hot_standby=on -c max_connections=200
