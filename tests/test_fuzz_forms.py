"""Hostile input to every form and endpoint, as every role: never a server error, nothing half-saved.

The URLs come from the resolver (tests/surface.py), so a new one is fuzzed
without a line here. The fields of each URL's forms are found by opening
every page once as the owner and reading its forms (a GET form's fields go
into the query string, a POST form's into the body); a URL no page has a form
for still gets a few generic fields. Hypothesis then sends, as the owner, a
manager, a member, a viewer or an outsider, values chosen to break things:
dates from year 1 to 9999 and past it, impossible dates, huge and negative
numbers, NaN, NUL and other control characters, line breaks in one-line
fields, 100,000-character text, markup, the ids of another workspace's rows
(in fields and in the URL), and files with odd names and contents.

After every request: no 5xx; a refused request (4xx) changed no row; no
row points across workspaces or lost its other half (tests/consistency.py);
every new invitation was mailed. Each request is rolled back, so each
example starts from the same one-of-everything workspace.

FUZZ_EXAMPLES (default 20) sets the examples per URL: CI keeps the default;
raise it for a deeper run before a release.
"""

from __future__ import annotations

import os
from datetime import date, datetime, timedelta
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client
from django.urls import Resolver404, resolve, reverse
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from outsourcing.models import Invitation
from tests import consistency, surface

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "20"))
# Mostly people who may write, so most examples get past the access checks to the forms.
ROLES = ["owner"] * 4 + ["manager", "member"] * 2 + ["viewer", "outsider", "anonymous"]
# allauth's pages that sit behind our own rate limits (outsourcing/urls.py).
ACCOUNT_ROUTES = [
    surface.Route("account_login", "accounts/login/", "allauth"),
    surface.Route("account_signup", "accounts/signup/", "allauth"),
    surface.Route("account_reset_password", "accounts/password/reset/", "allauth"),
]
ROUTES = {r.name: r for r in [*surface.routes(), *ACCOUNT_ROUTES]}
# Posted where no page shows a form for the URL (the buttons' usual fields, and some more).
GENERIC_FIELDS = ["next", "status", "until", "days", "name", "email", "role", "note", "not_an_answer"]

NASTY = [
    "",
    " ",
    "0",
    "-1",
    "3.5",
    "-99999999999999999999999",
    "99999999999999999999999",
    "1e309",
    "NaN",
    "-inf",
    "0001-01-01",
    "9999-12-31",
    "10000-01-01",
    "2026-02-30",
    "2026-13-01",
    "0000-00-00",
    "31.12.2026",
    "9999-12-31T23:59:59",
    "0001-01-01 00:00",
    "P99999D",
    "\x00",
    "Acme\x00Ltd",
    "Line\nBcc: victim@example.com",
    "\r\n\r\n",
    "\u2028\x85\x0b\x1b\x7f",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "%(title)s %s {0}",
    '=HYPERLINK("http://evil.example")',
    "javascript:alert(1)",
    "//evil.example/",
    "http://127.0.0.1:22/",
    "x@example.com",
    "Ünïcödé 😀",
    "A" * 100_000,
]
PLAUSIBLE = [
    "Ada",
    "Landing page",
    "x@example.com",
    "https://example.com",
    "Europe/Berlin",
    "DE",
    "EUR",
    "on",
]
# Text with the characters forms trip on: controls, NUL, separators, and the rest of Unicode
# (what UTF-8 can carry: a lone surrogate cannot be sent, by a browser or by the test client).
CONTROL_TEXT = st.text(
    alphabet=st.one_of(
        st.sampled_from("\x00\t\n\r\x0b\x0c\x1b\x7f\x85\u2028\u2029"), st.characters(codec="utf-8")
    ),
    max_size=60,
)


