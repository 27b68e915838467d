"""German ships complete: every string in the code is in the catalog, translated."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import translation

PO = Path(__file__).resolve().parents[1] / "locale" / "de" / "LC_MESSAGES" / "django.po"
IGNORE = [".venv", "node_modules", "staticfiles", "var", "tests", "bench"]


def _catalog(path: Path):
    with path.open("rb") as handle:
        return read_po(handle)


def _untranslated(message) -> bool:
    if isinstance(message.string, tuple):
        return not all(message.string)
    return not message.string


def test_every_german_entry_is_translated_and_none_is_fuzzy():
    catalog = _catalog(PO)
    missing = [m.id for m in catalog if m.id and _untranslated(m)]
    fuzzy = [m.id for m in catalog if m.id and m.fuzzy]
    assert missing == []
    assert fuzzy == []


def test_the_catalog_holds_every_string_the_code_marks(tmp_path):
    if shutil.which("xgettext") is None:
        pytest.fail("gettext is required (apt-get install gettext)")
    saved = PO.read_bytes()
    try:
        call_command("makemessages", locale=["de"], ignore_patterns=IGNORE, verbosity=0)
        extracted = {m.id for m in _catalog(PO) if m.id}
    finally:
        PO.write_bytes(saved)
    shipped = {m.id for m in _catalog(PO) if m.id}
    assert sorted(str(i) for i in extracted - shipped) == []


@pytest.mark.django_db
def test_a_page_renders_in_german_after_switching_language():
    client = Client()
    client.post(reverse("set_language"), {"language": "de", "next": "/"})
    response = client.get(reverse("account_login"))
    assert response.headers["Content-Language"] == "de"
    with translation.override("de"):
        expected = translation.gettext("Sign up")
    assert expected != "Sign up"
    assert expected in response.content.decode()
