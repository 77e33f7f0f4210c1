"""No Docker engine runs here, so the compose file is checked by reading it."""

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SETTINGS_SOURCE = (ROOT / "portal" / "settings.py").read_text()


def test_the_five_services_exist_with_health_checks():
    services = COMPOSE["services"]
    assert set(services) == {"postgres", "redis", "web", "worker", "beat"}
    for name, service in services.items():
        assert "healthcheck" in service, name


def test_commands_run_gunicorn_with_collected_static_one_worker_and_one_beat():
    services = COMPOSE["services"]
    web = services["web"]["command"]
    assert "gunicorn portal.wsgi:application" in web and "collectstatic" in web and "migrate" in web
    assert services["worker"]["command"][:4] == ["celery", "-A", "portal", "worker"]
    assert services["beat"]["command"][:4] == ["celery", "-A", "portal", "beat"]
    assert services["beat"]["deploy"]["replicas"] == 1


def test_named_volume_keeps_the_database():
    assert "pgdata" in COMPOSE["volumes"]
    assert "pgdata:/var/lib/postgresql/data" in COMPOSE["services"]["postgres"]["volumes"]


def test_every_variable_the_settings_read_is_set_for_the_portal_services():
    # given the environment variables portal/settings.py reads without a default that suits production
    required = {"DATABASE_URL", "CELERY_BROKER_URL", "SECRET_KEY", "DEBUG", "ALLOWED_HOSTS", "EMAIL_URL"}
    read = set(re.findall(r'env(?:\.\w+)?\(\s*"([A-Z_]+)"', SETTINGS_SOURCE))
    assert required <= read
    # then web, worker and beat all get them
    for name in ("web", "worker", "beat"):
        environment = COMPOSE["services"][name]["environment"]
        missing = required - set(environment)
        assert not missing, (name, missing)
    assert COMPOSE["services"]["web"]["environment"]["DEBUG"] == "False"
