#!/usr/bin/env bash
# `make run`: the portal on its embedded default (SQLite file, filesystem Celery broker),
# with demo data, web + Celery worker + beat, at http://127.0.0.1:8000. Keeps data between runs.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd); cd "$ROOT"
t0=$SECONDS
source scripts/lib.sh
mkdir -p var
unset DATABASE_URL CELERY_BROKER_URL CELERY_RESULT_BACKEND
# DEBUG off: the portal's own Chinese error pages (404, 403, 500, CSRF), never Django's English
# debug pages; plain HTTP on this workstation, so no HTTPS redirect and no Secure-only cookies
export DEBUG=${DEBUG:-False} SECURE_SSL_REDIRECT=${SECURE_SSL_REDIRECT:-False} SECURE_COOKIES=${SECURE_COOKIES:-False}
ensure_venv requirements.txt
ensure_node_modules
M="$VENV/bin/python manage.py"
step "migrate"; $M migrate --noinput -v0
step "load_demo"; $M load_demo
$M collectstatic --noinput -v0

PIDS=()
cleanup() { for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null; done; wait 2>/dev/null; }
trap cleanup EXIT INT TERM
step "celery worker + beat (log: var/celery.log)"
# one worker for every queue (portal/queues.py); -B: the one beat, inside it
"$VENV/bin/celery" -A portal worker -B -l info -c 2 -Q "$("$VENV/bin/python" portal/queues.py)" -s "$ROOT/var/celerybeat-schedule" >var/celery.log 2>&1 &
PIDS+=($!)
step "web: http://${HOST:-127.0.0.1}:${PORT:-8000}/ (Ctrl-C 停止)"
"$VENV/bin/python" manage.py runserver --noreload "${HOST:-127.0.0.1}:${PORT:-8000}" &
PIDS+=($!)
wait -n "${PIDS[@]}"
