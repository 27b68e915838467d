"""The workspace's own follow-up texts: managers edit them per flag kind and language, with placeholders
checked, a live preview, a reset to the default; a follow-up starts from the one in the provider's language."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from engagements import followup_templates
from engagements.models import FollowupTemplate
from outsourcing.models import Role
from tests.factories import MembershipFactory, ProviderEmailFactory

pytestmark = pytest.mark.django_db

OWN = "Bonjour {provider}, où en est « {engagement} » ? Demandé le {request_date}, {days_waiting} jours. {sender}"


def url(name: str, ws: str = "acme") -> str:
    return reverse(f"mail:{name}", kwargs={"ws": ws})


@pytest.fixture
def manager(team):
    return MembershipFactory(workspace=team.workspace, role=Role.MANAGER, user__email="mona@example.com").user


def compose_url(engagement, **query: str) -> str:
    path = reverse("mail:compose", kwargs={"ws": engagement.workspace.slug, "pk": engagement.pk})
    return path + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def speaking(engagement, *languages: str) -> None:
    engagement.provider.languages = list(languages)
    engagement.provider.save(update_fields=["languages"])
    ProviderEmailFactory(provider=engagement.provider, workspace=engagement.workspace, email="va@example.net")


def followup_body(team, engagement) -> str:
    response = team.client_for(team.alice).get(compose_url(engagement, kind="follow_up"))
    assert response.status_code == 200
    return response.context["form"].initial["body"]


# --- Access ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("page", ["templates", "template_edit"])
def test_owners_and_managers_see_the_pages_members_and_viewers_are_refused(team, manager, page):
    assert team.client_for(team.alice).get(url(page)).status_code == 200
    assert team.client_for(manager).get(url(page)).status_code == 200
    assert team.client_for(team.bob).get(url(page)).status_code == 403
    assert team.client_for(team.vera).get(url(page)).status_code == 403


def test_an_outsider_gets_404_and_changes_nothing(team):
    client = team.client_for(team.charlie)
    assert client.get(url("templates")).status_code == 404
    data = {"kind": "ghosted", "lang": "en", "body": "Hi {provider}"}
    assert client.post(url("template_edit"), data).status_code == 404
    assert client.post(url("template_preview"), data).status_code == 404
    assert not FollowupTemplate.objects.exists()


def test_a_member_cannot_save_or_reset_a_text(team):
    FollowupTemplate.objects.create(workspace=team.workspace, kind="ghosted", language="en", body="Mine")
    client = team.client_for(team.bob)
    assert (
        client.post(url("template_edit"), {"kind": "ghosted", "lang": "en", "body": "X"}).status_code == 403
    )
    assert client.post(url("template_reset"), {"kind": "ghosted", "lang": "en"}).status_code == 403
    assert FollowupTemplate.objects.get().body == "Mine"


def test_an_unknown_kind_or_a_malformed_language_is_a_404(team):
    client = team.client_for(team.alice)
    assert client.get(url("template_edit"), {"kind": "nonsense", "lang": "en"}).status_code == 404
    assert client.get(url("template_edit"), {"kind": "ghosted", "lang": "../x"}).status_code == 404


# --- List, save, reset ------------------------------------------------------------------------------


def test_the_list_shows_every_kind_for_english_german_and_each_added_language(
    team, django_assert_max_num_queries
):
    FollowupTemplate.objects.create(workspace=team.workspace, kind="ghosted", language="fr", body="Salut")
    client = team.client_for(team.alice)
    with django_assert_max_num_queries(12):
        response = client.get(url("templates"))
    rows = response.context["rows"]
    assert [row["code"] for row in rows] == ["en", "de", "fr"]
    assert len(rows[0]["cells"]) == 5
    french = {cell["kind"]: cell["own"] for cell in rows[2]["cells"]}
    assert french["ghosted"] is not None and french["reply_overdue"] is None


def test_a_manager_saves_a_text_and_resets_it_to_the_default(team, manager):
    client = team.client_for(manager)
    response = client.post(
        url("template_edit"), {"kind": "ghosted", "lang": "de", "body": "Hallo {provider}"}
    )
    assert response.status_code == 302
    saved = FollowupTemplate.objects.get(workspace=team.workspace, kind="ghosted", language="de")
    assert saved.body == "Hallo {provider}" and saved.updated_by == manager
    assert client.post(url("template_reset"), {"kind": "ghosted", "lang": "de"}).status_code == 302
    assert not FollowupTemplate.objects.exists()


def test_an_unknown_placeholder_is_a_form_error_and_what_was_typed_stays(team):
    body = "Hello {provider}, about {engagement.__class__} and {client}"
    response = team.client_for(team.alice).post(
        url("template_edit"), {"kind": "ghosted", "lang": "en", "body": body}
    )
    assert response.status_code == 200
    error = " ".join(response.context["form"].errors["body"])
    assert "Unknown placeholder" in error and "{client}" in error and "{engagement.__class__}" in error
    assert body in response.content.decode()
    assert not FollowupTemplate.objects.exists()


@pytest.mark.parametrize(
    "body", ["Hello {provider", "Hello {provider!r}", "Hello {days_waiting:>10}", "{}", "{0}"]
)
def test_braces_formats_and_positions_are_refused(body):
    with pytest.raises(ValidationError):
        followup_templates.check_body(body)


def test_the_service_refuses_a_bad_language_code_and_an_unknown_kind(team):
    with pytest.raises(ValidationError) as caught:
        followup_templates.template_save(
            workspace=team.workspace, kind="x", language="F R", body="Hi", by=None
        )
    assert set(caught.value.message_dict) == {"kind", "language"}


def test_substitution_runs_nothing_a_user_typed():
    values = {"provider": "{sender}", "sender": "Alice"}
    rendered = followup_templates.render("Hi {provider} {{literal}} {% debug %} {{ settings }}", values)
    assert rendered == "Hi {sender} {literal} {% debug %} { settings }"


# --- Preview ---------------------------------------------------------------------------------------


def test_the_preview_shows_the_text_with_sample_values(team):
    response = team.client_for(team.alice).post(
        url("template_preview"),
        {"kind": "ghosted", "lang": "en", "body": "Hi {provider}, {days_waiting} days"},
    )
    assert response.status_code == 200
    assert "Hi Jana Novak, 9 days" in response.content.decode()
    assert not FollowupTemplate.objects.exists()


def test_the_preview_says_what_is_wrong_with_an_unknown_placeholder(team):
    response = team.client_for(team.alice).post(
        url("template_preview"), {"kind": "ghosted", "lang": "en", "body": "Hi {name}"}
    )
    assert "Unknown placeholder: {name}" in response.content.decode()


def test_the_edit_page_starts_from_the_saved_text_and_wires_the_live_preview(team):
    FollowupTemplate.objects.create(
        workspace=team.workspace, kind="ghosted", language="en", body="Hi {provider}!"
    )
    response = team.client_for(team.alice).get(url("template_edit"), {"kind": "ghosted", "lang": "en"})
    html = response.content.decode()
    assert response.context["form"].initial["body"] == "Hi {provider}!"
    assert f'hx-post="{url("template_preview")}"' in html
    assert "Hi Jana Novak!" in html  # the preview, rendered on the first load too
    assert 'data-testid="template-reset"' in html


# --- The follow-up ----------------------------------------------------------------------------------


def test_the_compose_page_starts_from_the_workspace_text_in_the_provider_language(team, engagement, message):
    speaking(engagement, "fr")
    FollowupTemplate.objects.create(workspace=team.workspace, kind="reply_overdue", language="fr", body=OWN)
    FollowupTemplate.objects.create(
        workspace=team.workspace, kind="reply_overdue", language="en", body="EN {provider}"
    )
    body = followup_body(team, engagement)
    assert body.startswith("Bonjour Vanessa VA, où en est « Landing page copy » ? Demandé le ")
    assert body.endswith(", 3 jours. " + team.alice.display_name)


def test_a_german_provider_gets_the_workspace_german_text(team, engagement, message):
    speaking(engagement, "de")
    FollowupTemplate.objects.create(
        workspace=team.workspace, kind="reply_overdue", language="de", body="Hallo {provider}"
    )
    assert followup_body(team, engagement) == "Hallo Vanessa VA"


def test_without_a_text_of_its_own_the_default_text_is_used(team, engagement, message):
    speaking(engagement, "fr")
    FollowupTemplate.objects.create(
        workspace=team.workspace, kind="reply_overdue", language="de", body="Hallo"
    )
    FollowupTemplate.objects.create(workspace=team.workspace, kind="ghosted", language="fr", body="Salut")
    body = followup_body(team, engagement)
    assert body.startswith("Hello Vanessa VA,")  # the shipped English text
    assert "Salut" not in body and "Hallo" not in body


def test_another_workspace_text_is_never_used(team, engagement, message):
    speaking(engagement, "en")
    FollowupTemplate.objects.create(
        workspace=team.other_workspace, kind="reply_overdue", language="en", body="Theirs"
    )
    assert followup_body(team, engagement).startswith("Hello Vanessa VA,")


@pytest.mark.parametrize("language", ["en", "de"])
@pytest.mark.parametrize("kind", sorted(followup_templates.KIND_NAMES))
def test_every_starter_text_uses_only_known_placeholders(kind, language):
    followup_templates.check_body(followup_templates.starter(kind, language))


def test_a_language_chosen_on_the_compose_page_picks_the_workspace_text_in_it(team, engagement, message):
    speaking(engagement, "fr")
    FollowupTemplate.objects.create(
        workspace=team.workspace, kind="reply_overdue", language="de", body="Hallo {provider}"
    )
    response = team.client_for(team.alice).get(compose_url(engagement, kind="follow_up", lang="de"))
    assert response.context["form"].initial["body"] == "Hallo Vanessa VA"
    assert response.context["chosen"]["language"] == "de"


def test_the_one_click_follow_up_in_the_log_form_uses_the_workspace_text_too(team, engagement, message):
    speaking(engagement, "de")
    FollowupTemplate.objects.create(
        workspace=team.workspace, kind="reply_overdue", language="de", body="Hallo {provider}, {engagement}"
    )
    page = reverse("engagements:message_create", kwargs={"ws": "acme", "pk": engagement.pk})
    response = team.client_for(team.alice).get(page, {"followup": "1"})
    assert response.context["log_form"].initial["body"] == "Hallo Vanessa VA, Landing page copy"


def test_an_added_language_can_be_chosen_on_the_compose_page(team, engagement, message):
    speaking(engagement, "en")
    FollowupTemplate.objects.create(
        workspace=team.workspace, kind="reply_overdue", language="fr", body="Salut {provider}"
    )
    client = team.client_for(team.alice)
    page = client.get(compose_url(engagement, kind="follow_up"))
    assert ("fr", "French") in page.context["languages"]
    assert page.context["form"].initial["body"].startswith("Hello Vanessa VA,")
    chosen = client.get(compose_url(engagement, kind="follow_up", lang="fr"))
    assert chosen.context["form"].initial["body"] == "Salut Vanessa VA"


def test_a_chosen_language_without_any_text_falls_back_to_the_provider_language(team, engagement, message):
    speaking(engagement, "de")
    response = team.client_for(team.alice).get(compose_url(engagement, kind="follow_up", lang="fr"))
    assert response.context["chosen"]["language"] == "de"
    assert response.context["form"].initial["body"].startswith("Guten Tag Vanessa VA,")
