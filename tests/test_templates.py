"""Rules every template of the project keeps, checked by reading the template files."""

from __future__ import annotations

import re
from pathlib import Path

from django.conf import settings
from django.template import engines

# {% querystring %} already starts with "?": a "?" or "&" in front makes "??a=1", and the
# browser then reads the first parameter as "?a", so it is silently dropped.
QUERYSTRING_AFTER_SEPARATOR = re.compile(r"[?&]\s*\{%-?\s*querystring\b")


def _project_templates() -> list[Path]:
    """Every .html template Django loads from the project itself (installed packages left out)."""
    base = Path(settings.BASE_DIR).resolve()
    ignored = {".venv", "node_modules", "staticfiles", "var"}
    found: set[Path] = set()
    for name in engines["django"].template_dirs:
        directory = Path(name).resolve()
        if not directory.is_relative_to(base) or ignored & set(directory.relative_to(base).parts):
            continue
        found.update(directory.rglob("*.html"))
    return sorted(found)


def test_the_scan_reads_the_templates_of_every_app():
    names = {path.relative_to(settings.BASE_DIR).as_posix() for path in _project_templates()}
    assert "templates/base.html" in names
    assert "engagements/templates/engagements/reliability/leaderboard.html" in names
    assert "providers/templates/providers/provider_list.html" in names


def test_no_template_puts_a_question_mark_or_ampersand_before_querystring():
    offenders = [
        f"{path.relative_to(settings.BASE_DIR)}:{text.count(chr(10), 0, match.start()) + 1}"
        for path in _project_templates()
        for text in [path.read_text(encoding="utf-8")]
        for match in QUERYSTRING_AFTER_SEPARATOR.finditer(text)
    ]
    assert offenders == []
