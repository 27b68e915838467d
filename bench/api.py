"""API list pages against the HTML pages that list the same rows, at the reliability benchmark's scale.

Uses the database bench.reliability seeds (``seed_demo --scale 2500``: 1,000
providers, 100,000 engagements, about a million messages; seeded once,
``BENCH_API_DATABASE_URL`` / ``BENCH_API_SCALE`` to change it), then times
each pair as the median of repeated requests through Django's test client:
the API page asks for as many rows as the HTML page shows (25). Target: each
API page within 2× of its HTML page.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from bench.__main__ import REPEAT, _median_ms, seed_demo_once
from bench.reliability import DEFAULT_URL, SCALE

TARGET_RATIO = 2.0
PAGE = 25


def main() -> int:
    url = os.environ.get("BENCH_API_DATABASE_URL", DEFAULT_URL)
    scale = int(os.environ.get("BENCH_API_SCALE", str(SCALE)))
    seed_demo_once(url, scale)

    import django

    django.setup()
    from django.conf import settings
    from django.test import Client
    from django.urls import reverse

    from api.models import ApiToken
    from api.services import token_create
    from engagements.models import Engagement, Message
    from outsourcing.models import Membership, User, Workspace
    from providers.models import Provider

    settings.ALLOWED_HOSTS = ["*"]
    # The benchmark's own requests must not be refused by the per-token limits.
    settings.RATE_LIMITS = {"api_token": "100000/m", "api_token_write": "100000/m"}
    workspace = Workspace.objects.get(slug="demo")
    user = User.objects.get(email="demo@example.com")
    _token, key = token_create(
        membership=Membership.objects.get(workspace=workspace, user=user),
        name="bench",
        access=ApiToken.Access.READ,
    )
    html = Client()
    html.force_login(user)
    api = Client(headers={"Authorization": f"Bearer {key}"})

    ws = workspace.slug
    pairs = {
        "providers": (reverse("providers:list", kwargs={"ws": ws}), "/api/v1/providers/?status=active"),
        "engagements": (reverse("engagements:list", kwargs={"ws": ws}), "/api/v1/engagements/"),
        "engagements awaiting a reply": (
            reverse("engagements:list", kwargs={"ws": ws}) + "?awaiting=yes",
            "/api/v1/engagements/?awaiting_reply=true",
        ),
        "open flags / needs attention": (
            reverse("engagements:attention", kwargs={"ws": ws}),
            "/api/v1/flags/?open=true",
        ),
    }
    print("API list pages against their HTML pages, PostgreSQL")
    print(
        f"{Provider.objects.filter(workspace=workspace).count():,} providers, "
        f"{Engagement.objects.filter(workspace=workspace).count():,} engagements, "
        f"{Message.objects.filter(workspace=workspace).count():,} messages; median of {REPEAT} requests each\n"
    )

    def getter(client: Client, path: str) -> Callable[[], object]:
        def get() -> object:
            response = client.get(path)
            if response.status_code != 200:
                raise SystemExit(f"{path} answered {response.status_code}")
            return response

        return get

    for label, (page, endpoint) in pairs.items():
        sep = "&" if "?" in endpoint else "?"
        html_ms = _median_ms(getter(html, page))
        api_ms = _median_ms(getter(api, f"{endpoint}{sep}page_size={PAGE}"))
        ratio = api_ms / html_ms
        verdict = "met" if ratio <= TARGET_RATIO else "NOT met"
        print(
            f"{label:32} HTML {html_ms:7.1f} ms   API {api_ms:7.1f} ms   {ratio:4.2f}× "
            f"(target <= {TARGET_RATIO:.0f}×: {verdict})"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
