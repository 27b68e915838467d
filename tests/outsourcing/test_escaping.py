"""Our row renderers' escaping writes what Django's ``conditional_escape`` writes."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils.functional import lazy
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy

from outsourcing.escaping import esc

lazy_safe = lazy(lambda: mark_safe("<b>kept</b>"), SafeString)()


@pytest.mark.parametrize(
    "value",
    [
        "plain",
        "<script>alert('x')</script> & \"quoted\"",
        mark_safe("<b>already safe</b>"),
        gettext_lazy("Needs attention"),
        lazy_safe,
        42,
        Decimal("1.50"),
        None,
        "",
    ],
)
def test_esc_writes_what_conditional_escape_writes(value):
    assert esc(value) == str(conditional_escape(value))


def test_esc_escapes_user_text_and_keeps_safe_markup():
    assert esc("<b>Anna & Co</b>") == "&lt;b&gt;Anna &amp; Co&lt;/b&gt;"
    assert esc(mark_safe("<b>ok</b>")) == "<b>ok</b>"
