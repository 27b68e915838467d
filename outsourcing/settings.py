"""Settings, read from the environment through small helpers that fail loudly.

DEBUG is off unless asked for (`make run` asks), and with it off the production
rules hold: a real SECRET_KEY, a mail backend that delivers, HTTPS only. With
DEBUG on and nothing else the app runs on embedded defaults: SQLite (WAL) and
Celery's on-disk broker under ``var/``, a secret key generated into ``var/``,
all readable by this user only.
"""

import os
import re
import secrets
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _
from kombu import Exchange, Queue

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("VAR_DIR", BASE_DIR / "var"))

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {raw!r}")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {raw!r}") from None


def env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, not {raw!r}") from None


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


# Addresses a server listens on that no browser can be sent to.
_WILDCARD_HOSTS = {"", "0.0.0.0", "::", "[::]"}  # nosec B104  # compared with, never bound


def dev_host(environ: Mapping[str, str] = os.environ) -> str:
    """The host `make run` serves on (HOST), as a link can name it; 127.0.0.1 for "everywhere"."""
    host = environ.get("HOST", "").strip()
    if host in _WILDCARD_HOSTS:
        return "127.0.0.1"
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def site_url(environ: Mapping[str, str] = os.environ) -> str:
    """SITE_URL, else where `make run` serves: http://HOST:PORT (so mailed links reach it).

    Honcho gives every process of the Procfile its own PORT (the worker gets PORT+100),
    so `make run` also passes the web's port as WEB_PORT, which wins.
    """
    explicit = environ.get("SITE_URL", "").strip()
    if explicit:
        return explicit.rstrip("/")
    for name in ("WEB_PORT", "PORT"):
        raw = environ.get(name, "").strip()
        if raw:
            if not raw.isdigit() or not 0 < int(raw) < 65536:
                raise ImproperlyConfigured(f"{name} must be a port number (1-65535), not {raw!r}")
            return f"http://{dev_host(environ)}:{int(raw)}"
    return f"http://{dev_host(environ)}:8000"


# --- Private files under var/ ----------------------------------------------


def private_dir(path: Path) -> Path:
    """``path``, created if missing for this user only (0700); missing parents as usual."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # The umask can only take bits away, and 0700 keeps under any usual one.
    path.mkdir(mode=0o700, exist_ok=True)
    return path


def private_file(path: Path) -> Path:
    """``path``, created empty if missing for this user only (0600)."""
    private_dir(path.parent)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    return path


def filesystem_broker_options(var_dir: Path) -> dict[str, str]:
    """The on-disk broker's folders under ``var_dir``, created if missing (its transport options)."""
    broker = private_dir(private_dir(var_dir) / "broker")
    folders = {
        "data_folder_in": broker / "out",
        "data_folder_out": broker / "out",
        "processed_folder": broker / "processed",
        "control_folder": broker / "control",
    }
    for folder in folders.values():
        private_dir(folder)
    return {name: str(folder) for name, folder in folders.items()}


# --- Secret key -------------------------------------------------------------

# Django's own bar (its check --deploy warns below it, security.W009).
SECRET_KEY_MIN_LENGTH = 50
SECRET_KEY_MIN_DISTINCT = 5
_MAKE_A_KEY = "python -c 'import secrets; print(secrets.token_urlsafe(50))'"


def check_secret_key(name: str, key: str) -> None:
    """Refuse a key an attacker could guess, naming the variable it came from."""
    if not key:
        raise ImproperlyConfigured(
            f"{name} must be set when DEBUG is false (make one with: {_MAKE_A_KEY}); "
            "for local use run with DEBUG=true, as `make run` does"
        )
    if len(key) < SECRET_KEY_MIN_LENGTH or len(set(key)) < SECRET_KEY_MIN_DISTINCT:
        raise ImproperlyConfigured(
            f"{name} must be at least {SECRET_KEY_MIN_LENGTH} characters long, with at least "
            f"{SECRET_KEY_MIN_DISTINCT} different ones (it has {len(key)}); make one with: {_MAKE_A_KEY}"
        )
    if key.startswith("django-insecure"):
        raise ImproperlyConfigured(
            f"{name} is one of Django's insecure development keys; make one with: {_MAKE_A_KEY}"
        )


