import os
from contextlib import contextmanager

import pytest
from playwright.sync_api import expect

# Playwright's sync API runs an asyncio loop in the test thread, and Django then refuses ORM
# calls from that thread. Tests are single-threaded, so this is safe here.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    # Debian's Chromium: Playwright cannot download its own browser here
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(autouse=True, scope="session")
def _fast_password_hasher(django_test_environment):
    # PBKDF2 with 1,000,000 iterations costs ~0.5 s per login on 2 cores
    from django.conf import settings

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # the live server serves /static/ from the finders, which know no hashed manifest names
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def _plain_http_in_tests(settings):
    # production settings redirect to HTTPS; the live server in tests speaks plain HTTP
    settings.SECURE_SSL_REDIRECT = False
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False


@pytest.fixture(autouse=True)
def _api_rates_for_tests(settings):
    """Tests send hundreds of API requests a minute as one user: the default per-user and
    anonymous API rates are lifted (the throttle tests set their own; the eligibility
    preview keeps its rates, its tests clear the cache)."""
    rest = settings.REST_FRAMEWORK
    settings.REST_FRAMEWORK = {
        **rest,
        "DEFAULT_THROTTLE_RATES": {**rest["DEFAULT_THROTTLE_RATES"], "anon": "100000/min", "user": "100000/min"},
    }


# --- the shared worlds ----------------------------------------------------------------------------
# Builders are plain functions in each app's factories.py (importable by tests and benchmarks);
# the fixtures every app's tests share are here. The factories are imported inside the fixtures:
# the engine's tests load this conftest without Django (`-p no:django`), when no model can be
# imported at module level.


@pytest.fixture
def world():
    """The 泽州 world (products.factories.build_world): the task force and mechanisms of 泽州县,
    中国银行 and 建设银行 branches serving 泽州 with their administrators and account managers;
    `world.entity()` adds an enterprise with its user."""
    from products.factories import build_world

    return build_world()


@pytest.fixture
def catalogue():
    """The seed catalogue of products.catalog in the database: five banks, their branches and products."""
    from products.services import catalog_load

    catalog_load()


@pytest.fixture
def login():
    """Signs a browser page in through the login form, as `username` (factories' test password)."""
    from portal.factories import TEST_PASSWORD

    def sign_in(page, base: str, username: str):
        page.context.clear_cookies()  # whoever was signed in before
        page.goto(f"{base}/accounts/login/")
        page.get_by_label("用户名").fill(username)
        page.get_by_label("密码").fill(TEST_PASSWORD)
        page.get_by_role("button", name="登录").click()
        expect(page.get_by_test_id("current-user")).to_be_attached()

    return sign_in


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """`with committed(): <writes>` — at the end of the block the statistics index is synced
    as the writes' commit syncs it (reporting.facts.sync_after_commit; the test's transaction
    never commits). Their other after-commit work is dropped: e-mail tasks for notifications
    that the test's rollback removes would only flood the real worker."""
    from reporting.facts import IndexSync  # once Django is set up (conftest loads before the apps)

    @contextmanager
    def committed_block():
        with django_capture_on_commit_callbacks() as callbacks:
            yield
        for callback in callbacks:
            if isinstance(callback, IndexSync):
                callback()

    return committed_block


