"""No Docker engine runs here, so the compose file is checked by reading it."""

import configparser
import re
import shlex
from pathlib import Path

import environ
import yaml

from portal.queues import ALL_QUEUES, QUEUE_GROUPS, TASK_QUEUES
from portal.replicas import ROUTED_TASKS

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SETTINGS_SOURCE = (ROOT / "portal" / "settings.py").read_text()


WORKERS = {f"worker-{group}": group for group in QUEUE_GROUPS}
PORTAL_SERVICES = ("web", "beat", *WORKERS)


def mounted_script(service: dict, target: str) -> str:
    """The text of the file of this repository that ``service`` mounts at ``target``."""
    for volume in service["volumes"]:
        source, _, rest = volume.partition(":")
        if rest.split(":")[0] == target:
            assert source.startswith("./"), volume
            return (ROOT / source).read_text()
    raise AssertionError(f"nothing mounted at {target}")


def words_of(command) -> list[str]:
    return shlex.split(command) if isinstance(command, str) else list(command)


def server_settings(words: list[str]) -> dict[str, str]:
    """The ``-c name=value`` settings of a postgres command line."""
    return dict(words[i + 1].split("=", 1) for i, word in enumerate(words) if word == "-c")


def consumer_of(queue: str) -> str:
    """The worker service whose -Q names ``queue``."""
    (name,) = [name for name, group in WORKERS.items() if queue in QUEUE_GROUPS[group]]
    return name


def test_the_services_exist_with_health_checks():
    services = COMPOSE["services"]
    assert set(services) == {"postgres", "postgres-replica", "pgbouncer", "redis", "web", "beat", *WORKERS}
    for name, service in services.items():
        assert "healthcheck" in service, name


def test_commands_run_gunicorn_with_collected_static_and_exactly_one_beat():
    services = COMPOSE["services"]
    web = services["web"]["command"]
    assert "gunicorn -c deploy/gunicorn.conf.py portal.wsgi:application" in web
    assert "collectstatic" in web and "migrate" in web
    assert services["beat"]["command"][:4] == ["celery", "-A", "portal", "beat"]
    assert services["beat"]["deploy"]["replicas"] == 1
    # beat stays exactly one: no other service runs a beat (celery beat, or a worker's -B)
    for name, service in services.items():
        command = service.get("command") or []
        words = command.split() if isinstance(command, str) else command
        if name != "beat":
            assert "beat" not in words and "-B" not in words and "--beat" not in words, name


def test_one_worker_service_per_queue_group_consuming_exactly_its_queues():
    # "docker-compose.yml gains ... one worker service per queue group with health checks"
    services = COMPOSE["services"]
    consumed = []
    for name, group in WORKERS.items():
        command = services[name]["command"]
        assert command[:4] == ["celery", "-A", "portal", "worker"], name
        queues = command[command.index("-Q") + 1].split(",")
        assert tuple(queues) == QUEUE_GROUPS[group], name
        consumed += queues
        # the health check pings this service's own node
        node = command[command.index("-n") + 1]
        assert node == f"{group}@%h"
        assert f"inspect ping -d {group}@$$HOSTNAME" in services[name]["healthcheck"]["test"][1], name
    # every queue of portal/queues.py is consumed by exactly one service
    assert sorted(consumed) == sorted(ALL_QUEUES)


def test_the_portal_reaches_postgresql_through_pgbouncer_in_transaction_mode():
    services = COMPOSE["services"]
    environment = services["web"]["environment"]
    assert environment["DATABASE_POOLER_URL"].startswith("postgres://portal:portal@pgbouncer:6432/")
    assert environment["DATABASE_URL"].startswith("postgres://portal:portal@postgres:5432/")
    for name in ("web", "beat", *WORKERS):
        assert services[name]["depends_on"]["pgbouncer"]["condition"] == "service_healthy", name
    # migrations go to PostgreSQL directly
    assert "DATABASE_POOLER_URL= python manage.py migrate" in services["web"]["command"]
    # the pooler: Debian's pgbouncer, in transaction mode, in front of the postgres service
    assert services["pgbouncer"]["build"]["context"] == "deploy/pgbouncer"
    ini = configparser.ConfigParser()
    ini.read(ROOT / "deploy" / "pgbouncer" / "pgbouncer.ini")
    assert ini["pgbouncer"]["pool_mode"] == "transaction"
    assert ini["pgbouncer"]["listen_port"] == "6432"
    assert "host=postgres port=5432" in ini["databases"]["portal"]
    assert "apt-get install" in (ROOT / "deploy" / "pgbouncer" / "Dockerfile").read_text()


def test_named_volume_keeps_the_database():
    assert "pgdata" in COMPOSE["volumes"]
    assert "pgdata:/var/lib/postgresql/data" in COMPOSE["services"]["postgres"]["volumes"]


def test_every_variable_the_settings_read_is_set_for_the_portal_services():
    # given the environment variables portal/settings.py reads without a default that suits production
    required = {"DATABASE_URL", "CELERY_BROKER_URL", "SECRET_KEY", "DEBUG", "ALLOWED_HOSTS", "EMAIL_URL"}
    read = set(re.findall(r'env(?:\.\w+)?\(\s*"([A-Z_]+)"', SETTINGS_SOURCE))
    assert required <= read
    # then web, the workers and beat all get them
    for name in ("web", "beat", *WORKERS):
        environment = COMPOSE["services"][name]["environment"]
        missing = required - set(environment)
        assert not missing, (name, missing)
    assert COMPOSE["services"]["web"]["environment"]["DEBUG"] == "False"


