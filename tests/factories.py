"""factory_boy factories for every model the tests build."""

from __future__ import annotations

from datetime import timedelta

import factory
from allauth.account.models import EmailAddress
from django.utils import timezone

from engagements.models import Engagement, Message
from outsourcing.models import Membership, Role, User, Workspace
from providers.models import Absence, Provider, ProviderEmail


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    password = factory.PostGenerationMethodCall("set_password", "password")

    @factory.post_generation
    def save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save(update_fields=["password"])

    @factory.post_generation
    def verified(obj, create, extracted, **kwargs):
        """``UserFactory(verified=True)``: the address is confirmed, as after allauth's confirmation mail."""
        if create and extracted:
            EmailAddress.objects.create(user=obj, email=obj.email, verified=True, primary=True)


class WorkspaceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Workspace

    name = factory.Sequence(lambda n: f"Workspace {n}")
    slug = factory.Sequence(lambda n: f"workspace-{n}")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    workspace = factory.SubFactory(WorkspaceFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.MEMBER


class ProviderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Provider

    workspace = factory.SubFactory(WorkspaceFactory)
    name = factory.Sequence(lambda n: f"Provider {n}")
    kind = Provider.Kind.FREELANCER
    time_zone = "Europe/Berlin"
    country = "DE"


class ProviderEmailFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProviderEmail

    provider = factory.SubFactory(ProviderFactory)
    workspace = factory.SelfAttribute("provider.workspace")
    email = factory.Sequence(lambda n: f"provider{n}@example.net")


class AbsenceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Absence

    provider = factory.SubFactory(ProviderFactory)
    starts_on = factory.LazyFunction(lambda: timezone.localdate())
    ends_on = factory.LazyFunction(lambda: timezone.localdate() + timedelta(days=3))


class EngagementFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Engagement

    workspace = factory.SubFactory(WorkspaceFactory)
    provider = factory.SubFactory(ProviderFactory, workspace=factory.SelfAttribute("..workspace"))
    title = factory.Sequence(lambda n: f"Task {n}")
    status = Engagement.Status.REQUESTED


class MessageFactory(factory.django.DjangoModelFactory):
    """A raw log row. Tests of behaviour log through services.message_log instead."""

    class Meta:
        model = Message

    engagement = factory.SubFactory(EngagementFactory)
    workspace = factory.SelfAttribute("engagement.workspace")
    direction = Message.Direction.OUTBOUND
    kind = Message.Kind.REQUEST
    occurred_at = factory.LazyFunction(timezone.now)


def request_logged(engagement: Engagement, *, by: User, ago: timedelta = timedelta(minutes=5)) -> Message:
    """Log a request to the provider through the service, so its exchange and due time exist."""
    from engagements import services  # here: the factories are imported before the apps' services

    return services.message_log(
        engagement=engagement,
        author=by,
        direction=Message.Direction.OUTBOUND,
        kind=Message.Kind.REQUEST,
        occurred_at=timezone.now() - ago,
        body="Could you send the draft?",
    )
