"""The reliability pages' share, score and reply outlook, written in Python, read exactly as the
templates they replaced did."""

from __future__ import annotations

import pytest
from django.template import Context, Template
from django.utils import translation

from engagements.reliability.outlook import ReplyOutlook
from engagements.reliability.statistics import ConditionalReply, Interval, Score
from engagements.templatetags.reliability_tags import reply_outlook

# engagements/reliability/_share.html, _score.html and engagements/_reply_outlook.html as they were
# before the tags replaced them.
SHARE = '{% load i18n reliability_tags %}{% if interval.n %}<span class="fw-semibold"{% if title %} title="{{ title }}"{% endif %}>{{ interval.point|percent }}</span> <span class="small text-body-secondary text-nowrap">({{ interval|interval_range }}, n&nbsp;=&nbsp;{{ interval.n|floatformat:"0g" }})</span>{% else %}<span class="text-body-secondary">{% translate "no data" %}</span>{% endif %}'
SCORE = '{% load i18n reliability_tags %}{% if score and score.enough %}<span class="fw-semibold" data-testid="score">{{ score.value|one_decimal }}</span> <span class="small text-body-secondary text-nowrap">(n&nbsp;=&nbsp;{{ score.n|floatformat:"0g" }})</span>{% else %}<span class="text-body-secondary" data-testid="score" title="{% translate \'A score needs at least five data points (requests with a decided reply, deliveries and reviews together).\' %}">{% translate "not enough data" %}</span>{% if score %} <span class="small text-body-secondary text-nowrap">(n&nbsp;=&nbsp;{{ score.n|floatformat:"0g" }})</span>{% endif %}{% endif %}'

OUTLOOK = '{% load i18n reliability_tags %}{# Is a reply still coming? One open request\'s outlook (engagements.reliability.outlook); "name" is the provider\'s. #}\n<div class="small text-body-secondary" data-testid="reply-outlook" data-exchange="{{ outlook.exchange_id }}" data-answered="{{ outlook.figures.answered_within|stringformat:\'.9f\' }}" data-never="{{ outlook.never|stringformat:\'.9f\' }}" data-n="{{ outlook.figures.n }}">{% with next_day=outlook.answered_next_day %}{% blocktranslate with name=name count hours=outlook.silent_hours %}{{ name }} has been silent {{ hours }} business hour.{% plural %}{{ name }} has been silent {{ hours }} business hours.{% endblocktranslate %} {% blocktranslate with answered=next_day.point|percent range=next_day|interval_range n=next_day.n never=outlook.never|percent count hours=outlook.silent_hours %}Of their past requests still unanswered at {{ hours }} hour, {{ answered }} ({{ range }}, n = {{ n }}) were answered within the next business day; {{ never }} never were.{% plural %}Of their past requests still unanswered at {{ hours }} hours, {{ answered }} ({{ range }}, n = {{ n }}) were answered within the next business day; {{ never }} never were.{% endblocktranslate %}{% endwith %}</div>'

INTERVALS = [
    Interval(0.7846, 0.61, 0.8, 45),
    Interval(1.0, 0.05, 1.0, 1234),
    Interval(None, None, None, 0),
    None,
]
OUTLOOKS = [
    ReplyOutlook(7, 3600 * 1.5, 8 * 3600, ConditionalReply(1.5, 8, 12, 0.4166666667, 0.2, 0.65, 0.25), 30),
    ReplyOutlook(12345, 3600 * 40, 8 * 3600, ConditionalReply(40, 8, 1, 1.0, 0.05, 1.0, 0.0), 8),
    ReplyOutlook(3, 0.0, 8 * 3600, ConditionalReply(0, 8, 0, None, None, None, None), 0),
]
SCORES = [Score(71.25, 12, True), Score(None, 3, False), Score(12.0, 4, False), None]


