# Shared steps of `make run`, `make test` and `make bench` (sourced, not executed).
# Idempotent: each step is skipped when already done. Servers started here are stopped
# by stack_down, which the callers run from an EXIT trap.

ROOT=${ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
PY=${PYTHON:-python3}
VENV=$ROOT/.venv
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
t0=${t0:-$SECONDS}
step() { echo "== [$((SECONDS - t0))s] $*"; }

free_port() {
  "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# apt packages the full stack needs: PostgreSQL, Redis, Chromium and CJK fonts for the browser tests
ensure_os_packages() {
  local need=()
  [ -x "$PGBIN/initdb" ] || need+=(postgresql postgresql-contrib)
  command -v redis-server >/dev/null || need+=(redis-server)
  [ -x /usr/bin/chromium ] || need+=(chromium)
  fc-list :lang=zh 2>/dev/null | grep -q . || need+=(fonts-noto-cjk)
  command -v npm >/dev/null || need+=(nodejs npm)
  # the print test of the government forms: LibreOffice prints the xlsx, poppler reads the PDF
  command -v soffice >/dev/null || need+=(libreoffice-calc-nogui)
  command -v pdftotext >/dev/null || need+=(poppler-utils)
  if [ ${#need[@]} -gt 0 ]; then
    step "apt-get install ${need[*]}"
    if [ "$(id -u)" -ne 0 ]; then echo "需要以 root 身份安装: ${need[*]}" >&2; return 1; fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null
    apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null
  fi
}

# $1: requirements file to install into .venv (re-installed only when it changed)
ensure_venv() {
  local req=${1:-requirements.txt}
  [ -x "$VENV/bin/python" ] || { step "python venv"; "$PY" -m venv "$VENV"; }
  local stamp="$VENV/.installed-$(basename "$req")"
  if ! cat "$ROOT/$req" "$ROOT/requirements.txt" | cmp -s - "$stamp"; then
    step "pip install -r $req"
    # this machine's pip.conf names local index folders that may be absent: noisy, harmless
    "$VENV/bin/pip" install -q -r "$ROOT/$req" >"$ROOT/var/pip.log" 2>&1 || { cat "$ROOT/var/pip.log"; return 1; }
    cat "$ROOT/$req" "$ROOT/requirements.txt" >"$stamp"
  fi
}

# JavaScript/CSS libraries from the npm registry, served as local static files (no CDN)
ensure_node_modules() {
  if ! cmp -s "$ROOT/package-lock.json" "$ROOT/node_modules/.package-lock.json.installed"; then
    step "npm ci"
    (cd "$ROOT" && npm ci --no-audit --no-fund --loglevel=error)
    cp "$ROOT/package-lock.json" "$ROOT/node_modules/.package-lock.json.installed"
  fi
}

# PgBouncer (Debian's package) for `make test`: the tests that run through it need it; `make run`
# does not. A clear message when it cannot be installed.
PGBOUNCER=${PGBOUNCER:-/usr/sbin/pgbouncer}
ensure_pgbouncer() {
  [ -x "$PGBOUNCER" ] && return 0
  step "apt-get install pgbouncer"
  if [ "$(id -u)" -eq 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    { apt-get update -q && apt-get install -y -q --no-install-recommends pgbouncer; } >"$ROOT/var/apt-pgbouncer.log" 2>&1 \
      || cat "$ROOT/var/apt-pgbouncer.log" >&2
  fi
  [ -x "$PGBOUNCER" ] && return 0
  echo "无法安装 PgBouncer (Debian 软件包 pgbouncer): 请以 root 身份运行 apt-get install -y pgbouncer," \
    "或设置 PGBOUNCER=<pgbouncer 可执行文件的路径>" >&2
  return 1
}

STACK_DIR=""
STACK_PIDS=()

# PostgreSQL and Redis: the ones named by DATABASE_URL / CELERY_BROKER_URL when set,
# otherwise throwaway servers on loopback in a temporary folder.
stack_up() {
  STACK_DIR=$(mktemp -d /tmp/portal-stack.XXXXXX)
  chmod 755 "$STACK_DIR"   # the postgres user must traverse it
  if [ -z "${DATABASE_URL:-}" ]; then
    local pgport; pgport=$(free_port)
    step "postgres on 127.0.0.1:$pgport"
    mkdir -p "$STACK_DIR/pg"; chown postgres:postgres "$STACK_DIR/pg"
    # initdb and postgres refuse to run as root: run them as the postgres user
    runuser -u postgres -- "$PGBIN/initdb" -D "$STACK_DIR/pg/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 --no-sync >/dev/null
    runuser -u postgres -- "$PGBIN/pg_ctl" -D "$STACK_DIR/pg/data" -l "$STACK_DIR/pg/server.log" -w -t 30 \
      -o "-h 127.0.0.1 -p $pgport -k $STACK_DIR/pg -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" start >/dev/null
    "$PGBIN/psql" -h 127.0.0.1 -p "$pgport" -U postgres -d postgres -qAt -v ON_ERROR_STOP=1 \
      -c "CREATE ROLE app LOGIN PASSWORD 'app' CREATEDB SUPERUSER" -c "CREATE DATABASE app OWNER app" >/dev/null
    export DATABASE_URL="postgres://app:app@127.0.0.1:$pgport/app"
    export PORTAL_PG_DATA="$STACK_DIR/pg/data" PORTAL_PG_PORT="$pgport"
  fi
  if [ -z "${CELERY_BROKER_URL:-}" ]; then
    local rport; rport=$(free_port)
    step "redis on 127.0.0.1:$rport"
    redis-server --bind 127.0.0.1 --port "$rport" --dir "$STACK_DIR" --save '' --appendonly no \
      --daemonize yes --pidfile "$STACK_DIR/redis.pid" --logfile "$STACK_DIR/redis.log"
    for _ in $(seq 50); do redis-cli -p "$rport" ping 2>/dev/null | grep -q PONG && break; sleep 0.1; done
    export CELERY_BROKER_URL="redis://127.0.0.1:$rport/0" CELERY_RESULT_BACKEND="redis://127.0.0.1:$rport/1"
    export PORTAL_REDIS_PORT="$rport"
  fi
}

# PgBouncer in transaction pooling mode on a free loopback port, in front of DATABASE_URL's
# server (any database name: test_app too). The suite connects directly; the tests that run
# through the pooler read PORTAL_PGBOUNCER_URL (tests/test_pgbouncer.py).
pooler_up() {
  local port dir parts host dbport user password dbname
  port=$(free_port); dir="$STACK_DIR/pgbouncer"
  step "pgbouncer (transaction pooling) on 127.0.0.1:$port"
  parts=$("$PY" -c 'import sys; from urllib.parse import urlsplit, unquote; u = urlsplit(sys.argv[1])
print(u.hostname or "127.0.0.1", u.port or 5432, unquote(u.username or ""), unquote(u.password or ""), u.path.lstrip("/"), sep="|")' "$DATABASE_URL")
  IFS='|' read -r host dbport user password dbname <<<"$parts"
  mkdir -p "$dir"
  {
    echo "[databases]"
    echo "* = host=$host port=$dbport"
    echo "[pgbouncer]"
    echo "listen_addr = 127.0.0.1"
    echo "listen_port = $port"
    echo "unix_socket_dir ="
    echo "auth_type = md5"
    echo "auth_file = $dir/userlist.txt"
    echo "pool_mode = transaction"
    echo "max_client_conn = 200"
    echo "default_pool_size = 20"
    echo "server_reset_query ="
    echo "ignore_startup_parameters = extra_float_digits,options"
    echo "admin_users = $user"
    echo "logfile = $dir/pgbouncer.log"
    echo "pidfile = $dir/pgbouncer.pid"
  } >"$dir/pgbouncer.ini"
  printf '"%s" "%s"\n' "$user" "$password" >"$dir/userlist.txt"
  chmod 600 "$dir/userlist.txt"
  # pgbouncer refuses to run as root: as root it runs as the postgres user
  if [ "$(id -u)" -eq 0 ]; then
    chown -R postgres:postgres "$dir"
    runuser -u postgres -- "$PGBOUNCER" -d -q "$dir/pgbouncer.ini"
  else
    "$PGBOUNCER" -d -q "$dir/pgbouncer.ini"
  fi
  for _ in $(seq 50); do "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$port" && break; sleep 0.1; done
  if ! "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$port"; then
    cat "$dir/pgbouncer.log" >&2; echo "PgBouncer 未能启动 (配置: $dir/pgbouncer.ini)" >&2; return 1
  fi
  export PORTAL_PGBOUNCER_URL="postgres://$user:$password@127.0.0.1:$port/$dbname"
}

# $1: database name the worker uses (pytest-django's test_<name> for the test suite)
start_worker() {
  local db_url=$DATABASE_URL
  [ -n "${1:-}" ] && db_url="${DATABASE_URL%/*}/$1"
  step "celery worker (database ${db_url##*/})"
  # every queue of portal/queues.py: the suite's tasks go to their own queues
  DATABASE_URL=$db_url "$VENV/bin/celery" -A portal worker -l info -c 2 -n "portal-test-$$@%h" \
    -Q "$("$VENV/bin/python" "$ROOT/portal/queues.py")" --without-mingle --without-gossip --without-heartbeat >"$STACK_DIR/worker.log" 2>&1 &
  STACK_PIDS+=($!)
  echo "$!" >"$STACK_DIR/worker.pid"
  for _ in $(seq 150); do grep -q ' ready\.' "$STACK_DIR/worker.log" && return 0; sleep 0.2; done
  cat "$STACK_DIR/worker.log"; return 1
}

stack_down() {
  set +e
  for pid in "${STACK_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  for pid in "${STACK_PIDS[@]}"; do wait "$pid" 2>/dev/null; done
  if [ -n "$STACK_DIR" ]; then
    [ -s "$STACK_DIR/pgbouncer/pgbouncer.pid" ] && kill -TERM "$(cat "$STACK_DIR/pgbouncer/pgbouncer.pid")" 2>/dev/null
    [ -s "$STACK_DIR/pg/data/postmaster.pid" ] && runuser -u postgres -- "$PGBIN/pg_ctl" -D "$STACK_DIR/pg/data" stop -m fast >/dev/null 2>&1
    [ -s "$STACK_DIR/redis.pid" ] && kill "$(cat "$STACK_DIR/redis.pid")" 2>/dev/null
    rm -rf "$STACK_DIR"
  fi
}