def _generated_secret_key(path: Path) -> str:
    """The development key kept in ``path``, generated once, readable by this user only."""
    if not path.exists():
        fd, draft = tempfile.mkstemp(dir=private_dir(path.parent))  # 0600
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(50))
        try:
            # A link never replaces a key another process (web, worker, beat) wrote first.
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            os.unlink(draft)
    return path.read_text().strip()


def _secret_key(production: bool) -> str:
    key = os.environ.get("SECRET_KEY", "")
    generated = VAR_DIR / "secret_key"
    if not production:
        # Local use: generated once and kept, so sessions survive restarts.
        return key or _generated_secret_key(generated)
    check_secret_key("SECRET_KEY", key)
    try:
        development_key = generated.read_text().strip()
    except OSError:
        development_key = ""
    if key == development_key:
        raise ImproperlyConfigured(
            f"SECRET_KEY is the development key generated into {generated}; make a new one with: {_MAKE_A_KEY}"
        )
    return key


TESTING = "pytest" in sys.modules or env_bool("TESTING", False)
# Off unless asked for: `make run` turns it on; a server started without it stays safe.
DEBUG = env_bool("DEBUG", False)
# The production rules (a real secret key, a mail backend that delivers, HTTPS only) hold
# whenever DEBUG is off, except in the test suite, whose client speaks plain HTTP, and
# for the type checker (django-stubs reads these settings), which serves nothing.
PRODUCTION = not DEBUG and not TESTING and "mypy" not in sys.modules
SECRET_KEY = _secret_key(PRODUCTION)
# Old keys, still accepted while rotating (sessions, signed links, encrypted mailbox passwords).
SECRET_KEY_FALLBACKS = env_list("SECRET_KEY_FALLBACKS", [])
if PRODUCTION:
    for _fallback in SECRET_KEY_FALLBACKS:
        check_secret_key("SECRET_KEY_FALLBACKS", _fallback)
# In development the host `make run HOST=...` serves on is allowed too.
ALLOWED_HOSTS = env_list(
    "ALLOWED_HOSTS", [] if PRODUCTION else list(dict.fromkeys(["127.0.0.1", "localhost", dev_host()]))
)
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
SITE_URL = site_url()
# How long the personal link in a mail to a provider (their answer page) works, in days.
ANSWER_LINK_MAX_AGE_DAYS = env_int("ANSWER_LINK_MAX_AGE_DAYS", 30)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "crispy_forms",
    "crispy_bootstrap5",
    "django_htmx",
    "django_countries",
    # Its checks warn about insecure webhook settings; the inbound views work without it.
    "anymail",
    "outsourcing",
    "providers",
    "engagements",
    "ops",
]

MIDDLEWARE = [
    "ops.middleware.RequestLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "ops.middleware.ProbeWithoutSessionMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "outsourcing.middleware.TimeZoneMiddleware",
    "outsourcing.middleware.FormatLocaleMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "allauth.account.middleware.AccountMiddleware",
]

ROOT_URLCONF = "outsourcing.urls"
WSGI_APPLICATION = "outsourcing.wsgi.application"

# Django's form templates, with the commonest widgets written in Python (same HTML).
FORM_RENDERER = "outsourcing.form_renderer.WidgetRenderer"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "outsourcing.context_processors.workspace",
                "engagements.context_processors.nav_counts",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------

DATABASE_URL = env_str("DATABASE_URL", "")
if DATABASE_URL:
    try:
        _db: dict[str, Any] = dict(dj_database_url.parse(DATABASE_URL, conn_max_age=60))
    except ValueError as exc:
        raise ImproperlyConfigured(f"DATABASE_URL is not a valid database URL: {exc}") from None
else:
    _db = {
        "ENGINE": "django.db.backends.sqlite3",
        # Created for this user only: SQLite gives its -wal and -shm files the database's mode.
        "NAME": private_file(VAR_DIR / "db.sqlite3"),
        "OPTIONS": {
            # WAL lets the web process read while the worker writes; IMMEDIATE
            # avoids "database is locked" upgrades from read to write locks.
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        },
    }
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Broker, cache --------------------------------------------------------

