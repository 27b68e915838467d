import pytest

from engagements import saved_views
from tests.browser.test_attention import _log_in
from tests.factories import EngagementFactory, ProviderFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_shots(page, team, live_server):
    ada = ProviderFactory(workspace=team.workspace, name="Ada Atelier")
    for t in ["One", "Two"]:
        EngagementFactory(workspace=team.workspace, provider=ada, title=t)
    m = team.membership(team.bob)
    saved_views.saved_view_create(
        membership=team.membership(team.alice),
        page="list",
        name="Ada's work",
        query=f"provider={ada.pk}",
        shared=True,
    )
    saved_views.saved_view_create(membership=m, page="list", name="My drafts", query="status=draft")
    saved_views.saved_view_create(
        membership=m, page="list", name="Shared by Bob", query="sort=title", shared=True
    )
    _log_in(page, live_server, team.bob)
    page.goto(f"/w/acme/engagements/?provider={ada.pk}")
    page.get_by_test_id("saved-views-toggle").click()
    page.screenshot(path="/tmp/shots/list.png")
    page.goto("/w/acme/engagements/views/")
    page.screenshot(path="/tmp/shots/manage.png", full_page=True)
    page.goto("/w/acme/engagements/attention/")
    page.get_by_test_id("saved-views-toggle").click()
    page.screenshot(path="/tmp/shots/attention.png")
    page.set_viewport_size({"width": 390, "height": 800})
    page.goto(f"/w/acme/engagements/?provider={ada.pk}")
    page.get_by_test_id("saved-views-toggle").click()
    page.screenshot(path="/tmp/shots/phone.png")
    page.context.add_cookies([{"name": "django_language", "value": "de", "url": live_server.url}])
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto("/w/acme/engagements/views/")
    page.screenshot(path="/tmp/shots/manage_de.png", full_page=True)
