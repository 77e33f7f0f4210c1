"""Issue 16 item 19: Chinese everywhere — the error pages (404, 403, 500, CSRF) also under
`make run`'s settings, the API documentation page (Chinese title and groups, no CSP console
error), and a favicon."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from drf_spectacular.generators import SchemaGenerator
from playwright.sync_api import Page
from rest_framework.test import APIClient

from portal.factories import TEST_PASSWORD, user_with_role
from portal.models import Role

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.django_db
def test_a_form_refused_by_its_csrf_check_gets_a_chinese_page_that_says_what_to_do():
    # given a signed-in user whose form lost its CSRF token (the page was open too long)
    client = Client(enforce_csrf_checks=True)
    client.force_login(user_with_role(Role.TASK_FORCE_STAFF))

    # when the form is posted
    response = client.post("/accounts/password/", {"old_password": "x"})

    # then the portal's own page says, in Chinese, that nothing was saved and what to do
    assert response.status_code == 403
    html = response.content.decode()
    assert "页面已过期" in html and "尚未保存" in html and "刷新后重新提交" in html
    assert "CSRF verification failed" not in html


@pytest.mark.django_db
def test_an_api_call_without_the_csrf_token_gets_the_api_error_format_naming_the_cause():
    # given a session-authenticated API client that does not send X-CSRFToken
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(user_with_role(Role.PLATFORM_ADMIN))

    # when it writes
    response = client.post("/api/v1/tokens/", {"name": "核心系统", "days": 30}, format="json")

    # then the refusal says it is the CSRF check, in Chinese, in the one error format
    assert response.status_code == 403
    assert response.json() == {
        "code": "csrf_failed",
        "message": "安全校验失败 (CSRF): 请刷新页面后重试; 以会话调用接口时须带 X-CSRFToken 请求头",
        "errors": {},
    }


def test_make_run_serves_the_chinese_error_pages_not_djangos_english_debug_pages(tmp_path):
    """`make run`'s environment (scripts/run.sh's exports) with its embedded SQLite database:
    a missing page is the portal's Chinese 404, not Django's debug page listing every URL,
    and the session cookie works over the plain HTTP of a workstation."""
    # given the environment scripts/run.sh exports (and an embedded database of its own)
    exported = subprocess.run(
        ["bash", "-c", "set -a; eval \"$(grep '^export ' scripts/run.sh)\"; env -0"],
        cwd=ROOT,
        env={"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/root")},
        capture_output=True,
        check=True,
    ).stdout
    env = dict(line.split("=", 1) for line in exported.decode().split("\0") if "=" in line)
    env.update(
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        CELERY_BROKER_URL="memory://",
        STATIC_ROOT=os.environ.get("STATIC_ROOT", str(tmp_path / "static")),
        DJANGO_SETTINGS_MODULE="portal.settings",
    )
    env.pop("SECRET_KEY", None)
    probe = (
        "import django; django.setup()\n"
        "from django.conf import settings\n"
        "from django.test import Client\n"
        "from django.test.utils import setup_test_environment\n"
        "setup_test_environment()\n"
        "r = Client().get('/no-such-page/')\n"
        "print(settings.DEBUG, settings.SESSION_COOKIE_SECURE, settings.SECURE_SSL_REDIRECT, r.status_code)\n"
        "print('页面不存在' in r.content.decode(), 'Using the URLconf' in r.content.decode())\n"
    )

    # when a missing page is asked for under it
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    ).stdout.split()

    # then DEBUG is off, plain HTTP works, and the 404 is the portal's Chinese page
    assert out == ["False", "False", "False", "404", "True", "False"]


@pytest.mark.django_db
def test_the_favicon_is_served_at_the_address_browsers_ask_for(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301 and response["Location"].endswith(".svg")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_api_documentation_page_is_chinese_and_breaks_no_content_security_rule(
    live_server, page: Page, artifacts_dir
):
    # given a bank administrator signed in (the one who issues API tokens to the bank's systems)
    user = user_with_role(Role.BANK_ADMIN, username="docs-reader")
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("用户名").fill(user.username)
    page.get_by_label("密码").fill(TEST_PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.get_by_test_id("home-title").wait_for()

    # when he opens the API documentation
    page.goto(f"{live_server.url}/api/v1/docs/")
    # (Swagger UI draws a long list of operations as the reader scrolls: the first groups are
    # on screen at once, 融资申报与审核 further down once scrolled to)
    page.get_by_text("银行网点与机构层级").first.wait_for()
    for _ in range(60):
        if page.get_by_text("融资申报与审核").count():
            break
        page.mouse.wheel(0, 800)
        page.wait_for_timeout(100)
    page.get_by_text("融资申报与审核").first.wait_for()

    # then its title, description and groups are Chinese, and the console shows no error
    # (no refused inline style, no missing icon)
    assert page.title() == "政银企融资对接平台 API"
    assert page.get_by_text("经营主体名录").count() >= 1
    assert page.get_by_text("错误统一为").count() == 1
    page.screenshot(path=str(artifacts_dir / "api-docs.png"))
    assert errors == []


@pytest.mark.django_db
def test_an_english_browser_still_gets_the_django_admin_in_chinese(client):
    """Section names, table headers and the login-lockout records: Chinese for a browser that
    asks for English (the portal speaks Simplified Chinese only)."""
    # given a platform administrator whose browser prefers English
    admin = user_with_role(Role.PLATFORM_ADMIN, username="admin-en")
    admin.is_staff = admin.is_superuser = True
    admin.save()
    client.force_login(admin)

    # when he opens the Django admin
    html = client.get("/django-admin/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").content.decode()

    # then its visible text has no English word but Django's name
    text = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", html, flags=re.S)
    text = re.sub(r"<[^>]+>", " ", text)
    words = set(re.findall(r"[A-Za-z]{3,}", text)) - {"Django"}
    assert words == set(), words
    assert "登录保护" in html and "经营主体" in html


def test_every_group_of_the_api_documentation_has_a_chinese_name():
    """Each tag an API path carries is declared in SPECTACULAR_SETTINGS["TAGS"] with a Chinese
    description (the documentation shows the description as the group's title)."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    used = {tag for operations in schema["paths"].values() for op in operations.values() for tag in op.get("tags", [])}
    declared = {tag["name"]: tag["description"] for tag in settings.SPECTACULAR_SETTINGS["TAGS"]}
    assert used - set(declared) == set()
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in text) for text in declared.values())
