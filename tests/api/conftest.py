"""The API's people: a token for each role of the team's workspace, and charlie's in his own."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from api.models import ApiToken
from api.services import token_create
from engagements import deadlines, services
from engagements.models import Engagement, Exchange, Flag, Message, Review
from outsourcing.models import Membership, Role, User, Workspace
from providers.models import Absence, Provider
from tests.conftest import Team
from tests.factories import MembershipFactory, ProviderEmailFactory, ProviderFactory

ROLES = ("owner", "manager", "member", "viewer")


def client_with(token_key: str | None) -> APIClient:
    client = APIClient()
    if token_key:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_key}")
    return client


@dataclass
class World:
    """One workspace's objects, one of each kind the API serves."""

    workspace: Workspace
    provider: Provider
    engagement: Engagement
    completed: Engagement
    message: Message
    exchange: Exchange
    flag: Flag
    absence: Absence
    review: Review


def make_world(workspace: Workspace, owner: User) -> World:
    provider = ProviderFactory(workspace=workspace, name=f"Vendor of {workspace.slug}")
    ProviderEmailFactory(provider=provider, email=f"vendor@{workspace.slug}.example")
    engagement = services.engagement_create(
        workspace=workspace, provider=provider, owner=owner, title="Landing page", created_by=owner
    )
    message = services.message_log(
        engagement=engagement,
        direction=Message.Direction.OUTBOUND,
        kind=Message.Kind.REQUEST,
        occurred_at=timezone.now() - timedelta(days=5),
        body="Could you send the draft?",
        author=owner,
    )
    exchange = Exchange.objects.get(request_message=message)
    # As the flagging pass leaves it: the exchange one step up the ladder, its flag open.
    Exchange.objects.filter(pk=exchange.pk).update(escalation=deadlines.OVERDUE)
    flag = Flag.objects.create(
        workspace=workspace,
        engagement=engagement,
        exchange=exchange,
        kind=Flag.Kind.REPLY_OVERDUE,
        due_at=exchange.reply_due_at,
    )
    completed = services.engagement_create(
        workspace=workspace,
        provider=provider,
        owner=owner,
        title="E-book cover",
        created_by=owner,
        status=Engagement.Status.IN_PROGRESS,
    )
    services.engagement_set_status(engagement=completed, status=Engagement.Status.DELIVERED, by=owner)
    services.engagement_set_status(engagement=completed, status=Engagement.Status.COMPLETED, by=owner)
    absence = Absence.objects.create(
        provider=provider,
        starts_on=timezone.localdate() + timedelta(days=30),
        ends_on=timezone.localdate() + timedelta(days=32),
    )
    review = services.review_save(
        engagement=completed, by=owner, quality=4, communication=5, on_time=True, would_hire_again=True
    )
    return World(workspace, provider, engagement, completed, message, exchange, flag, absence, review)


@dataclass
class ApiTeam:
    team: Team
    manager: User
    world: World
    other: World  # charlie's workspace
    keys: dict[str, str] = field(default_factory=dict)

    def client(self, who: str, access: str = ApiToken.Access.WRITE) -> APIClient:
        """A client with a token of ``who`` (a role, or "outsider": charlie in his own workspace)."""
        cache_key = f"{who}:{access}"
        if cache_key not in self.keys:
            user = {
                "owner": self.team.alice,
                "manager": self.manager,
                "member": self.team.bob,
                "viewer": self.team.vera,
                "outsider": self.team.charlie,
            }[who]
            workspace = self.team.other_workspace if who == "outsider" else self.team.workspace
            membership = Membership.objects.get(user=user, workspace=workspace)
            # A viewer's token can only read; the others get what is asked.
            wanted = ApiToken.Access.READ if who == "viewer" else access
            _token, self.keys[cache_key] = token_create(membership=membership, name=cache_key, access=wanted)
        return client_with(self.keys[cache_key])


@pytest.fixture
def api(team: Team) -> ApiTeam:
    manager = MembershipFactory(
        workspace=team.workspace, role=Role.MANAGER, user__email="mona@example.com"
    ).user
    return ApiTeam(
        team=team,
        manager=manager,
        world=make_world(team.workspace, team.alice),
        other=make_world(team.other_workspace, team.charlie),
    )
