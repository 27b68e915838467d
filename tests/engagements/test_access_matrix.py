"""Who gets what from every engagements URL: one row per URL, one status per role and method.

The URLs are read from the resolver (tests/surface.py): a URL added to the
engagements app without a row here fails ``test_every_engagements_url_has_a_row``.
Each request runs against one of every object in alice's workspace and is
rolled back afterwards, so each role meets the same state. A refused request
(403, 404, 405) changes no row of any table.
"""

from __future__ import annotations

import pytest
from django.db import transaction
from django.urls import reverse

from tests import surface

ROLES = ["owner", "manager", "member", "viewer"]

# Statuses for owner, manager, member, viewer: GET, then POST (an empty form, or the bare action).
# An outsider (charlie, owner of another workspace) gets 404 on all of them, an anonymous visitor
# the log-in page. 405: the method is not one the URL takes; 403: the role is too low.
READ = ("200 200 200 200", "405 405 405 403")  # a page that only shows: a viewer may not even try a write
EDIT = ("200 200 200 403", "200 200 200 403")  # a form for members: errors shown on the same page
ACTION = ("405 405 405 405", "302 302 302 403")  # a button for members; POST only
MANAGE_PAGE = ("200 200 403 403", "200 200 403 403")  # a form for managers and owners
MANAGE_ACTION = ("405 405 405 405", "302 302 403 403")  # a button for managers and owners, POST only
MANAGE_ONLY_ACTION = ("405 405 403 403", "302 302 403 403")  # …on a URL only managers may even read
PERSONAL_ACTION = ("405 405 405 405", "302 302 302 302")  # one's own notifications: a viewer reads too
OWNER_PAGE = ("200 403 403 403", "405 403 403 403")  # the complete export's pages: owners only
OWNER_ACTION = ("405 403 403 403", "302 403 403 403")

MATRIX: dict[str, tuple[str, str]] = {
    "engagements:list": READ,
    "engagements:create": EDIT,
    "engagements:attention": READ,
    "engagements:flag_snooze": ACTION,
    "engagements:flag_unsnooze": ACTION,
    "engagements:flag_dismiss": ACTION,
    # Bulk actions on ticked rows: an empty form goes back with "Select at least one row first."
    "engagements:flag_bulk": ACTION,
    "engagements:engagement_bulk": ACTION,
    "engagements:detail": READ,
    # A due date the provider proposed on their answer page: the owner's side decides.
    "engagements:proposal_accept": ACTION,
    "engagements:proposal_decline": ACTION,
    "engagements:edit": EDIT,
    "engagements:status": ACTION,
    # The review form exists once the engagement is completed: until then both go back to the page.
    "engagements:review": ("302 302 302 302", "302 302 302 403"),
    "engagements:message_create": EDIT,
    "engagements:message_edit": EDIT,
    "engagements:message_history": READ,
    "engagements:message_delete": ACTION,
    "engagements:message_restore": ACTION,
    "engagements:message_absence": ACTION,
    "engagements:message_not_an_answer": ACTION,
    "engagements:attachment": READ,
    "engagements:provider_timeline": READ,
    # Saved views: everyone, a viewer too, keeps views of their own; the one in the world is the
    # owner's, shared, so only owners and managers may change it. An empty save shows its errors.
    "engagements:saved_views": ("200 200 200 200", "405 405 405 405"),
    "engagements:saved_view_save": ("405 405 405 405", "200 200 200 200"),
    "engagements:saved_view_edit": MANAGE_PAGE,
    "engagements:saved_view_share": MANAGE_ACTION,
    "engagements:saved_view_delete": ("200 200 403 403", "302 302 403 403"),
    "notifications:list": ("200 200 200 200", "405 405 405 405"),
    "notifications:read_all": PERSONAL_ACTION,
    "notifications:read": PERSONAL_ACTION,
    "notifications:open": PERSONAL_ACTION,
    "notifications:failed": ("200 200 403 403", "405 405 403 403"),
    "notifications:retry": MANAGE_ACTION,
    "notifications:webhook_test": MANAGE_ACTION,
    "reliability:dashboard": READ,
    "reliability:leaderboard": READ,
    "reliability:scorecard": READ,
    "reliability:compare": READ,
    # Reports: everyone reads the list and downloads a PDF; owners and managers manage and send.
    # An empty new-report form or edit comes back with its errors (400).
    "reports:list": READ,
    "reports:create": ("200 200 403 403", "400 400 403 403"),
    "reports:edit": ("200 200 403 403", "400 400 403 403"),
    "reports:delete": ("200 200 403 403", "302 302 403 403"),
    "reports:download": ("200 200 200 200", "405 405 405 403"),
    "reports:send": MANAGE_ACTION,
    "reports:sent": READ,
    "mail:unsorted": READ,
    "mail:sort": ("200 200 200 200", "200 200 200 403"),
    "mail:compose": EDIT,
    "mail:mailboxes": ("200 200 403 403", "405 405 403 403"),
    "mail:mailbox_create": MANAGE_PAGE,
    "mail:templates": ("200 200 403 403", "405 405 403 403"),
    "mail:template_edit": MANAGE_PAGE,
    "mail:template_preview": ("405 405 403 403", "200 200 403 403"),
    "mail:template_reset": MANAGE_ONLY_ACTION,
    "mail:mailbox_edit": MANAGE_PAGE,
    "mail:mailbox_delete": ("200 200 403 403", "302 302 403 403"),
    "mail:mailbox_test": MANAGE_ONLY_ACTION,
    "mail:mailbox_poll": MANAGE_ONLY_ACTION,
    "mail:upload": EDIT,
    "mail:upload_status": READ,
    "mail:upload_retry": ACTION,
    "mail:webhook_settings": ("200 200 403 403", "302 302 403 403"),
    "search:results": READ,
    "engagements:message_log_export": READ,
    "tables:upload": EDIT,
    "tables:mapping": EDIT,
    "chat:upload": EDIT,
    "chat:mapping": EDIT,
    "chat:status": READ,
    "chat:retry": ACTION,
    "archive:index": OWNER_PAGE,
    "archive:status": OWNER_PAGE,
    "archive:download": OWNER_PAGE,
    "archive:export": OWNER_ACTION,
    "archive:delete": OWNER_ACTION,
    # An archive that is not a zip is refused with the form and a 400, as the upload of a bad file is.
    "archive:import": ("405 403 403 403", "400 403 403 403"),
    # One's own calendar feed: a viewer keeps one too; making one shows its address once (200).
    "calendar:feed": ("200 200 200 200", "405 405 405 405"),
    "calendar:create": ("405 405 405 405", "200 200 200 200"),
    "calendar:revoke": PERSONAL_ACTION,
    # Hiding the first-run checklist is each person's own choice: a viewer hides it too.
    "firstrun:checklist_dismiss": PERSONAL_ACTION,
    # Alice's workspace is no sample, so nothing here deletes it: 404 before any role is asked,
    # except where the role is too low even to post (tests/engagements/test_first_run.py tries a sample).
    "firstrun:sample_delete": ("404 404 404 404", "404 403 403 403"),
}

