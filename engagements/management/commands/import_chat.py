"""python manage.py import_chat PATH --workspace SLUG --provider ID [--engagement ID] [--sender-zone NAME=ZONE] [--dry-run]."""

from __future__ import annotations

import zoneinfo
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from engagements.chat import importer
from engagements.chat.parsers import ChatError, read_export
from engagements.chat.parsers.whatsapp import AUTO, DMY, MDY, YMD
from engagements.models import Engagement
from outsourcing import zones
from outsourcing.models import Membership, Workspace
from providers.models import Provider


class Command(BaseCommand):
    help = (
        "Log a WhatsApp (.txt/.zip), Telegram Desktop (result.json) or Slack (.zip) chat export on an "
        "engagement of a provider. Participants are matched as the last import of the same chat chose, "
        "else by name; --participant says who is who. Importing the same export again adds only new lines. "
        "Prints imported, already there, skipped and system line counts."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path)
        parser.add_argument("--workspace", required=True, help="the workspace's slug")
        parser.add_argument("--provider", required=True, type=int, help="the provider's id")
        parser.add_argument(
            "--engagement", type=int, help="the engagement's id (default: a new one named after the chat)"
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="count what would be logged, write nothing"
        )
        parser.add_argument(
            "--participant",
            action="append",
            default=[],
            metavar="NAME=WHO",
            help="who a sender is: provider, skip, or a member's e-mail address (repeatable)",
        )
        parser.add_argument("--chat", default="", help="which chat of a Slack or Telegram export (its title)")
        parser.add_argument(
            "--time-zone",
            default="",
            help="the zone of WhatsApp's wall-clock times (default: the workspace's owner's, else the site's)",
        )
        parser.add_argument("--date-order", default=AUTO, choices=[AUTO, DMY, MDY, YMD])
        parser.add_argument(
            "--sender-zone",
            action="append",
            default=[],
            metavar="NAME=ZONE",
            help=(
                "the zone a sender lives in, kept on their messages to show their own time (repeatable; "
                "default: as the last import of this chat chose, else the provider's or the member's zone)"
            ),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        workspace = Workspace.objects.filter(slug=options["workspace"]).first()
        if workspace is None:
            raise CommandError(f"No workspace {options['workspace']!r}.")
        provider = Provider.objects.filter(workspace=workspace, pk=options["provider"]).first()
        if provider is None:
            raise CommandError(f"No provider {options['provider']} in this workspace.")
        zone_name = options["time_zone"] or importer.default_zone_name(workspace=workspace, user=None)
        if not zones.is_known(zone_name):
            raise CommandError(f"Unknown time zone {zone_name!r}.")
        zone = zoneinfo.ZoneInfo(zone_name)
        path: Path = options["path"]
        try:
            chats = read_export(path.read_bytes(), path.name, zone=zone, date_order=options["date_order"])
        except (OSError, ChatError) as error:
            raise CommandError(str(error)) from error
        chat = self._pick(chats, options["chat"])
        remembered = importer.source_remembered(workspace=workspace, chat=chat)
        participants = importer.participants_guess(
            workspace=workspace,
            chat=chat,
            provider=provider,
            remembered=remembered.participants if remembered else None,
        )
        participants.update(self._explicit(workspace, options["participant"]))
        sender_zones = dict(remembered.participant_zones) if remembered else {}
        sender_zones.update(self._zones(options["sender_zone"]))
        engagement = self._engagement(workspace, provider, chat.title, options)
        try:
            plan = importer.chat_import(
                workspace=workspace,
                chat=chat,
                provider=provider,
                participants=participants,
                engagement=engagement,
                zone=zone,
                sender_zones=sender_zones,
                dry_run=options["dry_run"],
            )
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from error
        unmapped = [p for p in chat.participants if p not in participants]
        if unmapped:
            self.stderr.write("not mapped, skipped: " + ", ".join(unmapped))
        self.stdout.write(
            f"{'would import' if options['dry_run'] else 'imported'} {len(plan.new)}, "
            f"already there {plan.already}, skipped {plan.skipped}, system lines {plan.system}, "
            f"rejected {plan.rejected}"
        )
        if options["dry_run"]:
            self.stdout.write("dry run: nothing was written")

    def _pick(self, chats: list, title: str) -> Any:
        if title:
            found = [c for c in chats if title in (c.title, c.key, c.title.lstrip("#"))]
            if not found:
                raise CommandError(
                    f"No chat {title!r}; the export holds: {', '.join(c.title for c in chats)}"
                )
            return found[0]
        if len(chats) > 1:
            raise CommandError(f"Choose one with --chat: {', '.join(c.title for c in chats)}")
        return chats[0]

    def _explicit(self, workspace: Workspace, pairs: list[str]) -> dict[str, str]:
        members = {
            email.lower(): pk
            for pk, email in Membership.objects.filter(workspace=workspace).values_list(
                "user_id", "user__email"
            )
        }
        chosen = {}
        for pair in pairs:
            name, sep, who = pair.rpartition("=")
            if not sep or not name:
                raise CommandError(f"--participant {pair!r}: write NAME=provider, NAME=skip or NAME=EMAIL.")
            if who in (importer.PROVIDER, importer.SKIP):
                chosen[name] = who
            elif who.lower() in members:
                chosen[name] = f"{importer.MEMBER_PREFIX}{members[who.lower()]}"
            else:
                raise CommandError(f"{who!r} is not a member of this workspace.")
        return chosen

    def _zones(self, pairs: list[str]) -> dict[str, str]:
        chosen = {}
        for pair in pairs:
            name, sep, zone = pair.rpartition("=")
            if not sep or not name:
                raise CommandError(f"--sender-zone {pair!r}: write NAME=ZONE, say 'Anna=Asia/Manila'.")
            if not zones.is_known(zone):
                raise CommandError(f"--sender-zone {pair!r}: unknown time zone {zone!r}.")
            chosen[name] = zone
        return chosen

    def _engagement(
        self, workspace: Workspace, provider: Provider, title: str, options: dict
    ) -> Engagement | None:
        if options["engagement"] is not None:
            engagement = Engagement.objects.filter(workspace=workspace, pk=options["engagement"]).first()
            if engagement is None:
                raise CommandError(f"No engagement {options['engagement']} in this workspace.")
            return engagement
        # Created with the messages, in the same transaction (a dry run creates nothing).
        return Engagement(
            workspace=workspace, provider=provider, title=(_("Chat: %(title)s") % {"title": title})[:200]
        )
