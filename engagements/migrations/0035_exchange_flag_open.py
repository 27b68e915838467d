from django.db import migrations, models


def mark_flagged(apps, schema_editor):
    """Set the marker of every exchange an open flag points at: one UPDATE, whatever the table's size."""
    Exchange = apps.get_model("engagements", "Exchange")
    Flag = apps.get_model("engagements", "Flag")
    open_flags = Flag.objects.filter(resolved_at=None, exchange__isnull=False)
    Exchange.objects.filter(pk__in=open_flags.values("exchange_id")).update(flag_open=True)


class Migration(migrations.Migration):

    dependencies = [
        ('engagements', '0034_due_date_proposal_decline_reason'),
        ('outsourcing', '0007_user_date_format'),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='exchange',
            name='exchange_open_due',
        ),
        migrations.AddField(
            model_name='exchange',
            name='flag_open',
            field=models.BooleanField(db_default=False, default=False, editable=False),
        ),
        migrations.AddIndex(
            model_name='exchange',
            index=models.Index(condition=models.Q(('flag_open', False), ('replied_at__isnull', True)), fields=['workspace', 'reply_due_at'], name='exchange_open_due'),
        ),
        # After the index: an UPDATE of a column its condition reads is never HOT, so the new
        # index is usable at once (built after HOT updates, it would wait for every older
        # transaction on the server to end first).
        migrations.RunPython(mark_flagged, migrations.RunPython.noop, elidable=True),
    ]
