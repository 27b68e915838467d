"""Mail import on PostgreSQL (issues 5 and 13): an mbox of 10,000 generated messages, messages per second.

Target: at least 1,000 messages/s, with memory that stays flat as the file
grows (the mbox is streamed). The bodies are replies as clients write them
(Gmail, Outlook in English and German, Apple Mail, Thunderbird bottom-posting,
a forward, signatures, a list footer and a legal notice), so the reply-text
extraction is measured with the rest. Half the messages reply to requests logged in
the workspace (threaded by In-Reply-To), a quarter come from a provider's
address, a quarter from strangers (Unsorted). One in ten has no Message-ID
(known by its fingerprint), one in twenty is GBK text labelled gb2312, and
bodies hold "From " lines. Peak memory is printed after 2,500 and after
10,000 messages. The same file imported again is timed too: all duplicates.
"""

from __future__ import annotations

import mailbox
import os
import resource
import sys
import tempfile
import time
from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

from bench.__main__ import _fresh_workspace

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/outsourcing_bench_mail"
COUNT = int(os.environ.get("BENCH_MAIL_COUNT", "10000"))
TARGET = 1000.0


_QUOTE = "> Could you send the landing page draft by Friday?\n>\n> Thanks,\n> Alice\n"
_ORIGINAL = "Could you send the landing page draft by Friday?\n\nThanks,\nAlice\n"
BODIES = (
    "Sure, the draft for message {i} is attached.\n\nBest regards,\nVanessa\n\n"
    "On Mon, Dec 14, 2026 at 10:00 AM Alice Owner <alice@example.com> wrote:\n\n" + _QUOTE,
    "Erledigt ({i}), siehe den geteilten Ordner.\n\nMit freundlichen Grüßen\nVanessa Berger\n\n"
    "-----Ursprüngliche Nachricht-----\nVon: Alice Owner <alice@example.com>\n"
    "Gesendet: Montag, 14. Dezember 2026 10:00\nAn: Vanessa\nBetreff: Landingpage\n\n" + _ORIGINAL,
    "Done ({i}).\n\nKind regards\nVanessa\n\n________________________________\n"
    "From: Alice Owner <alice@example.com>\nSent: Monday, December 14, 2026 10:00 AM\n"
    "To: Vanessa\nSubject: Landing page\n\n" + _ORIGINAL,
    "Hi Alice,\n\nOn 14/12/2026 10:00, Alice Owner wrote:\n" + _QUOTE + "\nYes, message {i} goes out on "
    "Thursday.\nThe form is above the fold now.\n\n-- \nVanessa Berger\nVA Agency\n",
    "Looks good ({i}).\n\nSent from my iPhone\n\n> On 14 Dec 2026, at 10:00, Alice Owner "
    "<alice@example.com> wrote:\n>\n" + _QUOTE,
    "The invoice {i} is attached.\n\nKind regards,\nSam Doe\n\nCONFIDENTIALITY NOTICE: This e-mail and any "
    "attachments are confidential and intended solely for the addressee.\n",
    "FYI ({i}).\n\n---------- Forwarded message ---------\nFrom: Client <client@example.org>\n"
    "Date: Mon, Dec 14, 2026 at 10:00 AM\nSubject: Feedback\n\nThe colours are too bright.\n",
    "Patch {i} attached.\n\n_______________________________________________\ndev mailing list\n"
    "dev@lists.example.org\nhttps://lists.example.org/mailman/listinfo/dev\n",
)


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    workspace, user = _fresh_workspace(os.environ.get("BENCH_MAIL_DATABASE_URL", DEFAULT_URL))
    from django.db import reset_queries
    from django.utils import timezone

    from engagements import services
    from engagements.mail import importer
    from engagements.models import InboundMail, Message
    from providers.models import Provider, ProviderEmail

    now = timezone.now()
    requests = []
    for p in range(50):
        provider = Provider.objects.create(
            workspace=workspace, name=f"Provider {p}", time_zone="Europe/Berlin"
        )
        ProviderEmail.objects.create(workspace=workspace, provider=provider, email=f"p{p}@vendor.example")
        engagement = services.engagement_create(
            workspace=workspace, provider=provider, owner=user, title=f"Task {p}", created_by=user
        )
        for r in range(4):
            message_id = f"req-{p}-{r}@bench.example"
            services.message_log(
                engagement=engagement,
                direction=Message.Direction.OUTBOUND,
                kind=Message.Kind.REQUEST if r == 0 else Message.Kind.FOLLOW_UP,
                occurred_at=now - timedelta(days=30 - r),
                message_id=message_id,
            )
            requests.append(message_id)

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.mbox"
        box = mailbox.mbox(path)
        for i in range(COUNT):
            m = EmailMessage()
            kind = i % 4
            m["From"] = f"p{i % 50}@vendor.example" if kind in (0, 1, 2) else f"stranger{i}@else.example"
            m["To"] = "bench@example.com"
            m["Subject"] = f"Re: Task {i % 50}" if kind != 3 else f"Offer {i}"
            m["Date"] = format_datetime(now - timedelta(minutes=COUNT - i))
            if i % 10:
                m["Message-ID"] = f"<mail-{i}@vendor.example>"
            if kind in (0, 1):
                m["In-Reply-To"] = f"<{requests[i % len(requests)]}>"
            if i % 20 == 7:
                m.set_content(f"您好，第 {i} 封邮件。镕堃\n".encode("gbk"), "text", "plain", cte="8bit")
                m.set_param("charset", "gb2312")
            elif i % 20 == 13:
                # A "From " line inside a body must not start a new message.
                m.set_content(
                    f"Hello,\n\nmessage {i}.\nFrom Monday on it is ready.\n\nOn Monday you wrote:\n> the request\n"
                )
            else:
                m.set_content(BODIES[i % len(BODIES)].format(i=i))
            box.add(m)
        box.close()

        from engagements.mail.sources import messages

        started = time.perf_counter()
        peaks: dict[int, float] = {}

        def progress(counts: importer.ImportCounts) -> None:
            # DEBUG keeps every query's SQL (up to 9,000); a production process keeps none.
            reset_queries()
            if counts.total >= COUNT // 4 and not peaks:
                peaks[counts.total] = _peak_mb()

        counts = importer.mail_import_many(
            workspace=workspace, raws=messages(path), source=InboundMail.Source.IMPORT, on_batch=progress
        )
        seconds = time.perf_counter() - started
        peaks[counts.total] = _peak_mb()
        started = time.perf_counter()
        again = importer.mail_import_many(
            workspace=workspace, raws=messages(path), source=InboundMail.Source.IMPORT, on_batch=progress
        )
        again_seconds = time.perf_counter() - started
        outcomes = {
            "threaded": counts.threaded,
            "unsorted": counts.unsorted,
            "rejected": counts.rejected,
            "duplicate": counts.duplicate,
        }
    rate = COUNT / seconds
    print("Mail import, PostgreSQL")
    print(
        f"{COUNT:,} messages from one mbox in {seconds:.1f} s: {rate:.0f} messages/s  target >= {TARGET:.0f}: "
        f"{'met' if rate >= TARGET else 'NOT met'}"
    )
    print(f"outcomes: {outcomes}")
    print(
        f"the same mbox again in {again_seconds:.1f} s: {COUNT / again_seconds:.0f} messages/s, "
        f"{again.duplicate:,} already there, {again.imported:,} imported twice"
    )
    print("peak memory: " + ", ".join(f"{mb:.0f} MB after {n:,}" for n, mb in peaks.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
