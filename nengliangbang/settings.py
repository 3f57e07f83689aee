"""Settings for 能量帮, read from environment variables.

With no variables set the project runs on embedded defaults that need no server:
SQLite in the checkout and Celery's filesystem broker under ``var/``. Setting
``DATABASE_URL`` and ``REDIS_URL`` moves it to PostgreSQL and Redis. A malformed
value stops start-up with an ``ImproperlyConfigured`` error naming the variable.
"""

from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import environ
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()

_TRUE_WORDS = {"1", "true", "yes", "on"}
_FALSE_WORDS = {"0", "false", "no", "off", ""}


def env_bool(name: str, default: bool) -> bool:
    """Read a boolean variable, rejecting anything that is not a clear yes or no."""
    raw = env.str(name, default=str(default)).strip().lower()
    if raw in _TRUE_WORDS:
        return True
    if raw in _FALSE_WORDS:
        return False
    raise ImproperlyConfigured(
        f"{name} must be one of 1/0, true/false, yes/no or on/off, not {raw!r}."
    )


def env_int(name: str, default: int, minimum: int = 0) -> int:
    raw = env.str(name, default=str(default)).strip()
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {raw!r}.") from None
    if value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {value}.")
    return value


def env_database(name: str, default: str) -> dict:
    raw = env.str(name, default=default).strip()
    scheme = raw.split("://", 1)[0] if "://" in raw else ""
    if scheme not in {"sqlite", "postgres", "postgresql", "pgsql"}:
        raise ImproperlyConfigured(
            f"{name} must be a postgres://user@host:port/name or sqlite:///path URL, not {raw!r}."
        )
    try:
        config = environ.Env.db_url_config(raw)
    except (ValueError, KeyError) as error:
        raise ImproperlyConfigured(f"{name} is not a valid database URL: {error}") from None
    if not config.get("NAME"):
        raise ImproperlyConfigured(f"{name} names no database: {raw!r}.")
    return config


def env_redis(name: str) -> str:
    raw = env.str(name, default="").strip()
    if not raw:
        return raw
    parts = urlsplit(raw)
    try:
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        raise ImproperlyConfigured(f"{name} has an invalid port: {raw!r}.") from None
    if parts.scheme not in {"redis", "rediss"} or not parts.hostname:
        raise ImproperlyConfigured(f"{name} must be a redis://host:port/db URL, not {raw!r}.")
    return raw


def env_choice(name: str, default: str, choices: set[str]) -> str:
    raw = env.str(name, default=default).strip().upper()
    if raw not in choices:
        raise ImproperlyConfigured(
            f"{name} must be one of {', '.join(sorted(choices))}, not {raw!r}."
        )
    return raw


DEBUG = env_bool("DJANGO_DEBUG", default=False)
# With DJANGO_DEBUG off, as in production and in the tests, a secret key must be given.
_LOCAL_SECRET = "local-only-not-secret-8f2e1c"  # noqa: S105 - used only when DEBUG is on
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default=_LOCAL_SECRET if DEBUG else "")
if not SECRET_KEY:
    raise ImproperlyConfigured(
        "DJANGO_SECRET_KEY is missing. Set it to a long random string, "
        "or set DJANGO_DEBUG=1 for local use."
    )

# Key for the keyed digest of ID numbers. It must stay the same for the life of
# the database, because the digest is how a person is found again on re-import.
PERSONAL_DATA_KEY = env.str("PERSONAL_DATA_KEY", default=SECRET_KEY)

ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "simple_history",
    "django_celery_beat",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "knox",
    "villagers",
    "points",
    "patrols",
    "notifications",
    "api",
    "accounts",
    "axes",
]

# Staff sign in by username; villagers by their phone number (accounts.backends).
# Axes comes first: it rejects a locked-out login before any backend checks a password.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "accounts.backends.PhoneBackend",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.middleware.SessionIdleMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Last, as django-axes requires: it turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "nengliangbang.urls"
WSGI_APPLICATION = "nengliangbang.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "notifications.context_processors.unread_notifications",
            ],
        },
    },
]

