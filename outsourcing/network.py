"""Whether a host the user chose is on the public internet.

Users type host names the server then connects to (flag webhooks, IMAP
mailboxes); unchecked, they could make it open connections inside the
network it runs in.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import urllib.request
from typing import Any


def private_address(address: str) -> bool:
    """Whether an IP address is outside the public internet: private, loopback, link-local, reserved.

    Raises ValueError for anything that is not an IP address.
    """
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return not ip.is_global


def resolves_to_private(host: str, port: int) -> bool:
    """Whether any address the name resolves to is private; raises OSError when it does not resolve.

    The caller's connection resolves the name again: one that changes its
    answer in between is not caught here.
    """
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return any(private_address(str(info[4][0])) for info in infos)


class PrivateAddressError(OSError):
    """A connection reached an address outside the public internet."""


def _checked(connection_class: type[http.client.HTTPConnection], allow_private: bool) -> Any:
    class Checked(connection_class):  # type: ignore[valid-type,misc]
        def connect(self) -> None:
            super().connect()
            # The address the connection reached, not the one a lookup gave a moment before.
            address = str(self.sock.getpeername()[0])
            if not allow_private and private_address(address):
                self.close()
                raise PrivateAddressError(f"{self.host} reached the private address {address}")

    return Checked


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        return None  # the 3xx answer comes back as an HTTPError


def public_opener(*, allow_private: bool) -> urllib.request.OpenerDirector:
    """A urllib opener for URLs users typed: it follows no redirects (one to an internal host
    would get past the check of the URL), and refuses a connection that reached a private
    address unless ``allow_private``."""
    plain = _checked(http.client.HTTPConnection, allow_private)
    secure = _checked(http.client.HTTPSConnection, allow_private)

    class HTTPHandler(urllib.request.HTTPHandler):
        def http_open(self, req):  # type: ignore[no-untyped-def]
            return self.do_open(plain, req)

    class HTTPSHandler(urllib.request.HTTPSHandler):
        def https_open(self, req):  # type: ignore[no-untyped-def]
            return self.do_open(secure, req, context=ssl.create_default_context())

    return urllib.request.build_opener(HTTPHandler, HTTPSHandler, _NoRedirects)
