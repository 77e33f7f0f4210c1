"""Settings read from the environment (django-environ).

With nothing set, the embedded default applies: a SQLite file in the project folder and
Celery over a filesystem broker, so `make run` works on a bare machine. The full stack
(tests, CI, docker-compose, production) sets DATABASE_URL and CELERY_BROKER_URL.
"""

from pathlib import Path

import environ
from celery.schedules import crontab as _crontab

from portal.pooling import through_pooler

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False) if (BASE_DIR / ".env").exists() else None

DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env.str("SECRET_KEY", default="dev-only-insecure-key-change-me-in-production")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.forms",  # the widgets' own templates, behind the project's (FORM_RENDERER)
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "guardian",
    "django_celery_beat",
    "portal.axes_app.AxesConfig",  # django-axes, named in Chinese
    "csp",
    "portal",
    "workdays",
    "entities",
    "products",
    "batch_matching",
    "coordination",
    "campaigns",
    "matching",
    "reporting",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # an oversized body is refused by its Content-Length before anything reads it (CSRF does)
    "portal.middleware.RequestSizeLimitMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "portal.middleware.MustChangePasswordMiddleware",
    # dashboards, reports, 潜在客户, entity search …: their reads may go to a replica (portal/replicas.py)
    "portal.replicas.ReplicaReadsMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "portal.middleware.DatabaseUnavailableMiddleware",
    "csp.middleware.CSPMiddleware",
    # last, as django-axes requires: it turns a locked-out login into the lockout page
    "axes.middleware.AxesMiddleware",
]

# form widgets render through the project's template engine, so templates/django/forms/ may
# override one (the select: its options written inline, not included one by one)
FORM_RENDERER = "django.forms.renderers.TemplatesSetting"

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "portal.context_processors.navigation",
                "portal.context_processors.replica_as_of",
                "matching.context_processors.notifications",
            ],
        },
    },
]

DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # web, worker and beat share the file: wait for locks instead of failing at once
    DATABASES["default"]["OPTIONS"] = {"timeout": 30, "transaction_mode": "IMMEDIATE"}
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=0))
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 5)
    # optional: the same database through PgBouncer in transaction pooling mode (portal/pooling.py);
    # DATABASE_URL stays the direct connection (migrations: run them with DATABASE_POOLER_URL empty)
    if env.str("DATABASE_POOLER_URL", default=""):
        DATABASES["default"] = through_pooler(DATABASES["default"], env.str("DATABASE_POOLER_URL"))
# Read replicas (streaming replicas of the primary, same database name): DATABASE_REPLICA_URLS,
# comma-separated, adds the aliases replica1, replica2, …; portal/replicas.py says which reads
# go there. Reads go to the primary while a replica lags more than DATABASE_REPLICA_MAX_LAG_SECONDS
# (checked at most every DATABASE_REPLICA_CHECK_SECONDS per process). In tests each replica alias
# mirrors `default` (nothing is created on the replica).
for _number, _url in enumerate(env.list("DATABASE_REPLICA_URLS", default=[]), start=1):
    _replica = env.db_url_config(_url)
    _replica.setdefault("CONN_MAX_AGE", DATABASES["default"].get("CONN_MAX_AGE", 0))
    _replica.setdefault("OPTIONS", {}).setdefault("connect_timeout", 5)
    _replica["TEST"] = {"MIRROR": "default"}
    DATABASES[f"replica{_number}"] = _replica
DATABASE_ROUTERS = ["portal.replicas.ReplicaRouter"]
DATABASE_REPLICA_MAX_LAG_SECONDS = env.float("DATABASE_REPLICA_MAX_LAG_SECONDS", default=30.0)
DATABASE_REPLICA_CHECK_SECONDS = env.float("DATABASE_REPLICA_CHECK_SECONDS", default=5.0)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # login throttling, checked first
    # ModelBackend's sign-in; the session's user read with his scope in one statement
    "portal.authentication.SessionUserBackend",
    "guardian.backends.ObjectPermissionBackend",
]
GUARDIAN_RAISE_403 = True
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
# Django's database sessions, their read written once (portal/sessions.py)
SESSION_ENGINE = "portal.sessions"
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=8 * 3600)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True