DATABASES = {
    "default": env_database("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web, worker and beat share one SQLite file in local use: WAL lets readers
    # run beside the writer, and IMMEDIATE transactions wait for the write lock
    # instead of failing part-way.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL;",
    }
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env_int("DATABASE_CONN_MAX_AGE", default=60)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "villagers.User"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise warns when it is missing
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=VAR_DIR / "media")
# Uploaded rosters wait here between preview and import; never served by URL.
PRIVATE_FILES_ROOT = env.path("PRIVATE_FILES_ROOT", default=VAR_DIR / "private")
# Largest photo upload accepted, in megabytes, before it is scaled down.
UPLOAD_PHOTO_MAX_BYTES = env_int("UPLOAD_PHOTO_MAX_MB", default=10, minimum=1) * 1_000_000
# Hours the file of an unconfirmed roster upload, which contains full ID
# numbers, is kept before the villagers.tasks.purge_roster_uploads task deletes it.
ROSTER_UPLOAD_KEEP_HOURS = env_int("ROSTER_UPLOAD_KEEP_HOURS", default=24, minimum=1)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

REDIS_URL = env_redis("REDIS_URL")

if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "nlb",
        }
    }
else:
    # A file cache, not an in-memory one, so that the web server's worker
    # processes share login-failure counts and rate limits.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

# Celery. Deadlines live in the database and beat sweeps them. Nothing relies on
# delayed (ETA) messages, which Redis redelivers after the visibility timeout.
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", default=300, minimum=1)
CELERY_TASK_SOFT_TIME_LIMIT = CELERY_TASK_TIME_LIMIT - 30 if CELERY_TASK_TIME_LIMIT > 60 else None
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

CELERY_BROKER_URL: str
CELERY_RESULT_BACKEND: str | None
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object]
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_RESULT_BACKEND = REDIS_URL
    # Seconds before Redis hands an unacknowledged task to another worker. It
    # must stay far longer than any task may run (CELERY_TASK_TIME_LIMIT), or a
    # running task is delivered twice. The default is an hour.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", default=3600, minimum=1)
    }
else:
    BROKER_DIR = Path(env.str("CELERY_BROKER_DIR", default=str(VAR_DIR / "broker")))
    CELERY_BROKER_URL = "filesystem://"
    CELERY_RESULT_BACKEND = None
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "store_processed": False,
        "control_folder": str(BROKER_DIR / "control"),
    }
    for folder in ("queue", "processed", "control"):
        (BROKER_DIR / folder).mkdir(parents=True, exist_ok=True)

# 三不出 defaults, used when a village is created. Each village can change its own.
MATTER_LIMIT_DEFAULTS = {
    "small": timedelta(hours=1),
    "medium": timedelta(hours=24),
    "big": timedelta(days=7),
}
# Maximum number of overdue matters one run of the deadline sweep handles.
MATTER_SWEEP_BATCH = env_int("MATTER_SWEEP_BATCH", default=500, minimum=1)
# Dotted path of the class that sends notification texts; see notifications/sms.py.
SMS_BACKEND = env.str("SMS_BACKEND", default="notifications.sms.LoggingBackend")

