"""The navigation's ``{% route %}``: the URL Django reverses, resolved once per process."""

from __future__ import annotations

import pytest
from django.template import Context, Template
from django.urls import reverse, set_script_prefix

from outsourcing.templatetags.tracker import route


@pytest.mark.parametrize("name", ["engagements:list", "engagements:attention", "search:results", "members"])
def test_a_workspace_route_is_the_url_django_reverses(name):
    for ws in ("acme", "other-co", "a1"):
        assert route(name, ws) == reverse(name, kwargs={"ws": ws})


@pytest.mark.parametrize("name", ["home", "account_login", "workspace_new", "web_manifest"])
def test_a_route_without_a_workspace_is_the_url_django_reverses(name):
    assert route(name) == reverse(name)


def test_a_route_follows_the_script_prefix_it_is_served_under():
    try:
        set_script_prefix("/tracker/")
        assert route("engagements:list", "acme") == "/tracker/w/acme/engagements/"
    finally:
        set_script_prefix("/")
    assert route("engagements:list", "acme") == "/w/acme/engagements/"


def test_the_tag_stores_a_route_under_a_name_as_the_url_tag_does():
    html = Template(
        "{% load tracker %}{% route 'engagements:list' slug as url %}<a href=\"{{ url }}\">{% route 'home' %}</a>"
    ).render(Context({"slug": "acme"}))
    assert html == f'<a href="{reverse("engagements:list", kwargs={"ws": "acme"})}">{reverse("home")}</a>'
