#!/bin/bash
# The primary of docker-compose.yml, prepared for streaming replication. The postgres image runs
# this once, from /docker-entrypoint-initdb.d/, when it initialises an empty data directory:
# - a role that may only replicate (REPLICATION, no superuser, no database of its own), with the
#   password of POSTGRES_REPLICATION_PASSWORD;
# - a pg_hba.conf entry letting it open replication connections from the compose network
#   (scram-sha-256, as the image's entry for ordinary connections).
# wal_level=replica, max_wal_senders and wal_keep_size are given on the server's command line
# (docker-compose.yml, service postgres), so they hold on every start, not only the first.
set -euo pipefail
: "${POSTGRES_REPLICATION_USER:=replicator}"
: "${POSTGRES_REPLICATION_PASSWORD:?set POSTGRES_REPLICATION_PASSWORD}"

psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v role="$POSTGRES_REPLICATION_USER" -v password="$POSTGRES_REPLICATION_PASSWORD" <<'SQL'
CREATE ROLE :"role" WITH LOGIN REPLICATION PASSWORD :'password';
SQL

echo "host replication $POSTGRES_REPLICATION_USER all scram-sha-256" >>"$PGDATA/pg_hba.conf"
