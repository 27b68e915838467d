"""What error pages and error mails show: Django's filter, also hiding connection strings.

Django hides settings named like ``*PASS*``, ``*KEY*`` or ``*TOKEN*``, but
shows ``DATABASE_URL``, ``REDIS_URL`` and ``CELERY_BROKER_URL`` as they are,
passwords included, on the settings list, in ``request.META`` (runserver
copies the environment there) and in the traceback's local variables. This
filter hides those settings by name too, and masks the password of any URL
(``scheme://user:password@host``) or ``password=…`` pair wherever it shows up.
"""

from __future__ import annotations

import re
from collections.abc import ItemsView, Mapping
from typing import Any

from django.http import HttpRequest
from django.template.defaultfilters import pprint
from django.views.debug import SafeExceptionReporterFilter

# The password of a URL, up to the last "@" before the host (an unescaped "@" in it is common).
_URL_PASSWORD = re.compile(r"(?P<head>\b[a-z][a-z0-9+.\-]*://[^\s:/@]*:)[^\s/]*@", re.IGNORECASE)
# libpq's "host=… password=…" and a password in a query string.
_PASSWORD_PAIR = re.compile(r"(?P<head>\b(?:password|passwd|pwd)\s*=\s*)[^\s&;,]+", re.IGNORECASE)


def mask_credentials(text: str, substitute: str = SafeExceptionReporterFilter.cleansed_substitute) -> str:
    """``text`` with the passwords of URLs and of ``password=…`` pairs replaced by ``substitute``."""
    text = _URL_PASSWORD.sub(lambda m: f"{m['head']}{substitute}@", text)
    return _PASSWORD_PAIR.sub(lambda m: f"{m['head']}{substitute}", text)


class _Shown:
    """A frame variable as the error page prints it, already masked."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


class CredentialsFilter(SafeExceptionReporterFilter):
    """Django's filter, hiding connection-string settings and any password in a URL as well."""

    hidden_settings = re.compile(
        SafeExceptionReporterFilter.hidden_settings.pattern
        + "|DATABASE_URL|REDIS_URL|BROKER_URL|RESULT_BACKEND|LOCATION|DSN|CREDENTIAL",
        flags=re.IGNORECASE,
    )

    def cleanse_setting(self, key: Any, value: Any) -> Any:
        if isinstance(value, Mapping) and not isinstance(value, dict):
            value = dict(value)  # os.environ and the like, cleansed key by key as dicts are
        cleansed = super().cleanse_setting(key, value)
        return mask_credentials(cleansed) if isinstance(cleansed, str) else cleansed

    def get_traceback_frame_variables(
        self, request: HttpRequest | None, tb_frame: Any
    ) -> ItemsView[str, Any]:
        shown = {}
        for name, value in super().get_traceback_frame_variables(request, tb_frame):
            # Printed here as the page would (a broken repr says so), to mask what it prints.
            text = pprint(self.cleanse_setting("", value))
            shown[name] = _Shown(mask_credentials(text))
        return shown.items()
