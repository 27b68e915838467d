"""Needs attention's rows, written in Python (engagements/templatetags/attention_rows.py), read exactly
as the templates they replaced did: every flag kind and state, every request state, our answers,
a provider's group, with and without the rights to act, in English and German.

The old templates are kept in tests/engagements/fixtures/attention_rows/ as they were.
"""

from __future__ import annotations

import zoneinfo
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from django.template import Context, Engine, Template, engines
from django.utils import timezone, translation
from django.utils.html import conditional_escape
from django.utils.safestring import mark_safe

from engagements import deadlines
from engagements.models import Engagement, Exchange, Flag
from engagements.queries import ProviderFlags
from engagements.reliability.outlook import ReplyOutlook
from engagements.reliability.statistics import ConditionalReply
from outsourcing import formats as format_locales
from outsourcing.escaping import esc as _esc
from outsourcing.models import User, Workspace
from providers.models import Provider

OLD = Path(__file__).parent / "fixtures" / "attention_rows"
OLD_TEMPLATES = {
    f"engagements/{name}.html": (OLD / f"{name}.html").read_text(encoding="utf-8")
    for name in ("_flag", "_attention_exchange", "_attention_our_answer", "_provider_flags")
}
# The project's tag libraries, the old templates from the fixtures.
ENGINE = Engine(
    loaders=[("django.template.loaders.locmem.Loader", OLD_TEMPLATES)],
    libraries=engines["django"].engine.libraries,  # type: ignore[attr-defined]
)
BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
# Noon in Berlin: "P" writes "noon"; the dates below fall on midnight, 9:05 and the afternoon too.
NOW = datetime(2026, 3, 10, 11, 0, tzinfo=timezone.UTC)

OUTLOOKS = [
    ReplyOutlook(7, 3600 * 1.5, 8 * 3600, ConditionalReply(1.5, 8, 12, 0.4166666667, 0.2, 0.65, 0.25), 30),
    ReplyOutlook(12345, 3600 * 40, 8 * 3600, ConditionalReply(40, 8, 1, 1.0, 0.05, 1.0, 0.0), 8),
]

WORKSPACE = Workspace(pk=3, name="Acme", slug="acme-co")
ANNA = User(pk=5, email="anna@example.com", first_name="Anna", last_name="O'Neil & <Co>")
BEN = User(pk=6, email="ben@example.com")
MARIA = Provider(pk=11, workspace=WORKSPACE, name="Maria")
SONS = Provider(pk=12, workspace=WORKSPACE, name="O'Brien & <Sons>")


def engagement(pk: int, title: str, provider: Provider, owner: User | None, **fields) -> Engagement:
    return Engagement(pk=pk, workspace=WORKSPACE, title=title, provider=provider, owner=owner, **fields)


def exchange(pk: int, on: Engagement, *, state: str = "not_due", **fields) -> Exchange:
    """A request; ``state`` as the attention view marks it (``deadlines.exchange_state_key``)."""
    fields.setdefault("requested_at", NOW - timedelta(days=3, hours=2))
    made = Exchange(pk=pk, workspace=WORKSPACE, engagement=on, **fields)
    made.state = state
    return made


def flag(pk: int, kind: str, on: Engagement, *, of: Exchange | None = None, **fields) -> Flag:
    return Flag(pk=pk, workspace=WORKSPACE, engagement=on, exchange=of, kind=kind, **fields)


def flags() -> dict[str, Flag]:
    """One flag of each kind and state the rows tell apart."""
    logo = engagement(21, "Logo <redesign> & 'more'", SONS, ANNA)
    site = engagement(22, "Website", MARIA, None, last_outbound_at=NOW - timedelta(hours=5))
    copy = engagement(23, "Copy", MARIA, BEN, last_outbound_at=NOW - timedelta(days=9))
    chased = exchange(
        31, logo, followups=2, last_followup_at=datetime(2026, 3, 9, 23, 0, tzinfo=timezone.UTC)
    )
    quiet = exchange(32, site)
    cases = {
        "reply overdue, chased, with an outlook": flag(
            41, Flag.Kind.REPLY_OVERDUE, logo, of=chased, due_at=NOW - timedelta(days=2, hours=3)
        ),
        "reply overdue, not chased, no owner": flag(
            42, Flag.Kind.REPLY_OVERDUE, site, of=quiet, due_at=NOW - timedelta(seconds=20)
        ),
        "ghosted, snoozed until later": flag(
            43,
            Flag.Kind.GHOSTED,
            logo,
            of=chased,
            due_at=NOW - timedelta(days=12),
            snoozed_until=NOW + timedelta(days=3),
        ),
        "ghosted, snoozed until a past day": flag(
            44,
            Flag.Kind.GHOSTED,
            site,
            of=quiet,
            due_at=NOW - timedelta(hours=7),
            snoozed_until=NOW - timedelta(days=1),
        ),
        "delivery overdue, followed up since": flag(
            45, Flag.Kind.DELIVERY_OVERDUE, site, due_at=NOW - timedelta(days=1, minutes=7)
        ),
        "delivery overdue, not followed up": flag(
            46, Flag.Kind.DELIVERY_OVERDUE, copy, due_at=NOW - timedelta(days=3)
        ),
        "bounced, with the server's reason": flag(
            47,
            Flag.Kind.BOUNCED,
            logo,
            of=chased,
            due_at=NOW - timedelta(hours=1),
            reason="550 <no such user> & gone",
        ),
        "bounced, snoozed, no reason": flag(
            48,
            Flag.Kind.BOUNCED,
            copy,
            due_at=NOW - timedelta(days=1),
            snoozed_until=NOW + timedelta(hours=30),
        ),
        "resolved: dismissed with a reason": flag(
            49,
            Flag.Kind.REPLY_OVERDUE,
            logo,
            of=chased,
            due_at=NOW - timedelta(days=4),
            resolved_at=NOW - timedelta(hours=2),
            resolution=Flag.Resolution.DISMISSED,
            reason="Talked on the phone & agreed",
        ),
        "resolved: replied, once snoozed": flag(
            50,
            Flag.Kind.GHOSTED,
            site,
            of=quiet,
            due_at=NOW - timedelta(days=4),
            resolved_at=datetime(2026, 3, 9, 23, 0, tzinfo=timezone.UTC),
            resolution=Flag.Resolution.REPLIED,
            snoozed_until=NOW + timedelta(days=1),
        ),
    }
    cases["reply overdue, chased, with an outlook"].reply_outlook = OUTLOOKS[0]
    cases["ghosted, snoozed until later"].reply_outlook = OUTLOOKS[1]
    return cases