class _Forms(HTMLParser):
    """Each form's method, action and fields (name → the values its options offer)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[dict[str, Any]] = []
        self._form: dict[str, Any] | None = None
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._form = {
                "method": a.get("method", "get").lower(),
                "action": a.get("action", ""),
                "fields": {},
            }
            self.forms.append(self._form)
            return
        if self._form is None or not a.get("name") or a["name"] == "csrfmiddlewaretoken":
            if tag == "option" and self._form is not None and self._select:
                self._form["fields"][self._select].add(a.get("value", ""))
            return
        fields = self._form["fields"]
        if tag == "button":
            # A submit button's name and value are posted with the form (status changes, actions).
            fields.setdefault(a["name"], set()).add(a.get("value", ""))
        elif tag in ("input", "textarea"):
            options = fields.setdefault(a["name"], set())
            kind = a.get("type", "text") if tag == "input" else "text"
            if kind == "file":
                options.add(FILE)
            else:
                options.add(TYPE + kind)
                if a.get("value"):
                    options.add(a["value"])
        elif tag == "select":
            self._select = a["name"]
            fields.setdefault(a["name"], set())

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None


FILE = "<file>"
TYPE = "<type>"  # an input's type, among its options: "<type>date"
# (route name, method) → field name → option values seen; filled once per test process (_crawl).
FIELDS: dict[tuple[str, str], dict[str, set[str]]] = {}


def _route_of(action: str, page: str) -> str | None:
    try:
        return resolve(urlsplit(action or page).path).view_name
    except Resolver404:
        return None


def _crawl(world: surface.World) -> None:
    """Open every page as the owner once, and as a visitor (the account pages), and note every form's fields."""
    owner = Client()
    owner.force_login(world.users["owner"])
    for route, client in [(r, c) for r in ROUTES.values() for c in (owner, Client())]:
        try:
            page = surface.url_for(route, world, world.users["owner"])
        except KeyError:
            continue
        response = client.get(page)
        if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
            continue
        parser = _Forms()
        parser.feed(response.content.decode(errors="replace"))
        for form in parser.forms:
            name = _route_of(form["action"], page)
            if name is None:
                continue
            fields = FIELDS.setdefault((name, "post" if form["method"] == "post" else "get"), {})
            for field, options in form["fields"].items():
                fields.setdefault(field, set()).update(options)
    FIELDS.setdefault(("crawled", "get"), {})


def _ids(world: surface.World) -> list[str]:
    """Every id in the world, both workspaces': the foreign ones are what a form must refuse."""
    # An API token's pk is text (its prefix and hash), every other pk a number.
    ids = {str(obj.pk) for side in (world.mine, world.theirs) for obj in side.objects.values()}
    ids |= {str(user.pk) for user in world.users.values() if user is not None}
    return sorted(ids)


def _file(draw: Any) -> SimpleUploadedFile:
    name = draw(st.sampled_from(["a.pdf", "x\r\n.eml", "\x00.mbox", "../../etc/passwd", "😀" * 80 + ".txt"]))
    content = draw(
        st.one_of(
            st.binary(max_size=2000),
            st.just(surface.PDF),
            st.just(b"From a@b Mon Jan  1 00:00:00 2026\nSubject: \x00\nIn-Reply-To: <\x00>\n\nhi\n"),
        )
    )
    kind = draw(st.sampled_from(["application/pdf", "application/octet-stream", "text/plain"]))
    return SimpleUploadedFile(name, content, content_type=kind)


def _hostile(draw: Any, ids: list[str]) -> str:
    return draw(
        st.one_of(
            st.sampled_from(NASTY),
            CONTROL_TEXT,
            st.integers(min_value=-(2**70), max_value=2**70).map(str),
            st.dates(min_value=date(1, 1, 1)).map(date.isoformat),
            st.sampled_from(ids),
        )
    )


def _plausible(draw: Any, options: set[str]) -> str:
    """A value a person might type: the page's own choices and current values, a date soon, a small number."""
    today = timezone.localdate()
    kinds = {o.removeprefix(TYPE) for o in options if o.startswith(TYPE)}
    values = sorted(o for o in options if not o.startswith(TYPE) and o != FILE)
    by_kind = {
        # One date for every date field: a start and an end in order, so the form gets past them.
        "date": st.just((today + timedelta(days=7)).isoformat()),
        "datetime-local": st.datetimes(
            min_value=datetime(today.year - 1, 1, 1), max_value=datetime(today.year, today.month, 1)
        ).map(lambda d: d.strftime("%Y-%m-%dT%H:%M")),
        "number": st.integers(min_value=0, max_value=100).map(str),
        "email": st.just("x@example.com"),
        "url": st.just("https://example.com"),
        "checkbox": st.sampled_from(values or ["on"]),
        "radio": st.sampled_from(values or ["on"]),
    }
    for kind in kinds:
        if kind in by_kind:
            return draw(by_kind[kind])
    if values:  # a select's choices, or the field's current value
        return draw(st.one_of(st.sampled_from(values), st.sampled_from(PLAUSIBLE)))
    return draw(st.sampled_from(PLAUSIBLE))


