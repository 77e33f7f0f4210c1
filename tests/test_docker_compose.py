"""No Docker engine runs here, so the compose file is checked by reading it."""

import configparser
import re
from pathlib import Path

import yaml

from portal.queues import ALL_QUEUES, QUEUE_GROUPS

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SETTINGS_SOURCE = (ROOT / "portal" / "settings.py").read_text()


WORKERS = {f"worker-{group}": group for group in QUEUE_GROUPS}


def test_the_services_exist_with_health_checks():
    services = COMPOSE["services"]
    assert set(services) == {"postgres", "pgbouncer", "redis", "web", "beat", *WORKERS}
    for name, service in services.items():
        assert "healthcheck" in service, name


def test_commands_run_gunicorn_with_collected_static_and_exactly_one_beat():
    services = COMPOSE["services"]
    web = services["web"]["command"]
    assert "gunicorn portal.wsgi:application" in web and "collectstatic" in web and "migrate" in web
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