@pytest.fixture
def run_together():
    """`run_together(call, call, …)` starts every call at the same moment, each in its own
    thread with its own database connection, and returns one outcome per call, in order:
    ("ok", result), ("refused", the ApplicationError's Chinese message) or ("crashed", repr).
    For tests of two people acting on one record (real concurrent PostgreSQL transactions)."""
    import threading

    from django.db import connection

    from portal.errors import ApplicationError

    def together(*calls):
        barrier = threading.Barrier(len(calls))
        outcomes = [None] * len(calls)

        def worker(index, call):
            try:
                barrier.wait()
                outcomes[index] = ("ok", call())
            except ApplicationError as error:
                outcomes[index] = ("refused", error.message)
            except Exception as error:  # surfaced by the test's assertions
                outcomes[index] = ("crashed", repr(error))
            finally:
                connection.close()

        threads = [threading.Thread(target=worker, args=(i, c)) for i, c in enumerate(calls)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        return outcomes

    return together


@pytest.fixture
def artifacts_dir():
    from pathlib import Path

    path = Path(__file__).resolve().parent / "test-artifacts"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture(autouse=True, scope="session")
def _flush_retried_after_a_deadlock(django_test_environment):
    """A transactional test's teardown empties every table in one TRUNCATE (Django's flush)
    while the suite's real Celery worker may still be running what the test's commits sent it
    (seen: `send_notification_email` reading a notification and its recipient). The TRUNCATE
    takes its exclusive locks table by table; the task, holding a share lock on one table it
    read, waits for the next one: PostgreSQL's deadlock detector then cancels one of the two.
    When it cancels the flush, the flush is run again once the task's transaction has ended
    (nothing of the cancelled TRUNCATE was applied); a cancelled task finds its notification
    gone on any retry, as after any flush."""
    import time

    from django.db import OperationalError
    from django.db.backends.postgresql.operations import DatabaseOperations

    plain = DatabaseOperations.execute_sql_flush

    def execute_sql_flush(self, sql_list):
        for attempt in range(5):
            try:
                return plain(self, sql_list)
            except OperationalError as error:
                if "deadlock detected" not in str(error) or attempt == 4:
                    raise
                time.sleep(0.2 * (attempt + 1))

    DatabaseOperations.execute_sql_flush = execute_sql_flush
    yield
    DatabaseOperations.execute_sql_flush = plain


@pytest.fixture(autouse=True)
def _baseline_data_after_flush(request):
    """Transactional tests flush every table, including rows that data migrations seeded
    (regions, industries, …); put them back so each test starts from a migrated database."""
    marker = request.node.get_closest_marker("django_db")
    transactional = bool(marker and marker.kwargs.get("transaction")) or "live_server" in request.fixturenames
    if not transactional:
        return
    request.getfixturevalue("transactional_db")
    from django.conf import settings
    from django.utils.module_loading import import_string

    for dotted in settings.PORTAL_BASELINE_LOADERS:
        import_string(dotted)()


_REAL_REPLICAS: dict[str, dict] = {}


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings):
    """The read-replica aliases (DATABASE_REPLICA_URLS, portal/replicas.py) name the primary's
    server during tests: with their TEST MIRROR they name its test database too, so the router
    reads them through `default` — routed pages in ordinary tests read the test's own
    transaction. The real replica's connection settings are kept for `real_replica_settings`."""
    from django.conf import settings

    primary = settings.DATABASES["default"]
    for alias, replica in settings.DATABASES.items():
        if alias.startswith("replica"):
            _REAL_REPLICAS[alias] = dict(replica)
            replica.update({key: primary.get(key) for key in ("HOST", "PORT", "USER", "PASSWORD")})


@pytest.fixture(scope="session")
def real_replica_settings(django_db_setup):
    """{alias: the connection settings of the real streaming replica `make test` started
    (scripts/replica.sh), naming its copy of the test database}."""
    from django.conf import settings

    name = settings.DATABASES["default"]["NAME"]
    return {alias: {**real, "NAME": name} for alias, real in _REAL_REPLICAS.items()}


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Baseline data is seeded by data migrations; with `--nomigrations` (quick local runs)
    load it here instead. Idempotent either way."""
    from django.conf import settings
    from django.utils.module_loading import import_string

    with django_db_blocker.unblock():
        for dotted in settings.PORTAL_BASELINE_LOADERS:
            import_string(dotted)()


@pytest.fixture(autouse=True)
def _no_csp_violations(request):
    """Every browser test also checks Chromium's console: the pages must satisfy the
    content security policy (no inline scripts or styles blocked)."""
    if "page" not in request.fixturenames:
        yield
        return
    page = request.getfixturevalue("page")
    violations: list[str] = []

    def on_console(message):
        text = message.text
        if "Content Security Policy" in text or "Refused to" in text:
            violations.append(text)

    page.on("console", on_console)
    yield
    assert not violations, "CSP violations in Chromium's console:\n" + "\n".join(violations)


# --- a scratch PostgreSQL database and manage.py in a subprocess (migration tests) ----------------


def _database_url(name: str) -> str:
    from django.conf import settings

    db = settings.DATABASES["default"]
    return f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{name}"


def _run_manage(env: dict, *args: str, timeout: float = 600) -> str:
    import subprocess
    import sys
    from pathlib import Path

    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=Path(__file__).resolve().parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, (
        f"manage.py {' '.join(args)}: {result.returncode}\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}"
    )
    return result.stdout


@pytest.fixture
def manage_py():
    """`manage_py(env, *args)`: runs manage.py in a new process with `env` (e.g. a scratch
    database's) and returns its output; a non-zero exit fails the test with the output."""
    return _run_manage


@pytest.fixture
def database_env():
    """`database_env(name=None)`: this environment pointing DATABASE_URL at database `name`
    (the test database by default)."""
    from django.db import connection

    def env(name: str | None = None) -> dict:
        return {**os.environ, "DATABASE_URL": _database_url(name or connection.settings_dict["NAME"])}

    return env


@pytest.fixture
def scratch_database(transactional_db, database_env):
    """A new, empty PostgreSQL database for the test (dropped after it): the environment for
    `manage_py` to migrate and fill it. Nothing it enqueues reaches the suite's worker."""
    import uuid

    from django.db import connection

    name = f"layout_move_{uuid.uuid4().hex[:10]}"
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    env = {
        **database_env(name),
        # nothing this database enqueues may reach the suite's worker (it serves the test database)
        "CELERY_BROKER_URL": "memory://",
        "CELERY_RESULT_BACKEND": "cache+memory://",
    }
    try:
        yield env
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