REDIS_URL = env_str("REDIS_URL", "")
# Redis away (a restart, a cut network) costs a request one short timeout, then nothing for
# REDIS_RETRY_AFTER seconds: see outsourcing/redis_guard.py. Without these a dead connection
# holds a request for as long as TCP retransmits (minutes).
REDIS_SOCKET_TIMEOUT = env_float("REDIS_SOCKET_TIMEOUT", 3.0)
REDIS_CONNECT_TIMEOUT = env_float("REDIS_CONNECT_TIMEOUT", 2.0)
REDIS_RETRY_AFTER = env_float("REDIS_RETRY_AFTER", 5.0)
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL or "filesystem://")
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, Any] = {}
if CELERY_BROKER_URL.startswith("filesystem://"):
    # kombu's transport, with each message written whole (see outsourcing/broker.py).
    CELERY_BROKER_TRANSPORT = "outsourcing.broker:Transport"
    CELERY_BROKER_TRANSPORT_OPTIONS = filesystem_broker_options(VAR_DIR)
elif CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # A task unacknowledged this long is handed to another worker.
    # Above kombu's one-second BRPOP wait, so an idle worker's poll is never cut short.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": 3600,
        "socket_timeout": REDIS_SOCKET_TIMEOUT,
        "socket_connect_timeout": REDIS_CONNECT_TIMEOUT,
    }
CELERY_BROKER_CONNECTION_TIMEOUT = REDIS_CONNECT_TIMEOUT
# One quick retry when publishing a task, then the caller's fallback (engagements/jobs.py).
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.5,
    "interval_max": 0.5,
}
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_TASK_DEFAULT_QUEUE", "celery")
# Slow, bulk work has a queue of its own: the reliability refreshes (tens of seconds each at a
# million messages), the mail, chat and archive imports, mailbox polls and exports. The flag pass,
# notification delivery and the digests stay on the default queue, which a worker process of its
# own reads (Procfile, compose.yaml), so they never wait behind bulk work (README, Deploying).
CELERY_BULK_QUEUE = env_str("CELERY_BULK_QUEUE", "bulk")
BULK_TASKS = (
    "engagements.tasks.refresh_metrics_workspace",
    "engagements.tasks.refresh_metrics_backlog",
    "engagements.tasks.refresh_metrics_all",
    "engagements.tasks.import_mail_upload",
    "engagements.tasks.import_chat_upload",
    "engagements.tasks.poll_mailbox",
    "engagements.tasks.run_import",
    "engagements.tasks.build_export",
)
CELERY_TASK_ROUTES = {name: {"queue": CELERY_BULK_QUEUE} for name in BULK_TASKS}
# Both queues declared, each with its own exchange and routing key: a worker started without -Q
# reads both (nothing is stranded), and one started with -Q reads only those named.
CELERY_TASK_QUEUES = [
    Queue(name, Exchange(name), routing_key=name)
    for name in dict.fromkeys((CELERY_TASK_DEFAULT_QUEUE, CELERY_BULK_QUEUE))
]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = "UTC"
# Mail in and out: replies find their engagement by the token in
# local+TOKEN@MAIL_ROUTING_DOMAIN (any domain matches while this is empty).
MAIL_ROUTING_DOMAIN = env_str("MAIL_ROUTING_DOMAIN", "").lower()
# The largest message the importer reads, and the largest attachment it keeps.
MAIL_MAX_BYTES = env_int("MAIL_MAX_BYTES", 50 * 1024 * 1024)
# The local part of the Reply-To routing address on mail sent from the app;
# its domain is MAIL_ROUTING_DOMAIN, or DEFAULT_FROM_EMAIL's while that is empty.
MAIL_ROUTING_LOCAL = env_str("MAIL_ROUTING_LOCAL", "reply").lower()
# How often each IMAP mailbox is polled, and the largest mail file an upload takes.
MAIL_POLL_MINUTES = env_int("MAIL_POLL_MINUTES", 5)
# Whether a mailbox may point at a server on a private network (10.x, 192.168.x,
# localhost, …): off, so a workspace manager cannot make the worker connect inside
# the network it runs in. Turn on for an IMAP server on your own network.
MAIL_IMAP_ALLOW_PRIVATE_ADDRESSES = env_bool("MAIL_IMAP_ALLOW_PRIVATE_ADDRESSES", False)
MAIL_UPLOAD_MAX_BYTES = env_int("MAIL_UPLOAD_MAX_BYTES", 200 * 1024 * 1024)
# Complete exports (engagements/archive): the largest zip an import takes, how much it may
# unpack to and how many files it may hold (a zip bomb stops at these), and how long an
# export's zip stays downloadable.
ARCHIVE_UPLOAD_MAX_BYTES = env_int("ARCHIVE_UPLOAD_MAX_BYTES", 1024 * 1024 * 1024)
ARCHIVE_MAX_UNPACKED_BYTES = env_int("ARCHIVE_MAX_UNPACKED_BYTES", 8 * 1024 * 1024 * 1024)
ARCHIVE_MAX_MEMBERS = env_int("ARCHIVE_MAX_MEMBERS", 500_000)
ARCHIVE_EXPORT_DAYS = env_int("ARCHIVE_EXPORT_DAYS", 7)
# How long a worker's claim on an upload's import holds without news (it renews it
# after every batch, which takes a second or so): after it the import counts as
# stalled, and the beat's sweep queues it again. Longer than any batch takes.
MAIL_UPLOAD_LEASE_SECONDS = env_int("MAIL_UPLOAD_LEASE_SECONDS", 120)
# Mailbox passwords are encrypted with keys derived from SECRET_KEY (and its
# fallbacks, for rotation) and this salt (django-fernet-encrypted-fields).
SALT_KEY = env_list("FIELD_ENCRYPTION_SALT", ["outsourcing-tracker-fields"])
# The inbound mail webhook (django-anymail): Postmark posts with HTTP basic
# auth "user:password" (ANYMAIL_WEBHOOK_SECRET); Mailgun signs with its key.
ANYMAIL = {
    "WEBHOOK_SECRET": env_str("ANYMAIL_WEBHOOK_SECRET", ""),
    "MAILGUN_WEBHOOK_SIGNING_KEY": env_str("MAILGUN_WEBHOOK_SIGNING_KEY", ""),
}