def _now_and_then(draw: Any, one_in: int) -> bool:
    """True about once in ``one_in`` draws. On the largest value, not 0: Hypothesis favours small ones."""
    return draw(st.integers(min_value=1, max_value=one_in)) == one_in


def _data(draw: Any, route: surface.Route, method: str, ids: list[str]) -> dict[str, Any]:
    """The fields of the URL's form: one of them hostile and the rest plausible (so the form gets past
    the others to it), or now and then all of them hostile; a field may be missing or come twice."""
    known = FIELDS.get((route.name, method))
    fields = dict(known) if known else ({name: set() for name in GENERIC_FIELDS} if method == "post" else {})
    names = sorted(fields)
    target = draw(st.sampled_from(names)) if names else None
    all_hostile = _now_and_then(draw, 5)
    data: dict[str, Any] = {}
    for name in names:
        options = fields[name]
        if _now_and_then(draw, 15):
            continue  # a field the form expects is missing
        hostile = all_hostile or name == target
        values = [
            _file(draw) if FILE in options else _hostile(draw, ids) if hostile else _plausible(draw, options)
            for _n in range(2 if _now_and_then(draw, 10) else 1)
        ]
        data[name] = values if len(values) > 1 else values[0]
    return data


def _fuzz(team, route: surface.Route, world: surface.World, draw: Any) -> None:
    role = draw(st.sampled_from(ROLES))
    # Mostly the method the URL's form uses.
    usual = "post" if (route.name, "post") in FIELDS or (route.name, "get") not in FIELDS else "get"
    method = draw(st.sampled_from([usual, usual, usual, "get" if usual == "post" else "post"]))
    foreign = _now_and_then(draw, 4) if len(route.params) > 1 else False
    user = world.users[role]
    url = surface.url_for(route, world, user, foreign=foreign)
    data = _data(draw, route, method, _ids(world))
    htmx = {"HTTP_HX_REQUEST": "true"} if _now_and_then(draw, 5) else {}
    client = team.client_for(user)
    mail.outbox = []
    with transaction.atomic():
        before = surface.counts()
        invitations = set(Invitation.objects.values_list("pk", flat=True))
        response = getattr(client, method)(url, data, **htmx)
        status = response.status_code
        assert status < 500, f"{method.upper()} {route.name} as {role}: {status}"
        if 400 <= status < 500:
            assert surface.counts() == before, f"{method.upper()} {route.name} as {role}: refused, yet saved"
        assert consistency.problems() == [], f"{method.upper()} {route.name} as {role}"
        mailed = {address for message in mail.outbox for address in message.to}
        for invitation in Invitation.objects.exclude(pk__in=invitations):
            assert invitation.email in mailed, f"an invitation to {invitation.email!r} was saved, not mailed"
        transaction.set_rollback(True)


@pytest.mark.parametrize("name", sorted(ROUTES))
def test_hostile_input_gives_no_server_error_and_saves_nothing_half(team, name):
    route = ROUTES[name]
    world = surface.build_world(team)
    if ("crawled", "get") not in FIELDS:
        _crawl(world)
    assert consistency.problems() == []

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(st.data())
    def fuzz(data: st.DataObject) -> None:
        _fuzz(team, route, world, data.draw)

    fuzz()


def test_the_crawl_finds_the_forms_of_the_main_pages(team):
    """The fuzz test reaches past the generic fields: the crawl reads the real forms."""
    FIELDS.clear()
    _crawl(surface.build_world(team))
    assert {"title", "provider", "due_on"} <= set(FIELDS[("engagements:create", "post")])
    assert {"starts_on", "ends_on"} <= set(FIELDS[("providers:absence_add", "post")])
    assert ("reliability:dashboard", "get") in FIELDS
    assert reverse("home") is not None
