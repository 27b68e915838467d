"""The engagement list's and the leaderboard's table rows, written in Python, read exactly as the
template loops they replaced did."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.template import Context, Template
from django.utils import timezone, translation

from engagements.deadlines import Obligation, Turn
from engagements.models import Engagement
from engagements.reliability.metrics import Mean, Metrics, ReplyTimes, Spend
from engagements.reliability.pages import Row
from engagements.reliability.statistics import Interval, Score
from engagements.templatetags.list_rows import whose_turn_short
from engagements.views import DESCENDING_FIRST, SORT_COLUMNS
from outsourcing.models import User
from outsourcing.sorting import sort_columns
from providers.models import Provider

# The row loops of engagements/list.html and engagements/reliability/leaderboard.html as they were
# before the tags replaced them (the list's includes are the partials still in templates/).
LIST_LOOP = """  {% translate "Owner" as owner_label %}{% translate "Fee" as fee_label %}
  {% for e in page_obj %}
    <tr data-testid="engagement-row">
      {% if bulk_form %}<td class="card-select"><input type="checkbox" class="form-check-input" name="engagements" value="{{ e.pk }}" form="bulk-engagements" aria-label="{% blocktranslate with title=e.title %}Select {{ title }}{% endblocktranslate %}" data-testid="engagement-select"></td>{% endif %}
      <td data-testid="cell-title"><a href="{% pk_url 'engagements:detail' workspace.slug e.pk %}">{{ e.title }}</a>{% if e.client_name %}<div class="small text-body-secondary">{{ e.client_name }}</div>{% endif %}</td>
      <td data-label="{{ columns.provider.label }}">{{ e.provider.name }}</td>
      <td data-label="{{ owner_label }}">{% if e.owner %}{{ e.owner.display_name }}{% else %}<span class="text-body-secondary">—</span>{% endif %}</td>
      <td data-label="{{ columns.status.label }}" data-testid="cell-status"><span class="badge {{ e.status|status_badge }}">{{ e.get_status_display }}</span></td>
      <td data-label="{{ columns.priority.label }}">{% include "engagements/_priority.html" with engagement=e %}</td>
      <td data-label="{{ columns.due.label }}" data-testid="cell-due">{% if e.due_on %}<span class="{% if e.delivery_is_overdue %}text-danger fw-semibold{% endif %}">{{ e.due_on|date:"SHORT_DATE_FORMAT" }}</span>{% if e.delivery_is_overdue %} <span class="visually-hidden">{% translate "overdue" %}</span>{% endif %}{% endif %}</td>
      <td class="small" data-label="{{ columns.silent.label }}" data-testid="cell-turn">{% include "engagements/_whose_turn_short.html" with engagement=e %}</td>
      <td class="text-end text-nowrap" data-label="{{ fee_label }}">{% money e.fee_amount e.fee_currency %}</td>
      <td class="small text-nowrap" data-label="{{ columns.created.label }}">{{ e.created_at|date:"SHORT_DATE_FORMAT" }}</td>
    </tr>
  {% endfor %}
"""

LEADERBOARD_LOOP = """  {% translate "Within the policy" as within_label %}{% translate "Ghosted" as ghosted_label %}{% translate "Quality" as quality_label %}
  {% for row in page_obj %}{% with m=row.m %}
    <tr data-testid="leaderboard-row" data-provider="{{ row.provider.pk }}">
      <td class="text-end text-body-secondary" data-label="#" data-testid="rank">{% if row.rank %}{{ row.rank }}{% else %}<span title="{% translate 'No rank: too little data for a score.' %}">—</span>{% endif %}</td>
      <td><a href="{% url 'reliability:scorecard' ws=workspace.slug pk=row.provider.pk %}{{ scorecard_query }}">{{ row.provider.name }}</a><div class="small text-body-secondary">{{ row.provider.get_kind_display }}</div></td>
      <td data-label="{{ columns.score.label }}">{% score m.score %}</td>
      <td data-label="{{ columns.response_rate.label }}">{% share m.response_rate %}</td>
      <td class="text-nowrap" data-label="{{ columns.median.label }}">{{ m.business.median|business_hours }}{% if m.business %} <span class="small text-body-secondary">(n&nbsp;=&nbsp;{{ m.business.n }})</span>{% endif %}</td>
      <td data-label="{{ within_label }}">{% share m.within_policy %}</td>
      <td class="text-end" data-label="{{ ghosted_label }}">{{ m.ghosted }}</td>
      <td data-label="{{ columns.on_time.label }}">{% share m.on_time %}</td>
      <td class="text-nowrap" data-label="{{ quality_label }}">{% if m.quality.n %}{{ m.quality.value|one_decimal }} <span class="small text-body-secondary">(n&nbsp;=&nbsp;{{ m.quality.n }})</span>{% else %}<span class="text-body-secondary">—</span>{% endif %}</td>
      <td class="text-end text-nowrap" data-label="{{ columns.spend.label }}">{% for s in m.spend %}<div{% if s.currency != board.currency %} class="small text-body-secondary"{% endif %}>{% money s.total s.currency %}</div>{% empty %}<span class="text-body-secondary">—</span>{% endfor %}</td>
    </tr>
  {% endwith %}{% endfor %}
