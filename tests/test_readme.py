"""The README's configuration tables name every variable the settings read, and the deployment section
every security variable."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
SETTINGS = (ROOT / "outsourcing" / "settings.py").read_text()
DEPLOYING = README[README.index("## Deploying") : README.index("## Receiving flag webhooks")]
# Read by settings.py through env_str/env_bool/env_int/env_list or os.environ.
READ = set(re.findall(r'env_(?:str|bool|int|list)\(\s*"([A-Z_]+)"', SETTINGS)) | set(
    re.findall(r'environ\.get\("([A-Z_]+)"', SETTINGS)
)
SECURITY = {
    "DEBUG",
    "SECRET_KEY",
    "SECRET_KEY_FALLBACKS",
    "ALLOWED_HOSTS",
    "CSRF_TRUSTED_ORIGINS",
    "SITE_URL",
    "EMAIL_BACKEND",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "TRUSTED_PROXY_COUNT",
    "ACCOUNT_EMAIL_VERIFICATION",
    "RATE_LIMITS",
    "ANYMAIL_WEBHOOK_SECRET",
    "MAILGUN_WEBHOOK_SIGNING_KEY",
    "FIELD_ENCRYPTION_SALT",
    "MAIL_IMAP_ALLOW_PRIVATE_ADDRESSES",
    "WEBHOOK_ALLOW_PRIVATE_ADDRESSES",
    "MAX_UPLOAD_SIZE",
    "MAIL_UPLOAD_MAX_BYTES",
    "MAIL_MAX_BYTES",
    "INVITATION_TTL_DAYS",
    "MEDIA_ROOT",
}


def test_the_settings_read_what_this_test_expects():
    assert len(READ) > 40
    assert SECURITY <= READ


def test_every_variable_the_settings_read_is_in_the_readme():
    assert {name for name in READ if f"`{name}`" not in README} == set()


def test_the_deployment_section_lists_every_security_variable():
    assert {name for name in SECURITY if f"`{name}`" not in DEPLOYING} == set()


def test_the_deployment_section_names_what_check_deploy_checks():
    for check in ("W001", "W002", "W003", "W004", "W005", "W006", "W008", "W009", "W012", "W016", "W018"):
        assert check in DEPLOYING
    for check in ("W019", "W020", "W021", "W022", "W025", "E001"):
        assert check in DEPLOYING
