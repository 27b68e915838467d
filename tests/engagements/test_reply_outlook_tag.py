"""The reply outlook written in Python reads exactly as the template it replaced did."""

from __future__ import annotations

import pytest
from django.template import Context, Template
from django.utils import translation

from engagements.reliability.outlook import ReplyOutlook
from engagements.reliability.statistics import ConditionalReply

# engagements/_reply_outlook.html as it was before the tag replaced it on Needs attention's rows.
TEMPLATE = '{% load i18n reliability_tags %}{# Is a reply still coming? One open request\'s outlook (engagements.reliability.outlook); "name" is the provider\'s. #}\n<div class="small text-body-secondary" data-testid="reply-outlook" data-exchange="{{ outlook.exchange_id }}" data-answered="{{ outlook.figures.answered_within|stringformat:\'.9f\' }}" data-never="{{ outlook.never|stringformat:\'.9f\' }}" data-n="{{ outlook.figures.n }}">{% with next_day=outlook.answered_next_day %}{% blocktranslate with name=name count hours=outlook.silent_hours %}{{ name }} has been silent {{ hours }} business hour.{% plural %}{{ name }} has been silent {{ hours }} business hours.{% endblocktranslate %} {% blocktranslate with answered=next_day.point|percent range=next_day|interval_range n=next_day.n never=outlook.never|percent count hours=outlook.silent_hours %}Of their past requests still unanswered at {{ hours }} hour, {{ answered }} ({{ range }}, n = {{ n }}) were answered within the next business day; {{ never }} never were.{% plural %}Of their past requests still unanswered at {{ hours }} hours, {{ answered }} ({{ range }}, n = {{ n }}) were answered within the next business day; {{ never }} never were.{% endblocktranslate %}{% endwith %}</div>'

OUTLOOKS = [
    ReplyOutlook(7, 3600 * 1.5, 8 * 3600, ConditionalReply(1.5, 8, 12, 0.4166666667, 0.2, 0.65, 0.25), 30),
    ReplyOutlook(12345, 3600 * 40, 8 * 3600, ConditionalReply(40, 8, 1, 1.0, 0.05, 1.0, 0.0), 8),
    ReplyOutlook(3, 0.0, 8 * 3600, ConditionalReply(0, 8, 0, None, None, None, None), 0),
]


@pytest.mark.parametrize("language", ["en", "de"])
@pytest.mark.parametrize("outlook", OUTLOOKS)
@pytest.mark.parametrize("name", ["Maria", "O'Brien & <Sons>"])
def test_the_reply_outlook_tag_renders_what_its_template_did(language, outlook, name):
    context = {"outlook": outlook, "name": name}
    with translation.override(language):
        before = Template(TEMPLATE).render(Context(context))
        after = Template("{% load reliability_tags %}{% reply_outlook outlook name %}").render(
            Context(context)
        )
    # The template began with a line break after its comment; a block element needs none.
    assert after == before.removeprefix("\n")
    assert "silent" in after or "schweigt" in after