# --- the streaming replica ------------------------------------------------------------------------


def test_the_primary_is_configured_for_streaming_replication():
    # given the primary's command line and the init script it runs on an empty data directory
    primary = COMPOSE["services"]["postgres"]
    settings = server_settings(words_of(primary["command"]))
    init = mounted_script(primary, "/docker-entrypoint-initdb.d/10-replication.sh")
    # then it writes WAL for replicas and keeps some for one that falls behind
    assert words_of(primary["command"])[0] == "postgres"
    assert settings["wal_level"] == "replica"
    assert int(settings["max_wal_senders"]) >= 1
    assert settings["wal_keep_size"]
    # and a role that may replicate (and only that) is created, with its pg_hba.conf entry
    role = primary["environment"]["POSTGRES_REPLICATION_USER"]
    assert "WITH LOGIN REPLICATION PASSWORD" in init and "SUPERUSER" not in init
    assert 'host replication $POSTGRES_REPLICATION_USER all scram-sha-256" >>"$PGDATA/pg_hba.conf"' in init
    assert role == "replicator"


def test_the_replica_is_a_hot_standby_built_by_pg_basebackup_from_the_primary():
    services = COMPOSE["services"]
    primary, replica = services["postgres"], services["postgres-replica"]
    # it starts once the primary is healthy, from the same PostgreSQL image, on a volume of its own
    assert replica["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert replica["image"] == primary["image"]
    assert "pgdata-replica:/var/lib/postgresql/data" in replica["volumes"] and "pgdata-replica" in COMPOSE["volumes"]
    # its entrypoint: a base backup with -R (standby.signal, primary_conninfo) into an empty
    # data directory only, then the server as a hot standby
    assert words_of(replica["entrypoint"]) == ["bash", "/usr/local/bin/replica-entrypoint.sh"]
    script = mounted_script(replica, "/usr/local/bin/replica-entrypoint.sh")
    empty_only = script.index('\nif [ ! -s "$PGDATA/PG_VERSION" ]; then\n')
    backup = script[script.index(" pg_basebackup \\\n", empty_only) : script.index("\nfi\n", empty_only)]
    assert 'until pg_isready -q -h "$PRIMARY_HOST" -p "$PRIMARY_PORT"' in script[empty_only:]
    assert '-h "$PRIMARY_HOST"' in backup and '-U "$POSTGRES_REPLICATION_USER"' in backup and '-D "$PGDATA"' in backup
    # the same options as the replica `make test` builds (scripts/replica.sh)
    test_replica = (ROOT / "scripts" / "replica.sh").read_text()
    for option in ("-R", "-X stream", "--checkpoint=fast", "-c hot_standby=on"):
        assert f" {option} " in test_replica, option
        assert f" {option} " in script, option
    start = script.strip().splitlines()[-1]
    assert start.startswith("exec gosu postgres postgres -D") and "-c hot_standby=on" in start
    # it replicates from the primary with the primary's replication role
    assert replica["environment"]["PRIMARY_HOST"] == "postgres"
    for variable in ("POSTGRES_REPLICATION_USER", "POSTGRES_REPLICATION_PASSWORD"):
        assert replica["environment"][variable] == primary["environment"][variable], variable
    # a hot standby refuses to start with fewer connections than its primary
    primary_connections = int(server_settings(words_of(primary["command"]))["max_connections"])
    assert int(server_settings(shlex.split(start))["max_connections"]) >= primary_connections


def test_the_replica_is_healthy_when_it_accepts_connections_and_is_in_recovery():
    check = COMPOSE["services"]["postgres-replica"]["healthcheck"]
    assert check["test"][0] == "CMD-SHELL"
    assert "pg_isready -U portal -d portal &&" in check["test"][1]
    assert "psql -U portal -d portal -tAc 'SELECT pg_is_in_recovery()'" in check["test"][1]
    assert check["test"][1].endswith("= t ]")


def test_the_web_and_the_reports_worker_read_from_the_replica_and_nothing_else_does():
    services = COMPOSE["services"]
    # the services with routed reads: the web (ROUTED_URL_NAMES) and the consumers of the routed tasks' queues
    readers = {"web"} | {consumer_of(TASK_QUEUES[task]) for task in ROUTED_TASKS}
    assert readers == {"web", "worker-reports"}
    for name in PORTAL_SERVICES:
        environment = services[name]["environment"]
        if name not in readers:
            assert "DATABASE_REPLICA_URLS" not in environment, name
            continue
        # the replica serves the primary's database under the same name, on another server,
        # reached directly (the router ignores an alias naming another database or the primary's server)
        (url,) = environment["DATABASE_REPLICA_URLS"].split(",")
        replica, primary = environ.Env.db_url_config(url), environ.Env.db_url_config(environment["DATABASE_URL"])
        assert (replica["HOST"], replica["PORT"]) == ("postgres-replica", 5432), name
        assert replica["NAME"] == primary["NAME"] and replica["USER"] == primary["USER"], name
        # it does not wait for the base backup: until the replica is there the router reads the primary
        assert services[name]["depends_on"]["postgres-replica"]["condition"] == "service_started", name
        assert services[name]["depends_on"]["pgbouncer"]["condition"] == "service_healthy", name
    # beat stays one and only enqueues: no replica
    assert services["beat"]["deploy"]["replicas"] == 1