FLAGS = list(flags())


def page(*, can_edit: bool = True, bulk_form: str | None = "bulk-flags", show_engagement: bool | None = True):
    """What a page gives its rows; None leaves a key out, as the engagement page does."""
    context = {
        "workspace": WORKSPACE,
        "csrf_token": "t0k3n",
        "can_edit": can_edit,
        "now": NOW,
        "back": "/w/acme-co/engagements/attention/?mine=1&order=never",
        "flag_snooze_fields": mark_safe('<input type="hidden" name="next" value="x">snooze fields'),
        "flag_dismiss_fields": mark_safe("dismiss fields"),
    }
    if bulk_form is not None:
        context["bulk_form"] = bulk_form
    if show_engagement is not None:
        context["show_engagement"] = show_engagement
    return context


PAGES = [
    page(),
    page(can_edit=False),
    page(bulk_form=""),
    page(can_edit=False, bulk_form=""),
    page(show_engagement=False),
    page(can_edit=False, show_engagement=False),
    page(bulk_form=None, show_engagement=None),
    {key: value for key, value in page().items() if key not in ("csrf_token", "now", "back")},
]


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False), timezone.override(BERLIN):
        yield


def both(old: str, new: str, context: dict, language: str) -> tuple[str, str]:
    """What the old template and the tag render from ``context`` in ``language``."""
    with translation.override(language):
        before = ENGINE.from_string(old).render(Context(context))
        after = Template("{% load attention_rows %}" + new).render(Context(context))
    return before, after


def each(partial: str, tag: str, var: str, rows: list, context: dict, language: str) -> tuple[str, str]:
    """``rows`` rendered by the old ``partial`` included for each, and by ``tag``."""
    return both(
        f'{{% for {var} in rows %}}{{% include "engagements/{partial}" %}}{{% endfor %}}',
        f"{{% for {var} in rows %}}{{% {tag} {var} %}}{{% endfor %}}",
        {**context, "rows": rows},
        language,
    )


@pytest.mark.parametrize("language", ["en", "de"])
@pytest.mark.parametrize("case", FLAGS)
def test_a_flag_row_reads_as_its_template_did_on_every_kind_of_page(language, case):
    for context in PAGES:
        before, after = both(
            '{% include "engagements/_flag.html" %}',
            "{% flag_row flag %}",
            {**context, "flag": flags()[case]},
            language,
        )
        assert after == before, context


@pytest.mark.parametrize("language", ["en", "de"])
def test_an_engagements_flag_rows_leave_the_engagement_out_as_the_include_with_show_engagement_did(language):
    context = {**page(show_engagement=None, bulk_form=None), "flags": list(flags().values())}
    before, after = both(
        '{% for flag in flags %}{% include "engagements/_flag.html" with show_engagement=False %}{% endfor %}',
        "{% for flag in flags %}{% flag_row flag show_engagement=False %}{% endfor %}",
        context,
        language,
    )
    assert after == before
    assert 'class="fw-semibold"' not in after


@pytest.mark.parametrize("language", ["en", "de"])
@pytest.mark.parametrize("format_locale", [None, format_locales.UK, format_locales.DE, format_locales.US])
def test_many_flag_rows_on_one_page_read_as_their_templates_did_in_each_date_format(language, format_locale):
    with format_locales.override(format_locale):
        before, after = each("_flag.html", "flag_row", "flag", list(flags().values()) * 2, page(), language)
    assert after == before
    assert after.count('data-testid="flag-row"') == 2 * len(FLAGS)


