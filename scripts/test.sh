#!/usr/bin/env bash
# `make test`: fresh clone -> the whole suite on the real stack (PostgreSQL, PgBouncer in front
# of it, Redis, a real Celery worker on every queue, headless Debian Chromium). Stops everything it started, also on failure.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd); cd "$ROOT"
t0=$SECONDS
source scripts/lib.sh
source scripts/replica.sh  # the streaming replica: replica_up / replica_down
mkdir -p var test-artifacts
trap 'replica_down; stack_down' EXIT

ensure_os_packages
ensure_pgbouncer
ensure_venv requirements-test.txt
ensure_node_modules
stack_up
pooler_up
replica_up
export STATIC_ROOT=${STATIC_ROOT:-$STACK_DIR/static}
export DJANGO_SETTINGS_MODULE=portal.settings DEBUG=${DEBUG:-False} SECURE_SSL_REDIRECT=False
export SECRET_KEY=${SECRET_KEY:-test-secret-key-$(date +%s)-not-for-production-use-only-tests}
export CHROMIUM_PATH=${CHROMIUM_PATH:-/usr/bin/chromium}

step "lint and format (ruff: ruff.toml)"
"$VENV/bin/ruff" check --quiet . || { echo "ruff 报告了问题: 运行 .venv/bin/ruff check . 查看" >&2; exit 1; }
"$VENV/bin/ruff" format --check --quiet . || { echo "代码格式不一致: 运行 .venv/bin/ruff format . 统一格式" >&2; exit 1; }

step "layers (import-linter: .importlinter)"
"$VENV/bin/lint-imports" --no-cache >"$ROOT/var/lint-imports.log" 2>&1 || { cat "$ROOT/var/lint-imports.log" >&2; echo "应用分层被破坏: 见上方 import-linter 的报告 (.importlinter)" >&2; exit 1; }

step "django checks + migrations"
"$VENV/bin/python" manage.py check
if [ -z "${SKIP_MIGRATION_CHECK:-}" ]; then "$VENV/bin/python" manage.py makemigrations --check --dry-run >/dev/null || { echo "缺少迁移文件: 运行 makemigrations" >&2; exit 1; }; fi
"$VENV/bin/python" manage.py collectstatic --noinput -v0

DBNAME=${DATABASE_URL##*/}; DBNAME=${DBNAME%%\?*}
start_worker "test_$DBNAME"

step "pytest"
set +e
"$VENV/bin/pytest" -p no:cacheprovider --create-db "$@"
rc=$?
set -e
if [ $rc -eq 5 ]; then echo "pytest collected no tests: failing" >&2; rc=1; fi
if [ $rc -ne 0 ]; then echo "--- celery worker log (tail)"; tail -40 "$STACK_DIR/worker.log" || true; fi
step "done rc=$rc"
exit $rc