# A static schedule (django-celery-beat does not install beside Django 6.1).
CELERY_BEAT_SCHEDULE: dict[str, Any] = {
    "flag-overdue": {"task": "engagements.tasks.flag_overdue", "schedule": 60.0},
    "deliver-due-notifications": {"task": "engagements.tasks.deliver_due_notifications", "schedule": 60.0},
    "refresh-metrics-backlog": {"task": "engagements.tasks.refresh_metrics_backlog", "schedule": 60.0},
    # Time alone moves some reliability figures (waiting requests, rolling periods).
    "refresh-metrics-all": {
        "task": "engagements.tasks.refresh_metrics_all",
        "schedule": 60.0 * env_int("METRICS_FULL_REFRESH_MINUTES", 15),
    },
    "poll-mailboxes": {"task": "engagements.tasks.poll_mailboxes", "schedule": 60.0},
    # A worker that died mid-import leaves its upload stalled; on the on-disk broker its task is gone too.
    "requeue-stalled-mail-uploads": {
        "task": "engagements.tasks.requeue_stalled_mail_uploads",
        "schedule": 60.0,
    },
    # The same for background chat imports (CHAT_IMPORT_STALLED_MINUTES without a batch written).
    "requeue-stalled-chat-uploads": {
        "task": "engagements.tasks.requeue_stalled_chat_uploads",
        "schedule": 60.0,
    },
    # Exports past their time lose their zip; exports and imports whose worker died are marked failed.
    "sweep-archives": {"task": "engagements.tasks.sweep_archives", "schedule": 3600.0},
    # Reliability reports (engagements/reports): each sent once per month or week, whichever pass claims it.
    "send-due-reports": {"task": "engagements.tasks.send_due_reports", "schedule": crontab(minute=5)},
    "daily-digest": {
        "task": "engagements.tasks.send_daily_digests",
        "schedule": crontab(hour=env_int("DIGEST_HOUR_UTC", 6), minute=0),
    },
}
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")