# URLs of the engagements app outside any workspace, with what guards them instead.
OPEN_ENDPOINTS = {
    # The inbound mail webhook: the e-mail service posts here; the secret token in the URL
    # picks the workspace (tests/engagements/mail/test_webhook.py).
    "mail_webhook_postmark",
    "mail_webhook_mailgun",
    "mail_webhook_mailgun_mime",
    # The calendar feed: its secret token is the only credential (tests/engagements/test_calendar_feed.py).
    "calendar_ics",
    # The provider's answer page: the signed link in their mail is the only credential
    # (tests/engagements/test_answers.py).
    "answer",
    # "Explore a sample workspace": makes the person's own sample, so it needs a log-in and
    # no workspace (tests/engagements/test_first_run.py).
    "sample_workspace",
}


def _engagements_routes() -> list[surface.Route]:
    return [r for r in surface.routes() if r.module.startswith("engagements.")]


ROUTES = {r.name: r for r in _engagements_routes() if r.in_workspace}


@pytest.fixture
def world(team) -> surface.World:
    return surface.build_world(team)


def _request(team, world, route, role: str, method: str, *, foreign: bool = False):
    """One request, rolled back: the next one meets the same rows."""
    user = world.users[role]
    client = team.client_for(user)
    with transaction.atomic():
        before = surface.counts()
        response = getattr(client, method)(surface.url_for(route, world, user, foreign=foreign))
        if response.status_code in (403, 404, 405):
            assert surface.counts() == before, f"{route.name}: a refused {method.upper()} changed rows"
        transaction.set_rollback(True)
    return response


def test_every_engagements_url_has_a_row():
    names = {r.name for r in _engagements_routes()}
    assert names - set(MATRIX) - OPEN_ENDPOINTS == set(), "add the new URL to MATRIX with its statuses"
    assert set(MATRIX) - names == set(), "MATRIX names a URL that no longer exists"


@pytest.mark.parametrize("name", sorted(MATRIX))
def test_each_role_gets_its_status_an_outsider_404_and_a_visitor_the_log_in_page(team, world, name):
    route = ROUTES[name]
    got = {
        method: " ".join(str(_request(team, world, route, role, method).status_code) for role in ROLES)
        for method in ("get", "post")
    }
    expected_get, expected_post = MATRIX[name]
    assert (got["get"], got["post"]) == (expected_get, expected_post), f"{name}: owner manager member viewer"
    for method in ("get", "post"):
        assert _request(team, world, route, "outsider", method).status_code == 404, method
        response = _request(team, world, route, "anonymous", method)
        assert response.status_code == 302, method
        assert response["Location"].startswith(reverse("account_login")), method
    # Alice, owner here, with the id of a row of charlie's workspace in the URL.
    if len(route.params) > 1:
        for method, expected in (("get", expected_get), ("post", expected_post)):
            if not expected.startswith("405"):
                assert _request(team, world, route, "owner", method, foreign=True).status_code == 404, method
