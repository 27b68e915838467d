"""Whether a host the user chose is on the public internet.

Users type host names the server then connects to (flag webhooks, IMAP
mailboxes); unchecked, they could make it open connections inside the
network it runs in. A name is checked when it is saved, and the address a
connection actually reached is checked again before a byte is read or
written on it, so a name whose answer changed in between (DNS rebinding)
gets nothing.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import urllib.request
from functools import cache, partial
from typing import Any

# The well-known NAT64 prefix (RFC 6052) is global in ``ipaddress``'s eyes, but a
# NAT64 gateway turns 64:ff9b::7f00:1 into 127.0.0.1: the IPv4 address inside decides.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
# Blocks ``ipaddress`` calls global that are no public destination: each embeds an IPv4
# address a host may route to itself, or names a private network.
_NOT_PUBLIC = (
    ipaddress.IPv6Network("::/96"),  # IPv4-compatible (deprecated, RFC 4291): ::127.0.0.1
    ipaddress.IPv6Network("::ffff:0:0:0/96"),  # IPv4-translated (SIIT, RFC 2765): ::ffff:0:127.0.0.1
    ipaddress.IPv6Network("fec0::/10"),  # site-local (deprecated, RFC 3879): a private network
)


def private_address(address: str) -> bool:
    """Whether an IP address is anything but a globally routable unicast address.

    Raises ValueError for anything that is not an IP address.
    """
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped:
            ip = ip.ipv4_mapped
        elif ip in _NAT64:
            ip = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        elif any(ip in block for block in _NOT_PUBLIC):
            return True
    # Multicast is "global" too, and never a server to connect to.
    return ip.is_multicast or not ip.is_global


def resolves_to_private(host: str, port: int) -> bool:
    """Whether any address the name resolves to is private; raises OSError when it does not resolve.

    The caller's connection resolves the name again: one that changes its
    answer in between is caught by ``connect_public``.
    """
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return any(private_address(str(info[4][0])) for info in infos)


class PrivateAddressError(OSError):
    """A connection reached an address outside the public internet."""


def connect_public(
    address: tuple[str, int],
    timeout: float | None = None,
    source_address: tuple[str, int] | None = None,
    *,
    allow_private: bool,
) -> socket.socket:
    """``socket.create_connection``, closed again unless it reached a public address (or
    ``allow_private``): checked before anything is read or sent, not even a TLS handshake."""
    sock = socket.create_connection(address, timeout, source_address)
    reached = str(sock.getpeername()[0])
    if not allow_private and private_address(reached):
        sock.close()
        raise PrivateAddressError(f"{address[0]} reached the private address {reached}")
    return sock


def _checked(connection_class: type[http.client.HTTPConnection], allow_private: bool) -> Any:
    class Checked(connection_class):  # type: ignore[valid-type,misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            # http.client opens its socket through this attribute, before any TLS handshake.
            self._create_connection = partial(connect_public, allow_private=allow_private)

    return Checked


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        return None  # the 3xx answer comes back as an HTTPError


@cache
def public_opener(*, allow_private: bool) -> urllib.request.OpenerDirector:
    """A urllib opener for URLs users typed: it follows no redirects (one to an internal host
    would get past the check of the URL), and refuses a connection that reached a private
    address unless ``allow_private``.

    One per process (and setting): a TLS context loads the system's certificates, about
    20 ms, which a webhook delivery paid twice per notification before.
    """
    plain = _checked(http.client.HTTPConnection, allow_private)
    secure = _checked(http.client.HTTPSConnection, allow_private)
    context = ssl.create_default_context()

    class HTTPHandler(urllib.request.HTTPHandler):
        def http_open(self, req):  # type: ignore[no-untyped-def]
            return self.do_open(plain, req)

    class HTTPSHandler(urllib.request.HTTPSHandler):
        def https_open(self, req):  # type: ignore[no-untyped-def]
            return self.do_open(secure, req, context=context)

    return urllib.request.build_opener(HTTPHandler, HTTPSHandler(context=context), _NoRedirects)