LANGUAGE_CODE = "zh-hans"
# the portal speaks Simplified Chinese only: an English browser still gets Chinese pages,
# Chinese Django admin and Chinese validation messages (LocaleMiddleware picks from these)
LANGUAGES = [("zh-hans", "简体中文")]
# what Django's and django-axes' own translations leave in English (compiled .mo committed)
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# a test run collects into a folder of its own (STATIC_ROOT in scripts/test.sh): suites may overlap
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
NODE_MODULES = BASE_DIR / "node_modules"
STATICFILES_DIRS = [
    ("vendor/bootstrap", NODE_MODULES / "bootstrap" / "dist"),
    ("vendor/bootstrap-icons", NODE_MODULES / "bootstrap-icons" / "font"),
    ("vendor/htmx", NODE_MODULES / "htmx.org" / "dist"),
    ("vendor/echarts", NODE_MODULES / "echarts" / "dist"),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
# uploads live outside the web root and are served only through permission-checked views
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "uploads")))
# Request bodies: at most UPLOAD_MAX_BYTES (materials, forms, JSON), refused by Content-Length
# before the body is read (portal.middleware.RequestSizeLimitMiddleware); a view declares a
# larger limit with portal.middleware.upload_limit (register and declaration imports).
UPLOAD_MAX_BYTES = 10 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = UPLOAD_MAX_BYTES  # the non-file part of a request, the same ceiling
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024  # larger files are streamed to a temporary file

# API tokens of the banks' systems (portal/tokens.py): validity when issued, its maximum, and
# how many valid tokens one administrator may hold
API_TOKEN_DEFAULT_DAYS = env.int("API_TOKEN_DEFAULT_DAYS", default=90)
API_TOKEN_MAX_DAYS = env.int("API_TOKEN_MAX_DAYS", default=365)
API_TOKEN_MAX_ACTIVE = env.int("API_TOKEN_MAX_ACTIVE", default=20)