if REDIS_URL:
    CACHES: dict[str, dict[str, Any]] = {
        "default": {
            "BACKEND": "outsourcing.cache.ForgivingRedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {
                "socket_timeout": REDIS_SOCKET_TIMEOUT,
                "socket_connect_timeout": REDIS_CONNECT_TIMEOUT,
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# The reliability refresh keeps a workspace's requests between runs only where every process
# shares the cache (engagements/reliability/snapshots.py); a per-process cache could go stale.
METRICS_KEEP_SAMPLE = CACHES["default"]["BACKEND"].endswith("RedisCache")
# The background refreshes pause after each query this many times what they did since the last
# pause (engagements/throttle.py): at most a third of a core, so pages beside them stay quick.
METRICS_REFRESH_THROTTLE = env_float("METRICS_REFRESH_THROTTLE", 2.0)

# --- Accounts -------------------------------------------------------------

AUTH_USER_MODEL = "outsourcing.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
# The person's name and their first workspace's name (outsourcing/signup.py).
ACCOUNT_SIGNUP_FORM_CLASS = "outsourcing.signup.SignupDetailsForm"
ACCOUNT_EMAIL_VERIFICATION = env_str("ACCOUNT_EMAIL_VERIFICATION", "mandatory")
if ACCOUNT_EMAIL_VERIFICATION not in {"mandatory", "optional", "none"}:
    raise ImproperlyConfigured("ACCOUNT_EMAIL_VERIFICATION must be mandatory, optional or none")
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https" if SITE_URL.startswith("https") else "http"
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
ACCOUNT_LOGOUT_REDIRECT_URL = "account_login"

# --- Failed log-ins (allauth) ------------------------------------------------
# Counted per client address, and per account *from that address* (the adapter),
# so a stranger failing on purpose locks out only themselves, never the person.
ACCOUNT_ADAPTER = "outsourcing.account_adapter.AccountAdapter"
ACCOUNT_RATE_LIMITS = {"login_failed": "10/m/ip,5/5m/key"}
# How many proxies in front of the app append to X-Forwarded-For: the client's address (for
# every per-address limit, allauth's and outsourcing.limits') is read that many entries from
# the right. 0: REMOTE_ADDR, for a server reached directly.
ALLAUTH_TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)

# --- E-mail ---------------------------------------------------------------

# Django 6.1's MAILERS, configured from the classic EMAIL_* variable names.
_email_backend = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
_email_options: dict[str, Any] = {}
if _email_backend.endswith("smtp.EmailBackend"):
    _email_options = {
        "host": env_str("EMAIL_HOST", "localhost"),
        "port": env_int("EMAIL_PORT", 25),
        "username": env_str("EMAIL_HOST_USER", ""),
        "password": env_str("EMAIL_HOST_PASSWORD", ""),
        "use_tls": env_bool("EMAIL_USE_TLS", False),
        "use_ssl": env_bool("EMAIL_USE_SSL", False),
        "timeout": env_int("EMAIL_TIMEOUT", 30),
    }
elif _email_backend.endswith("filebased.EmailBackend"):
    _email_options = {"file_path": env_str("EMAIL_FILE_PATH", str(VAR_DIR / "mail"))}
MAILERS = {"default": {"BACKEND": _email_backend, "OPTIONS": _email_options}}
# Those print, keep or drop the mail (Django's check --deploy calls them development-only, mail.E001).
_UNDELIVERING_EMAIL_BACKENDS = {
    f"django.core.mail.backends.{name}.EmailBackend" for name in ("console", "locmem", "dummy", "filebased")
}
if PRODUCTION and _email_backend in _UNDELIVERING_EMAIL_BACKENDS:
    raise ImproperlyConfigured(
        f"EMAIL_BACKEND must deliver mail when DEBUG is false, not {_email_backend}: set it to "
        "django.core.mail.backends.smtp.EmailBackend (with EMAIL_HOST and friends) or an anymail backend"
    )
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Outsourcing Tracker <tracker@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Internationalisation -------------------------------------------------

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("de", _("German"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
# Date formats follow each person's chosen format locale, not only the language (outsourcing.formats).
FORMAT_MODULE_PATH = ["outsourcing.formats"]
USE_I18N = True
TIME_ZONE = "UTC"
USE_TZ = True
# Shown to users in their own zone when it is set, in this one otherwise.
DISPLAY_TIME_ZONE = env_str("DISPLAY_TIME_ZONE", "Europe/Berlin")

# --- Static and uploaded files -------------------------------------------

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("vendor/bootstrap", BASE_DIR / "node_modules" / "bootstrap" / "dist"),
    ("vendor/tom-select", BASE_DIR / "node_modules" / "tom-select" / "dist"),
]
STORAGES = {
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media"))))},
    },
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if not PRODUCTION
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
# Uploaded files are never served from a public URL: views check access first.
# Readable by this user only, like everything under var/.
FILE_UPLOAD_PERMISSIONS = 0o600
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o700
MAX_UPLOAD_SIZE = env_int("MAX_UPLOAD_SIZE", 10 * 1024 * 1024)
# Largest spreadsheet the import reads (engagements/tables/read.py).
TABLE_IMPORT_MAX_BYTES = env_int("TABLE_IMPORT_MAX_BYTES", 10 * 1024 * 1024)
# The largest chat export (WhatsApp .txt/.zip, Telegram result.json, Slack .zip) the upload page takes.
CHAT_IMPORT_MAX_BYTES = env_int("CHAT_IMPORT_MAX_BYTES", 50 * 1024 * 1024)
# Chats with more messages than this are imported by a worker rather than in the request.
CHAT_IMPORT_INLINE_MESSAGES = env_int("CHAT_IMPORT_INLINE_MESSAGES", 5000)
# A background chat import not heard of for this long (no batch written) counts as stalled: Retry is offered.
CHAT_IMPORT_STALLED_MINUTES = env_int("CHAT_IMPORT_STALLED_MINUTES", 10)
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

# --- Security -------------------------------------------------------------

SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "manifest-src": [CSP.SELF],  # /manifest.webmanifest, for "add to home screen"
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "object-src": [CSP.NONE],
}
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the page, not the cookie
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

# --- HTTPS and error pages in production -----------------------------------
# `check --deploy` reports nothing with these defaults (README, "Deploying").
if PRODUCTION:
    # The TLS proxy in front says which scheme the browser used.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 365 * 24 * 3600)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
    SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", True)
    CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", True)
# A load balancer's health check speaks plain HTTP to the app itself.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
# Error pages and mails hide connection strings and passwords, also with DEBUG on.
DEFAULT_EXCEPTION_REPORTER_FILTER = "outsourcing.error_reports.CredentialsFilter"

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

INVITATION_TTL_DAYS = env_int("INVITATION_TTL_DAYS", 7)
# Webhooks to private, loopback or reserved addresses are refused unless allowed
# (an intranet chat server, or tests with a receiver on 127.0.0.1).
WEBHOOK_ALLOW_PRIVATE_ADDRESSES = env_bool("WEBHOOK_ALLOW_PRIVATE_ADDRESSES", False)
# How long a worker's claim on a notification holds; after that a dead worker's
# half-finished delivery is picked up again. Longer than any SMTP/HTTP timeout.
NOTIFICATION_LEASE_SECONDS = env_int("NOTIFICATION_LEASE_SECONDS", 300)

# One JSON object per line in production (LOG_FORMAT=json, the default without DEBUG): ops.requests
# writes one per request and ops.tasks one per task, with the workspace's id and never a body.
LOG_FORMAT = env_str("LOG_FORMAT", "text" if DEBUG else "json")
if LOG_FORMAT not in {"json", "text"}:
    raise ImproperlyConfigured("LOG_FORMAT must be json or text")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
        "text": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    # Request lines only where someone reads them as data; a developer's console has runserver's own.
    "loggers": {
        "ops.requests": {"level": "INFO" if LOG_FORMAT == "json" else "WARNING"},
        # The report PDF (engagements/reports): WeasyPrint and its font subsetting tell every step at INFO.
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
    },
}

