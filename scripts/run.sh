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

# Each child runs in a process group of its own (setsid). A script's background jobs ignore
# SIGINT, so Ctrl-C reaches them only through cleanup: SIGTERM to each (the worker stops its
# pool and its beat itself: a warm shutdown lets a running task finish), up to 30 s, then
# SIGKILL to each group, the worker's pool processes included. Runs once, however the script ends.
PIDS=()
alive() { local pid; for pid in "${PIDS[@]}"; do kill -0 -- "-$pid" 2>/dev/null && return 0; done; return 1; }
cleanup() {
  trap - EXIT INT TERM
  [ ${#PIDS[@]} -gt 0 ] || return 0
  echo "正在停止 (web, celery)…"
  local pid deadline=$((SECONDS + 30))
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  while alive && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
  alive || { echo "已停止"; return 0; }
  echo "30 秒内未停止, 强制结束" >&2
  for pid in "${PIDS[@]}"; do kill -KILL -- "-$pid" 2>/dev/null || true; done
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
step "celery worker + beat (log: var/celery.log)"
# one worker for every queue (portal/queues.py); -B: the one beat, inside it
setsid "$VENV/bin/celery" -A portal worker -B -l info -c 2 -Q "$("$VENV/bin/python" portal/queues.py)" -s "$ROOT/var/celerybeat-schedule" >var/celery.log 2>&1 &
PIDS+=($!)
step "web: http://${HOST:-127.0.0.1}:${PORT:-8000}/ (Ctrl-C 停止)"
setsid "$VENV/bin/python" manage.py runserver --noreload "${HOST:-127.0.0.1}:${PORT:-8000}" &
PIDS+=($!)
# stops when either stops (then cleanup stops the other)
rc=0; wait -n "${PIDS[@]}" || rc=$?
exit $rc