# Trusted reverse proxies in front of the portal (nginx = 1). The client address is read from
# X-Forwarded-For only through them (portal.services.client_ip); 0: REMOTE_ADDR, the header is ignored.
NUM_PROXIES = env.int("NUM_PROXIES", default=0)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "portal.tokens.ApiTokenAuthentication",  # hashed, expiring, revocable (portal/tokens.py)
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # JSON only, for every client: people read the API's documentation (/api/v1/docs/); DRF's
    # browsable pages, which a browser got before, are its own English-first templates and
    # fail WCAG 2.1 AA (axe: html-has-lang, color-contrast, button-name)
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PAGINATION_CLASS": "portal.api_support.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["portal.bounds.FilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "portal.api_support.exception_handler",
    # every API view: per user when signed in, per client address when anonymous (portal/throttling.py)
    "DEFAULT_THROTTLE_CLASSES": ["portal.throttling.AnonRateThrottle", "portal.throttling.UserRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("API_THROTTLE_ANON", default="60/min"),
        "user": env.str("API_THROTTLE_USER", default="600/min"),
        "eligibility": env.str("ELIGIBILITY_THROTTLE_ANON", default="30/min"),
        "eligibility_user": env.str("ELIGIBILITY_THROTTLE_USER", default="300/min"),
        # verification codes by SMS (portal/phone_codes.py): per phone number and per address
        "sms_phone": env.str("SMS_THROTTLE_PHONE", default="5/hour"),
        "sms_ip": env.str("SMS_THROTTLE_IP", default="20/hour"),
    },
    "NUM_PROXIES": NUM_PROXIES,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "政银企融资对接平台 API",
    "DESCRIPTION": (
        "政银企融资对接平台的接口: 经营主体名录、银行与贷款产品、资格预检、走访与申报、推荐清单、"
        "银行线索与授信反馈、统计报表。使用会话或 API 令牌 (Authorization: Token …) 认证; "
        '错误统一为 {"code": …, "message": "中文说明", "errors": {"字段": ["…"]}}。'
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # one name per shared choice set (tier, tier_imported and tier_computed share Tier)
    "ENUM_NAME_OVERRIDES": {"TierEnum": "entities.models.Tier"},
    # each group of the API documentation, named in Chinese (the tags stay the paths' names)
    "TAGS": [
        {"name": "organisations", "description": "机构"},
        {"name": "banks", "description": "银行"},
        {"name": "branches", "description": "银行网点与机构层级"},
        {"name": "products", "description": "贷款产品与场景清单"},
        {"name": "audit-events", "description": "审计日志"},
        {"name": "tokens", "description": "API 令牌"},
        {"name": "entities", "description": "经营主体名录"},
        {"name": "bank-relationships", "description": "本行借贷往来"},
        {"name": "declarations", "description": "融资申报与审核"},
        {"name": "materials", "description": "申请材料"},
        {"name": "batches", "description": "推荐清单批次"},
        {"name": "leads", "description": "银行线索: 对接、材料、授信、放款"},
        {"name": "visits", "description": "走访登记"},
        {"name": "campaigns", "description": "千企万户大走访"},
        {"name": "visit-tasks", "description": "我的走访任务"},
        {"name": "decline-reasons", "description": "不予授信原因"},
        {"name": "notifications", "description": "消息通知"},
        {"name": "ledger", "description": "融资对接台账"},
        {"name": "kpis", "description": "考核指标"},
        {"name": "bank-reports", "description": "银行报送"},
        {"name": "targets", "description": "目标任务"},
        {"name": "scheduled-reports", "description": "定期报表"},
        {"name": "me", "description": "当前用户"},
        {"name": "eligibility", "description": "资格预检"},
        {"name": "users", "description": "用户管理"},
        {"name": "entity-claims", "description": "企业认领"},
        {"name": "problems", "description": "批分单: 问题交办职能部门"},
        {"name": "renewals", "description": "无还本续贷: 应续尽续"},
        {"name": "supervision-orders", "description": "督办单"},
    ],
}

# Rate-limit counters (API throttles) live here; several web processes must share them, so
# production points CACHE_URL at Redis. The embedded default keeps them in process memory.
CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://")}

# --- Celery -------------------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
CELERY_RESULT_BACKEND = env.str(
    "CELERY_RESULT_BACKEND",
    default=(
        CELERY_BROKER_URL if CELERY_BROKER_URL.startswith("redis") else f"file://{VAR_DIR / 'celery' / 'results'}"
    ),
)
if CELERY_BROKER_URL == "filesystem://":
    _celery_queue = VAR_DIR / "celery" / "queue"
    for _folder in ("queue", "processed", "results", "control"):
        (VAR_DIR / "celery" / _folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_celery_queue),
        "data_folder_out": str(_celery_queue),
        "processed_folder": str(VAR_DIR / "celery" / "processed"),
        "control_folder": str(VAR_DIR / "celery" / "control"),
        "store_processed": False,
    }
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True  # a killed worker's task is redelivered, so tasks are idempotent
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_RESULT_EXPIRES = 24 * 3600
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BEAT_SCHEDULE = {
    "beat-heartbeat": {"task": "portal.tasks.beat_heartbeat", "schedule": 60.0},
    "scan-deadlines": {
        "task": "matching.tasks.scan_deadlines",
        "schedule": env.float("DEADLINE_SCAN_SECONDS", default=120.0),
    },
    "sweep-notification-emails": {"task": "matching.tasks.sweep_notification_emails", "schedule": 300.0},
    # 批分单: overdue problems are marked and escalated to the convener (coordination/scan.py)
    "scan-problems": {"task": "coordination.tasks.scan_problems", "schedule": 600.0},
    # 大走访: unvisited targets past their due date remind the visitor and the task force (campaigns/scan.py)
    "scan-overdue-visits": {"task": "campaigns.tasks.scan_overdue_visits", "schedule": 3600.0},
    # 督办单: unanswered orders are marked overdue and escalated to the mechanism above (reporting/supervision/scan.py)
    "scan-supervision": {"task": "reporting.tasks.scan_supervision", "schedule": 600.0},
    # post-loan watch: 名特优新 titles and 三型 marks that approved loans relied on (expiries)
    "watch-credit-basis": {"task": "matching.tasks.watch_credit_basis", "schedule": _crontab(hour=6, minute=0)},
    # batch matching: the nightly full run, and the sweep that resumes stalled runs
    "matching-nightly-run": {"task": "matching.batch.nightly_run", "schedule": _crontab(hour=2, minute=0)},
    "matching-sweep": {"task": "matching.batch.sweep", "schedule": 300.0},
    # every Monday 07:00 (TIME_ZONE): each mechanism's 成效统计表, stored and mailed
    "weekly-effectiveness-reports": {
        "task": "reporting.tasks.weekly_reports",
        "schedule": _crontab(minute=0, hour=7, day_of_week="mon"),
    },
    # the statistics index is synced by the writes after their commit; this catches up anything a write could not
    "reporting-sync-facts": {"task": "reporting.tasks.sync_facts", "schedule": 60.0},
    "reporting-mail-unsent-reports": {"task": "reporting.tasks.mail_unsent_reports", "schedule": 3600.0},
    # 无还本续贷: remind each bank 30 days before its customers' loans come due (idempotent)
    "entities-remind-renewals": {"task": "entities.tasks.remind_renewals", "schedule": _crontab(hour=7, minute=30)},
}
# 无还本续贷情况统计表: a bank whose 无还本续贷余额 moves more than this (percent) month on month is
# flagged for follow-up (002 3: "对出现异常波动的银行机构及时进行跟踪")
RENEWAL_SWING_THRESHOLD_PERCENT = env.float("RENEWAL_SWING_THRESHOLD_PERCENT", default=30.0)