def both(template: str, tag: str, context: dict[str, object], language: str) -> tuple[str, str]:
    """What the old template and the tag render from ``context`` in ``language``."""
    with translation.override(language):
        before = Template(template).render(Context(context))
        after = Template("{% load reliability_tags %}" + tag).render(Context(context))
    return before, after


@pytest.mark.parametrize("language", ["en", "de"])
@pytest.mark.parametrize("interval", INTERVALS)
@pytest.mark.parametrize("title", ["", "Answered <at all>"])
def test_the_share_tag_renders_what_its_template_did(language, interval, title):
    before, after = both(
        SHARE, "{% share interval title %}", {"interval": interval, "title": title}, language
    )
    assert after == before


@pytest.mark.parametrize("language", ["en", "de"])
@pytest.mark.parametrize("score", SCORES)
def test_the_score_tag_renders_what_its_template_did(language, score):
    before, after = both(SCORE, "{% score score %}", {"score": score}, language)
    assert after == before


@pytest.mark.parametrize("language", ["en", "de"])
@pytest.mark.parametrize("outlook", OUTLOOKS)
@pytest.mark.parametrize("name", ["Maria", "O'Brien & <Sons>"])
def test_the_reply_outlook_tag_renders_what_its_template_did(language, outlook, name):
    context = {"outlook": outlook, "name": name}
    before, after = both(OUTLOOK, "{% reply_outlook outlook name %}", context, language)
    # The template began with a line break after its comment; a block element needs none.
    assert after == before.removeprefix("\n")
    assert "silent" in after or "schweigt" in after


# Outlooks as a page shows them, many in one render: hours, shares and counts repeat.
MANY_OUTLOOKS = [
    ReplyOutlook(
        pk,
        3600 * hours,
        8 * 3600,
        ConditionalReply(hours, 8, n, answered, low, high, never),
        history,
    )
    for pk, hours, n, answered, low, high, never, history in [
        (1, 1.5, 12, 0.4166666667, 0.2, 0.65, 0.25, 30),
        (2, 1.9, 12, 0.4166666667, 0.2, 0.65, 0.25, 30),
        (3, 1.2, 1234, 0.41, 0.204, 0.649, 0.251, 2000),
        (40, 40, 1, 1.0, 0.05, 1.0, 0.0, 8),
        (1234567, 0.5, 12, 0.0, None, None, 1.0, 30),
        (6, 2, 7, None, None, None, None, 12),
        (7, 1, 5, 0.995, 0.994, 0.996, 0.005, 11),
    ]
]


@pytest.mark.parametrize("language", ["en", "de"])
def test_many_reply_outlooks_in_one_page_read_as_each_did_alone(language):
    """The texts the outlooks of a page share are made once; each outlook reads as its template did."""
    old = OUTLOOK.replace(
        "{% load i18n reliability_tags %}", "{% load i18n reliability_tags %}{% for outlook in outlooks %}"
    ).replace("</div>", "</div>{% endfor %}")
    new = "{% for outlook in outlooks %}\n{% reply_outlook outlook name %}{% endfor %}"
    context = {"outlooks": MANY_OUTLOOKS * 2, "name": "O'Brien & <Sons>"}
    before, after = both(old, new, context, language)
    assert after == before
    assert after.count('data-testid="reply-outlook"') == len(MANY_OUTLOOKS) * 2


def test_an_outlook_reads_in_the_language_of_the_moment_within_one_render():
    """A page's shared texts are made again when the language changes while it renders."""
    outlook = MANY_OUTLOOKS[0]
    context = Context({})
    with context.bind_template(Template("")):
        with translation.override("en"):
            english = reply_outlook(context, outlook, "Maria")
        with translation.override("de"):
            german = reply_outlook(context, outlook, "Maria")
    with translation.override("de"):
        alone = Template("{% load reliability_tags %}{% reply_outlook outlook name %}").render(
            Context({"outlook": outlook, "name": "Maria"})
        )
    assert english != german
    assert german == alone