# The REST API under /api/v1/. Township clients send a knox token; the
# project's own pages use the session cookie with its CSRF check.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["api.permissions.CanUseApi"],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "api.renderers.CsvRenderer",
        "api.renderers.XlsxRenderer",
    ],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "api.pagination.CappedPageNumberPagination",
    "DEFAULT_THROTTLE_CLASSES": ["api.throttles.TokenRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"api_client": env.str("API_THROTTLE_RATE", default="2000/hour")},
    "DEFAULT_SCHEMA_CLASS": "api.schema.ApiAutoSchema",
    "EXCEPTION_HANDLER": "api.exceptions.api_exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
# Rows per page of an API list when the client sends no page_size, and the most it may ask for.
API_PAGE_SIZE = env_int("API_PAGE_SIZE", default=50, minimum=1)
API_MAX_PAGE_SIZE = env_int("API_MAX_PAGE_SIZE", default=500, minimum=1)
# Days an Idempotency-Key is remembered; a retry after that runs the request again.
API_IDEMPOTENCY_DAYS = env_int("API_IDEMPOTENCY_DAYS", default=7, minimum=1)
# Knox's token model is swappable; migrations name it through this setting.
KNOX_TOKEN_MODEL = "knox.AuthToken"  # noqa: S105 - a model name, not a secret
# Lifetime in days of a token issued without --days.
API_TOKEN_DAYS = env_int("API_TOKEN_DAYS", default=90, minimum=1)
REST_KNOX = {
    "TOKEN_TTL": timedelta(days=API_TOKEN_DAYS),
    "AUTH_HEADER_PREFIX": "Token",
    "AUTO_REFRESH": False,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Nengliangbang API",
    "DESCRIPTION": (
        "Read points, matters and village figures of the villages a token may see, "
        "and submit claims and report matters from staff apps. Send the token as "
        "`Authorization: Token <token>`. Every error has the body "
        '`{"code": ..., "message": ..., "fields": {...}}`, with the message in the '
        "language of the Accept-Language header (Simplified Chinese by default). "
        "Every list and statistic is also available as CSV or XLSX through "
        "`?format=csv` or `?format=xlsx`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "PREPROCESSING_HOOKS": ["api.schema.drop_format_suffix_paths"],
    "ENUM_NAME_OVERRIDES": {
        "MatterStatusEnum": "patrols.models.Matter.Status",
        "SeverityEnum": "patrols.models.Matter.Severity",
        "ClaimStatusEnum": "points.models.Claim.Status",
        "VillagerStatusEnum": "villagers.models.Villager.Status",
    },
}

# Sessions. Staff sessions end after STAFF_SESSION_IDLE_MINUTES without a
# request (accounts.middleware.SessionIdleMiddleware). Villagers read their
# points now and then on their own phones, so their sessions last
# VILLAGER_SESSION_DAYS from the login.
STAFF_SESSION_IDLE_MINUTES = env_int("STAFF_SESSION_IDLE_MINUTES", default=30, minimum=1)
# A district secretary on patrol stays signed in this long after starting it,
# until the patrol stops.
STAFF_PATROL_SESSION_HOURS = env_int("STAFF_PATROL_SESSION_HOURS", default=4, minimum=1)
VILLAGER_SESSION_DAYS = env_int("VILLAGER_SESSION_DAYS", default=30, minimum=1)
SESSION_COOKIE_AGE = VILLAGER_SESSION_DAYS * 24 * 3600

# Login lockout (django-axes, through accounts.lockout). A username or phone
# number is locked for one IP address after LOGIN_FAILURE_LIMIT failures, and
# for every IP address after LOGIN_ACCOUNT_FAILURE_LIMIT failures from any of
# them. Villagers share addresses on mobile networks, so an address alone
# never locks anyone out. A phone number and the username of its account count
# as one account. The failures of one name and address are forgotten
# LOGIN_LOCKOUT_MINUTES after the last of them.
AXES_HANDLER = "accounts.lockout.AccountLockoutHandler"
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "username"]
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", default=5, minimum=1)
LOGIN_ACCOUNT_FAILURE_LIMIT = env_int("LOGIN_ACCOUNT_FAILURE_LIMIT", default=20, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_LOCKOUT_MINUTES", default=15, minimum=1))
AXES_USERNAME_CALLABLE = "accounts.lockout.lockout_username"
AXES_CLIENT_IP_CALLABLE = "accounts.lockout.client_ip"
AXES_LOCKOUT_CALLABLE = "accounts.lockout.lockout_response"
AXES_RESET_ON_SUCCESS = True
# Tries while locked out are not counted, so the time the lockout page names holds.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
# Successful logins are not stored with their IP addresses: only failures are.
AXES_DISABLE_ACCESS_LOG = True
# Axes' admin pages are untranslated; a lockout is lifted by a new password or
# login code (accounts.services) or by `manage.py axes_reset_username`.
AXES_ENABLE_ADMIN = False

# Number of reverse proxies in front of gunicorn that append to X-Forwarded-For
# and set X-Forwarded-Proto. With 0 the client address is REMOTE_ADDR and the
# forwarded headers are ignored, because any client can send them.
TRUSTED_PROXY_COUNT = env_int("DJANGO_TRUSTED_PROXY_COUNT", default=0)
if TRUSTED_PROXY_COUNT:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# HTTPS. Production sets DJANGO_SSL_REDIRECT=1 and DJANGO_HSTS_SECONDS (see the
# README); the defaults keep plain HTTP working on a developer's machine.
SECURE_SSL_REDIRECT = env_bool("DJANGO_SSL_REDIRECT", default=False)
# Load balancers probe the health checks over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^health/"]
SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", default=True)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", default=not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
# No script of the project reads the CSRF cookie: forms carry the token in a field.
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"

# Content-Security-Policy (django-csp 4). Every script and style is a file
# under static/, so neither scripts nor styles may be inline. Images may be
# data: URLs because Pico's and Swagger UI's style sheets draw their icons
# with them. Chart.js and Swagger UI set element styles through the CSSOM,
# which style-src does not restrict.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "filters": {
        "forbidden_one_line": {"()": "nengliangbang.logs.ForbiddenOneLine"},
        "redact_personal_numbers": {"()": "nengliangbang.logs.RedactPersonalNumbers"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["redact_personal_numbers"],
        }
    },
    "root": {
        "handlers": ["console"],
        "level": env_choice(
            "LOG_LEVEL", default="INFO", choices={"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}
        ),
    },
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "django.request": {"filters": ["forbidden_one_line"]},
    },
}