# --- Email ---------------------------------------------------------------------------
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
# text messages (verification codes): portal/sms.py; the default writes them to the console log
SMS_BACKEND = env.str("SMS_BACKEND", default="portal.sms.ConsoleBackend")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="政银企融资对接平台 <noreply@portal.local>")

# --- Security (production: DEBUG off) -------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the cookie-free meta tag; kept default
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# a CSRF refusal (an expired form, cookies off) is a Chinese page, or the API's JSON error
CSRF_FAILURE_VIEW = "portal.views.csrf_failure"
if not DEBUG:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    # `make run` serves plain HTTP on a workstation (DEBUG off for its Chinese error pages):
    # it turns these off with SECURE_COOKIES=False; production keeps them
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}

# Portal-specific
PORTAL_DEMO_PASSWORD = env.str("PORTAL_DEMO_PASSWORD", default="Demo@2026portal")
# Each app adds its idempotent demo loader here; `manage.py load_demo` runs them in order.
PORTAL_DEMO_LOADERS = [
    "products.demo.load",
    "portal.demo.load_organisations_and_users",
    "entities.demo.load",
    "matching.demo.load",
    "coordination.demo.load",
    "campaigns.demo.load",
    "batch_matching.demo.load",
    "reporting.demo.load",
    "reporting.supervision.demo.load",
    "reporting.demo.load_brief",
]
# Data that migrations seed; re-applied in tests after a transactional flush (idempotent).
PORTAL_BASELINE_LOADERS = [
    "portal.reference_sync.sync_reference_data",
    "matching.decline_reasons.sync_decline_reasons",
    "workdays.seed.seed_calendar_from_library",
    "entities.policies.seed_default_tier_policy",
]
# Each returns extra context for the role home pages: fn(request=, scope=, role=) -> dict
PORTAL_HOME_WIDGETS = [
    "matching.home.widgets",
    "coordination.home.widgets",
    "campaigns.home.widgets",
    "reporting.home.widgets",
]
# what the home page of a user without a membership shows (a registrant's pending claim)
PORTAL_NO_MEMBERSHIP_WIDGETS = ["entities.onboarding_views.no_membership_widget"]

# --- Login throttling (django-axes) and content security policy (django-csp) -----------------
# a username is locked after AXES_FAILURE_LIMIT failures from any address, an address after
# AXES_IP_FAILURE_LIMIT failures over any usernames (portal/login_throttle.py)
AXES_HANDLER = "portal.login_throttle.LoginThrottleHandler"
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_IP_FAILURE_LIMIT = env.int("AXES_IP_FAILURE_LIMIT", default=20)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=0.25)  # hours: 15 minutes
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
AXES_CLIENT_IP_CALLABLE = "portal.services.client_ip"  # the same address as the audit log and the API throttles

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}