def exchanges() -> list[Exchange]:
    """Requests not due yet and past due, with and without a deadline, follow-ups and an outlook."""
    logo = engagement(21, "Logo <redesign> & 'more'", SONS, ANNA)
    site = engagement(22, "Website", MARIA, None)
    rows = [
        exchange(31, logo, reply_due_at=NOW + timedelta(hours=5, minutes=3), state="not_due", followups=0),
        exchange(
            32,
            site,
            reply_due_at=datetime(2026, 3, 10, 23, 0, tzinfo=timezone.UTC),
            state="not_due",
            followups=1,
            last_followup_at=NOW - timedelta(hours=1),
        ),
        exchange(33, logo, reply_due_at=NOW - timedelta(days=2), state="overdue", followups=2),
        exchange(34, site, reply_due_at=NOW - timedelta(minutes=2), state="ghosted", followups=7),
        exchange(35, site, reply_due_at=None, state="not_due", requested_at=NOW - timedelta(seconds=30)),
        exchange(36, logo, reply_due_at=NOW + timedelta(days=3), state="not_due", followups=1),
    ]
    for row in rows:
        if row.reply_due_at is not None:
            row.due_in = row.reply_due_at - NOW
    rows[0].reply_outlook = OUTLOOKS[0]
    rows[2].reply_outlook = OUTLOOKS[1]
    rows[3].reply_outlook = None
    return rows


def our_answers() -> list[Engagement]:
    """Engagements whose answer we owe past our allowance, as ``deadlines.mark_whose_turn`` leaves them."""
    rows = [
        engagement(21, "Logo <redesign> & 'more'", SONS, ANNA),
        engagement(22, "Website", MARIA, None),
        engagement(23, "Copy", MARIA, BEN),
    ]
    waited = [timedelta(days=3, hours=4), timedelta(hours=26, minutes=5), timedelta(seconds=40)]
    for row, since in zip(rows, waited, strict=True):
        ours = deadlines.Obligation(
            deadlines.US,
            deadlines.ANSWER,
            deadlines.IS_OVERDUE,
            NOW,
            since=NOW - since,
            due_at=NOW - since + timedelta(hours=8),
        )
        row.turn = deadlines.Turn("open", (ours,))
    return rows


@pytest.mark.parametrize("language", ["en", "de"])
@pytest.mark.parametrize("can_edit", [True, False])
@pytest.mark.parametrize(
    ("partial", "tag", "var", "rows", "testid"),
    [
        ("_attention_exchange.html", "exchange_row", "x", exchanges, "exchange-row"),
        ("_attention_our_answer.html", "our_answer_row", "e", our_answers, "our-answer-row"),
    ],
    ids=["requests", "our answers"],
)
def test_request_and_our_answer_rows_read_as_their_templates_did(
    language, can_edit, partial, tag, var, rows, testid
):
    shown = rows()
    before, after = each(partial, tag, var, shown, page(can_edit=can_edit), language)
    assert after == before
    assert after.count(f'data-testid="{testid}"') == len(shown)


def groups() -> list[ProviderFlags]:
    """A provider with one flag, one with several (a bounce among them), one with only a bounce."""
    cases = flags()
    open_ones = [f for f in cases.values() if f.resolved_at is None]
    return [
        ProviderFlags(provider=MARIA, flags=[cases["reply overdue, not chased, no owner"]]),
        ProviderFlags(provider=SONS, flags=open_ones),
        ProviderFlags(provider=SONS, flags=[cases["bounced, with the server's reason"]]),
    ]


@pytest.mark.parametrize("language", ["en", "de"])
@pytest.mark.parametrize("context", range(len(PAGES)))
def test_a_providers_group_of_flags_reads_as_its_template_did(language, context):
    before, after = each(
        "_provider_flags.html", "provider_flags", "group", groups(), PAGES[context], language
    )
    assert after == before
    assert after.count('data-testid="provider-group"') == 3


def test_the_fixtures_cover_both_states_of_every_choice_a_row_makes():
    cases = list(flags().values())
    assert {f.kind for f in cases} == set(Flag.Kind.values)
    assert any(f.resolved_at for f in cases) and any(not f.resolved_at for f in cases)
    assert any(f.snoozed_until and f.snoozed_until > NOW for f in cases)
    assert any(f.snoozed_until and f.snoozed_until < NOW for f in cases)
    assert any(f.engagement.owner is None for f in cases) and any(f.engagement.owner for f in cases)
    assert any(getattr(f, "reply_outlook", None) for f in cases)
    assert {x.followups for x in exchanges()} >= {0, 1, 2}
    assert {x.state for x in exchanges()} >= {"not_due", "overdue"}


@pytest.mark.parametrize(
    "value",
    [
        'O\'Brien & <Sons> "quoted"',
        mark_safe("<b>kept</b>"),
        12345,
        Flag.Kind.BOUNCED,
        Flag.Kind.GHOSTED.label,
    ],
)
def test_the_rows_escape_a_value_as_conditional_escape_does(value):
    with translation.override("de"):
        assert _esc(value) == conditional_escape(value)
