"""Chat import on PostgreSQL (issue 17): a 100,000-line WhatsApp export at ≥ 5,000 lines/s.

The export is the Android English layout with a 12-hour clock, multi-line messages, media and
system lines mixed in, between a member and the provider over the last months. Timed from the
bytes to the committed rows, through ``chat_import`` as the upload page and ``manage.py
import_chat`` run it; then the same export again, which finds every line logged.
"""

from __future__ import annotations

import os
import sys
import time
from datetime import UTC, datetime, timedelta

from bench.__main__ import _fresh_workspace

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/outsourcing_bench_chat"
LINES = int(os.environ.get("BENCH_CHAT_LINES", "100000"))
TARGET = 5000.0


def _export(zone) -> bytes:
    from engagements.chat.parsers import ChatMessage
    from engagements.chat.parsers.whatsapp import render

    # Every message is one line; each tenth has a second line, so messages ≈ lines / 1.1.
    start = datetime.now(UTC) - timedelta(days=200)
    messages = []
    lines = 0
    i = 0
    while lines < LINES:
        when = start + timedelta(minutes=2 * i)
        if i % 500 == 0:
            messages.append(
                ChatMessage("", when, "Messages and calls are end-to-end encrypted.", is_system=True)
            )
            lines += 1
        elif i % 10 == 9 and lines + 2 <= LINES:
            messages.append(ChatMessage("Max Owner", when, f"Please check item {i}\nand tell me by Friday"))
            lines += 2
        else:
            sender = "Anna Design" if i % 3 else "Max Owner"
            text = "<Media omitted>" if i % 97 == 0 else f"Message number {i} about the landing page"
            messages.append(ChatMessage(sender, when, text))
            lines += 1
        i += 1
    return render(messages, "android_en", zone).encode()


def main() -> int:
    workspace, user = _fresh_workspace(os.environ.get("BENCH_CHAT_DATABASE_URL", DEFAULT_URL))
    from zoneinfo import ZoneInfo

    from engagements import services
    from engagements.chat import importer
    from engagements.chat.parsers import read_export
    from engagements.models import Message
    from providers.models import Provider

    zone = ZoneInfo("Europe/Berlin")
    provider = Provider.objects.create(workspace=workspace, name="Anna Design")
    engagement = services.engagement_create(
        workspace=workspace, provider=provider, owner=user, title="Landing page", created_by=user
    )
    data = _export(zone)
    participants = {"Max Owner": f"{importer.MEMBER_PREFIX}{user.pk}", "Anna Design": importer.PROVIDER}
    print(f"Chat import, PostgreSQL: a WhatsApp export of {LINES:,} lines ({len(data) / 1e6:.1f} MB)")
    for label in ("first import", "the same export again"):
        started = time.perf_counter()
        (chat,) = read_export(data, "WhatsApp Chat with Anna Design.txt", zone=zone)
        parsed = time.perf_counter() - started
        plan = importer.chat_import(
            workspace=workspace,
            chat=chat,
            provider=provider,
            participants=participants,
            engagement=engagement,
            zone=zone,
            by=user,
        )
        seconds = time.perf_counter() - started
        rate = LINES / seconds
        verdict = "met" if rate >= TARGET else "NOT met"
        print(
            f"{label}: {seconds:.1f} s (parse {parsed:.1f} s), {rate:,.0f} lines/s, "
            f"target ≥ {TARGET:,.0f}: {verdict}  {plan.counts}"
        )
    logged = Message.objects.filter(engagement=engagement).count()
    exchanges = engagement.exchanges.count()
    print(f"{logged:,} messages logged, {exchanges:,} exchanges")
    return 0


if __name__ == "__main__":
    sys.exit(main())
