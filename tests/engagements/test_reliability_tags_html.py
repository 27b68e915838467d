"""A share and a score written in Python read exactly as the templates they replaced did."""

from __future__ import annotations

import pytest
from django.template import Context, Template
from django.utils import translation

from engagements.reliability.statistics import Interval, Score

# engagements/reliability/_share.html and _score.html as they were before the tags replaced them.
SHARE = '{% load i18n reliability_tags %}{% if interval.n %}<span class="fw-semibold"{% if title %} title="{{ title }}"{% endif %}>{{ interval.point|percent }}</span> <span class="small text-body-secondary text-nowrap">({{ interval|interval_range }}, n&nbsp;=&nbsp;{{ interval.n|floatformat:"0g" }})</span>{% else %}<span class="text-body-secondary">{% translate "no data" %}</span>{% endif %}'
SCORE = '{% load i18n reliability_tags %}{% if score and score.enough %}<span class="fw-semibold" data-testid="score">{{ score.value|one_decimal }}</span> <span class="small text-body-secondary text-nowrap">(n&nbsp;=&nbsp;{{ score.n|floatformat:"0g" }})</span>{% else %}<span class="text-body-secondary" data-testid="score" title="{% translate \'A score needs at least five data points (requests with a decided reply, deliveries and reviews together).\' %}">{% translate "not enough data" %}</span>{% if score %} <span class="small text-body-secondary text-nowrap">(n&nbsp;=&nbsp;{{ score.n|floatformat:"0g" }})</span>{% endif %}{% endif %}'

INTERVALS = [
    Interval(0.7846, 0.61, 0.8, 45),
    Interval(1.0, 0.05, 1.0, 1234),
    Interval(None, None, None, 0),
    None,
]
SCORES = [Score(71.25, 12, True), Score(None, 3, False), Score(12.0, 4, False), None]


@pytest.mark.parametrize("language", ["en", "de"])
@pytest.mark.parametrize("interval", INTERVALS)
@pytest.mark.parametrize("title", ["", "Answered <at all>"])
def test_the_share_tag_renders_what_its_template_did(language, interval, title):
    context = {"interval": interval, "title": title}
    with translation.override(language):
        before = Template(SHARE).render(Context(context))
        after = Template("{% load reliability_tags %}{% share interval title %}").render(Context(context))
    assert after == before


@pytest.mark.parametrize("language", ["en", "de"])
@pytest.mark.parametrize("score", SCORES)
def test_the_score_tag_renders_what_its_template_did(language, score):
    with translation.override(language):
        before = Template(SCORE).render(Context({"score": score}))
        after = Template("{% load reliability_tags %}{% score score %}").render(Context({"score": score}))
    assert after == before
