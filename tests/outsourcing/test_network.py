"""The public-address check that webhooks and mailboxes share: every address that is not globally
routable is refused, including IPv6 forms that embed a private IPv4 address."""

from __future__ import annotations

import re
import ssl
import urllib.error
from typing import Any

import pytest

from outsourcing.models import Workspace
from outsourcing.network import PrivateAddressError, connect_public, private_address, public_opener
from tests.outsourcing.conftest import url
from tests.realparts import BannerServer

# Each reaches the machine itself or a private network, though ``ipaddress`` calls most of them global.
NOT_PUBLIC = [
    "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
    "64:ff9b::a00:5",  # NAT64 of 10.0.0.5
    "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254 (cloud metadata)
    "::ffff:7f00:1",  # IPv4-mapped 127.0.0.1
    "::ffff:0:7f00:1",  # IPv4-translated 127.0.0.1
    "::ffff:0:808:808",  # IPv4-translated: never a destination on the internet
    "::7f00:1",  # IPv4-compatible 127.0.0.1
    "::808:808",  # IPv4-compatible: deprecated, never a destination on the internet
    "fec0::1",  # site-local
    "224.0.0.1",  # multicast
    "ff0e::1",  # global-scope multicast
    "100.64.0.1",  # carrier-grade NAT
    "fe80::1%eth0",  # link-local with a zone
]
PUBLIC = ["8.8.8.8", "2a00:1450:4001:80b::200e", "64:ff9b::808:808", "::ffff:8.8.8.8"]


@pytest.mark.parametrize("address", NOT_PUBLIC)
def test_an_address_that_is_not_globally_routable_is_private(address):
    assert private_address(address) is True


@pytest.mark.parametrize("address", PUBLIC)
def test_a_public_address_in_any_form_is_public(address):
    assert private_address(address) is False


def test_something_that_is_no_address_is_a_value_error():
    with pytest.raises(ValueError):
        private_address("imap.example.com")


def test_a_connection_that_reached_a_private_address_is_closed_unused():
    server = BannerServer()

    with pytest.raises(
        PrivateAddressError, match=re.escape("127.0.0.1 reached the private address 127.0.0.1")
    ):
        connect_public(("127.0.0.1", server.port), 5, allow_private=False)

    assert server.finished() == [b""]  # closed without a byte sent


def test_a_private_address_is_connected_to_where_allowed():
    server = BannerServer()

    with connect_public(("127.0.0.1", server.port), 5, allow_private=True) as sock:
        assert sock.recv(100) == b"* OK internal-banner\r\n"
        sock.sendall(b"a1 LOGOUT\r\n")

    assert server.finished() == [b"a1 LOGOUT\r\n"]


def test_a_webhook_over_https_that_reached_a_private_address_sends_not_even_a_tls_hello():
    server = BannerServer()

    with pytest.raises(urllib.error.URLError) as refused:
        public_opener(allow_private=False).open(f"https://127.0.0.1:{server.port}/hook", timeout=5)

    assert isinstance(refused.value.reason, PrivateAddressError)
    assert server.finished() == [b""]


@pytest.mark.parametrize("address", NOT_PUBLIC[:-1])
def test_a_webhook_to_any_such_address_is_refused(team, settings, address):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    host = f"[{address}]" if ":" in address else address

    response = team.client_for(team.alice).post(
        url("workspace_settings"), {"action": "notifications", "webhook-webhook_url": f"http://{host}/hook"}
    )

    assert response.status_code == 200
    assert response.context["webhook_form"].errors["webhook_url"] == [
        "Private, loopback and reserved addresses are not allowed for webhooks."
    ]
    assert Workspace.objects.get(slug="acme").webhook_url == ""


def test_the_opener_and_its_tls_context_are_made_once_per_process_not_per_webhook(monkeypatch):
    """Loading the system's certificates took ~20 ms, twice per webhook sent: most of delivering one."""
    made: list[ssl.SSLContext] = []
    real = ssl.create_default_context

    def counted(*args: Any, **kwargs: Any) -> ssl.SSLContext:
        made.append(real(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(ssl, "create_default_context", counted)
    public_opener.cache_clear()
    try:
        first = public_opener(allow_private=False)
        assert public_opener(allow_private=False) is first
        assert public_opener(allow_private=True) is not first, "the setting is part of the opener"
        assert len(made) == 2
        for _ in range(3):  # refused before any TLS: the opener still checks each connection
            with pytest.raises(urllib.error.URLError):
                first.open(f"https://127.0.0.1:{BannerServer().port}/hook", timeout=5)
        assert len(made) == 2
    finally:
        public_opener.cache_clear()
