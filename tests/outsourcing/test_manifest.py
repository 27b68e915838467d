"""The web app manifest and its icons: the app can be added to a phone's home screen."""

from __future__ import annotations

import json

from django.contrib.staticfiles import finders
from django.urls import reverse
from PIL import Image


def test_the_manifest_is_served_as_a_manifest_without_login(client, db):
    response = client.get("/manifest.webmanifest")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/manifest+json"
    manifest = json.loads(response.content)
    assert manifest["name"] == "Outsourcing Tracker"
    assert manifest["short_name"]
    assert len(manifest["short_name"]) <= 12  # what a home screen shows under the icon
    assert manifest["start_url"] == reverse("home")
    assert manifest["display"] == "standalone"
    assert manifest["theme_color"] == "#0d6efd"


def test_every_icon_of_the_manifest_exists_at_its_size(client, db):
    manifest = client.get("/manifest.webmanifest").json()
    sizes: dict[str, list[int]] = {}
    for icon in manifest["icons"]:
        path = finders.find(icon["src"].removeprefix("/static/"))
        assert path, icon["src"]
        if icon["type"] == "image/png":
            with Image.open(path) as image:
                assert f"{image.width}x{image.height}" == icon["sizes"]
                sizes.setdefault(icon["purpose"], []).append(image.width)
    assert sorted(sizes["any"]) == [192, 512]
    assert sizes["maskable"] == [512]


def test_the_names_follow_the_language(client, db):
    client.cookies["django_language"] = "de"
    manifest = client.get("/manifest.webmanifest", HTTP_ACCEPT_LANGUAGE="de").json()
    assert manifest["lang"] == "de"
    assert manifest["description"].startswith("Delegieren Sie")


def test_every_page_links_the_manifest_and_the_touch_icon(client, db):
    page = client.get(reverse("account_login")).content.decode()
    assert '<link rel="manifest" href="/manifest.webmanifest">' in page
    assert '<link rel="apple-touch-icon" href="/static/img/apple-touch-icon.png">' in page
    assert finders.find("img/apple-touch-icon.png")
    with Image.open(finders.find("img/apple-touch-icon.png")) as image:
        assert image.size == (180, 180)
    assert '<meta name="theme-color" content="#0d6efd">' in page


def test_the_content_security_policy_allows_the_manifest_from_our_own_origin(client, db):
    policy = client.get(reverse("account_login"))["Content-Security-Policy"]
    assert "manifest-src 'self'" in policy
