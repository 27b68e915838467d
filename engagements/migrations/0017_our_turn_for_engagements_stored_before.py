"""Whose turn for the engagements stored before it was kept: derived from their log."""

from django.db import migrations

# Engagements read per step, so a large workspace never holds every id at once.
STEP = 2000


def fill(apps, schema_editor):
    # Only a real message from the provider can make it our turn: the rest stay NULL, as they are.
    engagement_model = apps.get_model("engagements", "Engagement")
    waiting = engagement_model.objects.filter(last_inbound_at__isnull=False).order_by("pk")
    last = 0
    while ids := list(waiting.filter(pk__gt=last).values_list("pk", flat=True)[:STEP]):
        # Today's service on purpose: the rule has one home (engagements/deadlines.py), and a
        # second copy here would drift. A fresh database has no such rows and never gets here.
        from engagements.services import our_answers_refresh

        our_answers_refresh(engagement_ids=ids)
        last = ids[-1]


class Migration(migrations.Migration):
    dependencies = [
        ("engagements", "0016_engagement_our_turn_and_answer_due"),
    ]

    operations = [
        migrations.RunPython(fill, migrations.RunPython.noop, elidable=True),
    ]
