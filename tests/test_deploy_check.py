import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _manage(*args, env_overrides):
    env = {k: v for k, v in os.environ.items() if k not in {"DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE"}}
    env.update(env_overrides)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_production_settings_pass_check_deploy_without_warnings():
    # given production settings from the environment
    production = {
        "DEBUG": "False",
        "SECRET_KEY": "k" + "x9#Lq2@vZ!p7$rT4&mW8^nB1*cF6(hJ3)dS5-gA0+eY" * 2,
        "ALLOWED_HOSTS": "portal.example.gov.cn",
        "SECURE_SSL_REDIRECT": "True",
    }
    # when Django's deployment checklist runs
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env_overrides=production)
    # then it reports nothing
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_embedded_default_needs_no_server():
    # given no DATABASE_URL nor CELERY_BROKER_URL
    env = {"DATABASE_URL": "", "CELERY_BROKER_URL": "", "CELERY_RESULT_BACKEND": ""}
    code = (
        "import os; [os.environ.pop(k) for k in ('DATABASE_URL','CELERY_BROKER_URL','CELERY_RESULT_BACKEND')];"
        "os.environ['DJANGO_SETTINGS_MODULE']='portal.settings';"
        "import django; django.setup(); from django.conf import settings as s;"
        "print(s.DATABASES['default']['ENGINE'], s.CELERY_BROKER_URL, s.CELERY_RESULT_BACKEND.split(':')[0], sep='|')"
    )
    envs = {k: v for k, v in os.environ.items()}
    envs.update(env)
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=envs, capture_output=True, text=True, timeout=60
    )
    # then the settings fall back to a SQLite file and a filesystem broker
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "django.db.backends.sqlite3|filesystem://|file"
