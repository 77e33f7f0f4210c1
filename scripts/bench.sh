#!/usr/bin/env bash
# `make bench-NAME`: starts throwaway PostgreSQL and Redis (unless DATABASE_URL /
# CELERY_BROKER_URL are set), migrates, collects the static files (pages render with the
# production manifest storage, DEBUG off), runs bench/bench_NAME.py, stops what it started.
# The benchmark prints, last, one JSON line of its figures.
# A benchmark that says NEEDS_WORKER = True gets a Celery worker on every queue; its main
# process's pid is in PORTAL_WORKER_PIDFILE (the memory figures read its processes in /proc).
# One that says NEEDS_REPLICA = True gets a streaming replica of the throwaway PostgreSQL
# (scripts/replica.sh, as `make test` has; unless DATABASE_REPLICA_URLS is given) in
# DATABASE_REPLICA_URLS.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd); cd "$ROOT"
t0=$SECONDS
NAME=$1; shift
source scripts/lib.sh
source scripts/replica.sh  # replica_up / replica_down
mkdir -p var
trap 'replica_down; stack_down' EXIT
ensure_os_packages
ensure_venv requirements-test.txt
ensure_node_modules
stack_up
export STATIC_ROOT=${STATIC_ROOT:-$STACK_DIR/static}
export DJANGO_SETTINGS_MODULE=portal.settings DEBUG=False SECURE_SSL_REDIRECT=False
export SECRET_KEY=${SECRET_KEY:-bench-secret-key-not-for-production-$(date +%s)-xxxxxxxxxxxx}
"$VENV/bin/python" manage.py migrate --noinput -v0 >&2
"$VENV/bin/python" manage.py collectstatic --noinput -v0 >&2
if grep -q "NEEDS_WORKER = True" "bench/bench_$NAME.py"; then
  start_worker "" >&2
  export PORTAL_WORKER_PIDFILE="$STACK_DIR/worker.pid"
fi
if grep -q "NEEDS_REPLICA = True" "bench/bench_$NAME.py"; then replica_up >&2; fi
"$VENV/bin/python" "bench/bench_$NAME.py" "$@"