# --- Operations: readiness and metrics (ops/) --------------------------------

# /metrics answers only a request bearing this token (Authorization: Bearer ...); unset: 404.
METRICS_TOKEN = env_str("METRICS_TOKEN", "")
# /readyz fails while more tasks than this wait in the broker's default queue.
READY_MAX_QUEUE_DEPTH = env_int("READY_MAX_QUEUE_DEPTH", 10_000)
# Where `make backup` (manage.py backup) makes its folders.
BACKUP_DIR = env_str("BACKUP_DIR", str(VAR_DIR / "backups"))

# --- Rate limits and two-factor login -------------------------------------
# (One block of its own: the security settings above are maintained separately.)

INSTALLED_APPS += ["allauth.mfa", "django_ratelimit"]
# Turns django-ratelimit's refusals into our 429 page (outsourcing.limits.too_many_requests).
MIDDLEWARE += [
    "django_ratelimit.middleware.RatelimitMiddleware",
    "outsourcing.middleware.BackendAwayMiddleware",
]

# Rate-limit counters must be shared by every web process. With REDIS_URL they are in Redis;
# without it, in files under var/ratelimit: the default cache is each process's own memory,
# so gunicorn's workers (or a restart) would each count afresh.
_ratelimit_cache: dict[str, Any] = (
    # Guarded, not forgiving: a count that cannot be read is not a count of 0 (outsourcing/limits.py).
    {**CACHES["default"], "BACKEND": "outsourcing.cache.GuardedRedisCache", "KEY_PREFIX": "rl"}
    if REDIS_URL
    else {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": str(VAR_DIR / "ratelimit"),
        "OPTIONS": {"MAX_ENTRIES": 10_000},
    }
)
CACHES["ratelimit"] = _ratelimit_cache
RATELIMIT_USE_CACHE = "ratelimit"