"""

NOW = datetime(2026, 3, 10, 15, 30, tzinfo=UTC)


def old_and_new(
    loop: str, libraries: str, tag: str, context: dict[str, object], language: str
) -> tuple[str, str]:
    """What the old loop and the tag render from ``context`` in ``language``."""
    with translation.override(language), timezone.override("Europe/Berlin"):
        before = Template("{% load " + libraries + " %}" + loop).render(Context(context))
        after = Template("{% load table_rows %}" + tag).render(Context(context))
    # The old loop stood between "{% translate … as … %}" lines (nothing, then a line break) and
    # its own last line break; the tag writes the rows alone.
    return before[before.index("\n    <tr") :].removesuffix("\n") if "<tr" in before else "", after


def obligation(debtor: str, what: str, state: str, **kwargs) -> Obligation:
    return Obligation(debtor=debtor, what=what, state=state, now=NOW, **kwargs)


TURNS = [
    Turn("closed"),
    Turn("draft"),
    Turn("open"),
    Turn("on_hold", (obligation("provider", "delivery", "paused", due_on=date(2026, 3, 20)),)),
    Turn(
        "open",
        (
            obligation(
                "provider",
                "reply",
                "not_due",
                since=NOW - timedelta(hours=5),
                due_at=NOW + timedelta(hours=3),
            ),
            obligation("provider", "delivery", "not_due", due_on=date(2026, 3, 20)),
        ),
    ),
    Turn(
        "open",
        (
            obligation(
                "provider",
                "reply",
                "overdue",
                since=NOW - timedelta(days=3, hours=2),
                due_at=NOW - timedelta(days=1),
            ),
            obligation(
                "provider",
                "delivery",
                "overdue",
                due_at=NOW - timedelta(days=2, hours=4),
                due_on=date(2026, 3, 7),
            ),
        ),
    ),
    Turn(
        "open",
        (
            obligation(
                "provider",
                "reply",
                "ghosted",
                since=NOW - timedelta(days=40),
                due_at=NOW - timedelta(days=38),
            ),
        ),
    ),
    Turn("open", (obligation("us", "answer", "not_due", since=NOW - timedelta(seconds=30)),)),
    Turn(
        "open",
        (
            obligation(
                "us",
                "answer",
                "overdue",
                since=NOW - timedelta(days=1, minutes=5),
                due_at=NOW - timedelta(hours=1),
            ),
        ),
    ),
]


def engagements(owner: User) -> list[Engagement]:
    """One engagement per status and per turn, with and without owner, client, due date and fee."""
    provider = Provider(pk=7, name="O'Brien & <Sons>", kind=Provider.Kind.AGENCY)
    rows = []
    for i, status in enumerate(list(Engagement.Status.values) + [None] * (len(TURNS) + 1)):
        turn = TURNS[i % len(TURNS)]
        e = Engagement(
            pk=1000 * i + 3,
            title=f'Task {i} <b>&amp; "quoted"</b>',
            client_name="" if i % 2 else "Client & Co <x>",
            status=status or Engagement.Status.values[i % len(Engagement.Status.values)],
            priority=(i % 5) + 1,
            due_on=None if i % 3 == 0 else date(2026, 3, 1 + i),
            fee_amount=None if i % 4 == 0 else Decimal("1234.5") * i,
            fee_currency="" if i % 4 == 0 else ("EUR", "USD", "JPY")[i % 3],
        )
        e.provider = provider
        e.owner = owner if i % 2 == 0 else None
        e.created_at = NOW - timedelta(days=i, hours=20)
        e.turn = turn  # type: ignore[attr-defined]
        if i % 5:
            e.delivery_is_overdue = bool(i % 2)  # type: ignore[attr-defined]
        rows.append(e)
    return rows


@pytest.mark.parametrize("language", ["en", "de"])
@pytest.mark.parametrize("bulk", [True, False])
@pytest.mark.parametrize("sort", ["", "-due", "silent"])
def test_the_list_rows_render_what_the_list_loop_did(language, bulk, sort):
    owner = User(email="alice@example.com", first_name="Alice <A>", last_name="O'Hara")
    with translation.override(language):
        columns = sort_columns(sort, SORT_COLUMNS, descending_first=DESCENDING_FIRST)
    context = {
        "page_obj": engagements(owner),
        "columns": columns,
        "workspace": {"slug": "acme"},
        "bulk_form": object() if bulk else None,
    }
    before, after = old_and_new(
        LIST_LOOP,
        "i18n tracker engagement_tags",
        "{% engagement_rows page_obj columns workspace.slug bulk_form %}",
        context,
        language,
    )
    assert after == before
    assert after.count("<tr") == len(context["page_obj"])  # type: ignore[arg-type]


def test_an_owner_without_a_name_shows_the_address():
    owner = User(email="nobody@example.com")
    context = {
        "page_obj": engagements(owner)[:2],
        "columns": sort_columns("", SORT_COLUMNS),
        "workspace": {"slug": "acme"},
        "bulk_form": None,
    }
    before, after = old_and_new(
        LIST_LOOP,
        "i18n tracker engagement_tags",
        "{% engagement_rows page_obj columns workspace.slug bulk_form %}",
        context,
        "en",
    )
    assert after == before
    assert "nobody@example.com" in after


def test_the_whose_turn_function_writes_the_partial():
    partial = "{% include 'engagements/_whose_turn_short.html' %}"
    for language in ("en", "de"):
        for turn in TURNS:
            with translation.override(language), timezone.override("Europe/Berlin"):
                engagement = Engagement(status="requested")
                engagement.turn = turn  # type: ignore[attr-defined]
                before = Template(partial).render(Context({"engagement": engagement}))
                assert whose_turn_short(turn) + "\n" == before


def metrics(i: int) -> Metrics:
    """Figures from none at all to every column filled."""
    if i == 0:
        return Metrics()
    interval = Interval(0.7846, 0.61, 0.8, 45 * i)
    return Metrics(
        requests=10 * i,
        replies=7 * i,
        response_rate=interval,
        within_policy=Interval(1.0, 0.05, 1.0, 1234) if i % 2 else Interval(None, None, None, 0),
        ghosted=1234 * (i % 3),
        business=None
        if i == 1
        else ReplyTimes(
            median=None if i == 2 else 3600.0 * i * 7.5,
            p90=None,
            naive_mean=None,
            n=12345 if i == 3 else i,
            answered=i,
        ),
        on_time=interval if i % 3 else Interval(None, None, None, 0),
        quality=Mean(4.25 + i / 10, i) if i % 2 else Mean(None, 0),
        spend=[]
        if i == 2
        else [
            Spend("EUR", Decimal("1234.5") * i, i, Decimal(0), Decimal(0)),
            Spend("USD", Decimal("99.99"), 1, Decimal(0), Decimal(0)),
        ][: 1 + i % 2],
        score=[Score(71.25, 12, True), Score(None, 3, False), Score(12.0, 4, False), None][i % 4],
    )


@pytest.mark.parametrize("language", ["en", "de"])
@pytest.mark.parametrize("query", ["", "?period=all&client=Smith%20%26%20Co"])
@pytest.mark.parametrize("currency", ["EUR", "", "USD"])
def test_the_leaderboard_rows_render_what_the_leaderboard_loop_did(language, query, currency):
    kinds = Provider.Kind.values
    rows = [
        Row(
            rank=i or None,
            provider=Provider(pk=100 + 10000 * i, name=f'Provider {i} <&> "x"', kind=kinds[i % len(kinds)]),
            m=metrics(i),
        )
        for i in range(6)
    ]
    with translation.override(language):
        columns = sort_columns(
            "-score",
            [
                ("name", "Provider"),
                ("score", "Score"),
                ("response_rate", "Response rate"),
                ("median", "Median <time>"),
                ("on_time", "On-time delivery"),
                ("spend", f"Spend ({currency or '—'})"),
            ],
        )
    context = {
        "page_obj": rows,
        "columns": columns,
        "workspace": {"slug": "acme"},
        "board": {"currency": currency},
        "scorecard_query": query,
    }
    before, after = old_and_new(
        LEADERBOARD_LOOP,
        "i18n reliability_tags tracker",
        "{% leaderboard_rows page_obj columns workspace.slug board.currency scorecard_query %}",
        context,
        language,
    )
    assert after == before
    assert after.count("<tr") == len(rows)


def test_an_empty_page_has_no_rows():
    context: dict[str, object] = {
        "page_obj": [],
        "columns": sort_columns("", SORT_COLUMNS),
        "workspace": {"slug": "acme"},
        "bulk_form": None,
    }
    before, after = old_and_new(
        LIST_LOOP,
        "i18n tracker engagement_tags",
        "{% engagement_rows page_obj columns workspace.slug bulk_form %}",
        context,
        "en",
    )
    assert before == after == ""
