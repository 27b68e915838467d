"""Whether a host the user chose is on the public internet.

Users type host names the server then connects to (flag webhooks, IMAP
mailboxes); unchecked, they could make it open connections inside the
network it runs in.
"""

from __future__ import annotations

import ipaddress
import socket


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