def rate_limits(raw: str) -> dict[str, str]:
    """RATE_LIMITS="signup_ip=5/h,mail_send_user=60/h": rates in place of outsourcing.limits' defaults."""
    rates: dict[str, str] = {}
    for item in filter(str.strip, raw.split(",")):
        name, _sep, rate = (part.strip() for part in item.partition("="))
        if not name or not re.fullmatch(r"[1-9]\d*/\d*[smhd]", rate):
            raise ImproperlyConfigured(
                f"RATE_LIMITS must be name=count/period pairs such as signup_ip=10/h, not {item.strip()!r}"
            )
        rates[name] = rate
    return rates


# Names are checked against the limits there is (a system check in outsourcing.limits).
RATE_LIMITS = rate_limits(env_str("RATE_LIMITS", ""))
RATELIMIT_VIEW = "outsourcing.limits.too_many_requests"
RATELIMIT_IP_META_KEY = "outsourcing.limits.client_ip"
# django-ratelimit knows neither Django's own RedisCache (atomic INCR) nor a file cache that is
# good enough here: two requests in the same instant may be counted once, a limit stays a limit.
SILENCED_SYSTEM_CHECKS = [
    *globals().get("SILENCED_SYSTEM_CHECKS", []),
    "django_ratelimit.E003",
    "django_ratelimit.W001",
]
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # Indexes with INCLUDE columns (the navigation's index-only counts, engagements/models.py):
    # SQLite builds them without the included columns, the same index minus the covering part.
    SILENCED_SYSTEM_CHECKS.append("models.W040")
# The client's address for these limits is read as allauth reads it, behind
# ALLAUTH_TRUSTED_PROXY_COUNT proxies (TRUSTED_PROXY_COUNT, set with the log-in limits above).

# Two-factor login (allauth.mfa): an authenticator app (TOTP) and recovery codes.
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Outsourcing Tracker"

# --- The REST API (api/) ----------------------------------------------------
# (One block of its own, like the one above.)

INSTALLED_APPS += [
    "rest_framework",
    # Its abstract key model stores our API tokens hashed (api.models.ApiToken).
    "rest_framework_api_key",
    "django_filters",
    "drf_spectacular",
    # Swagger UI and Redoc, served by us (no CDN).
    "drf_spectacular_sidecar",
    "api",
]
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["api.authentication.BearerTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["api.permissions.WorkspaceRole"],
    "DEFAULT_THROTTLE_CLASSES": ["api.throttling.PerToken"],
    "DEFAULT_PAGINATION_CLASS": "api.pagination.Cursor",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "api.schema.AutoSchema",
    "EXCEPTION_HANDLER": "api.errors.exception_handler",
    "UNAUTHENTICATED_USER": None,
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Outsourcing Tracker API",
    "DESCRIPTION": "Providers, engagements, the message log, flags, reviews and reliability figures "
    "of one workspace. Authenticate with `Authorization: Bearer <token>` (a personal API token).",
    "VERSION": "1",
    "OAS_VERSION": "3.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "api.schema.add_error_responses",
    ],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "ProviderStatusEnum": "providers.models.Provider.Status",
        "EngagementStatusEnum": "engagements.models.Engagement.Status",
        "MessageKindEnum": "engagements.models.Message.Kind",
        "FlagKindEnum": "engagements.models.Flag.Kind",
        "ProviderKindEnum": "providers.models.Provider.Kind",
        "RatingEnum": "engagements.models.Review.RATING_CHOICES",
    },
}
# How long a POST's answer is kept for retries with the same Idempotency-Key (api.tasks purges older ones).
API_IDEMPOTENCY_HOURS = env_int("API_IDEMPOTENCY_HOURS", 24)
CELERY_BEAT_SCHEDULE["purge-idempotent-requests"] = {
    "task": "api.tasks.purge_idempotent_requests",
    "schedule": 3600.0,
}
