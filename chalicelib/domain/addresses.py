"""Which hosts a webhook may reach: read as a resolver reads them, and public all the way down.

Used twice: when an endpoint is registered (the host as written) and at every delivery (each
address DNS gave). An IPv6 address that carries an IPv4 one (mapped, compatible, NAT64, 6to4,
Teredo) is judged by the IPv4 address too: a translator on the path would deliver there.
"""

from __future__ import annotations

import ipaddress
import re
import socket

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# What inet_aton reads as an IPv4 address: one to four parts, each decimal, octal (0...) or
# hexadecimal (0x...). "2130706433", "0x7f000001", "0177.0.0.1" and "127.1" are all 127.0.0.1.
_INET_ATON = re.compile(r"^(?:0x[0-9a-f]*|[0-9]+)(?:\.(?:0x[0-9a-f]*|[0-9]+)){0,3}$", re.I)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052, the well-known prefix
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")  # RFC 8215, a network's own translator
_TRANSLATED = ipaddress.ip_network("::ffff:0:0:0/96")  # RFC 2765 (SIIT)
_LOCAL_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback")


def canonical_host(host: str) -> str:
    """``host`` as a resolver would read it: lower case, no trailing dot, and any IPv4
    spelling that ``inet_aton`` accepts written as a dotted quad."""
    name = host.strip().lower().rstrip(".")
    if _INET_ATON.match(name):
        try:
            return socket.inet_ntoa(socket.inet_aton(name))
        except OSError:
            return name  # digits and dots that are no address (e.g. 1.2.3.4.5): a name
    return name


def embedded_ipv4(address: IPAddress) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries (none for an IPv4 address)."""
    if isinstance(address, ipaddress.IPv4Address):
        return []
    found: list[ipaddress.IPv4Address] = []
    value = int(address)
    if address.ipv4_mapped is not None:
        found.append(address.ipv4_mapped)
    if value >> 32 == 0 and value > 1:  # IPv4-compatible ::a.b.c.d (deprecated, still routed)
        found.append(ipaddress.IPv4Address(value & 0xFFFFFFFF))
    if address in _NAT64 or address in _TRANSLATED:
        found.append(ipaddress.IPv4Address(value & 0xFFFFFFFF))
    if address.sixtofour is not None:
        found.append(address.sixtofour)
    if address.teredo is not None:
        found.extend(address.teredo)
    return found


def is_public(address: IPAddress) -> bool:
    """Global unicast, and so is every IPv4 address it carries."""
    if isinstance(address, ipaddress.IPv6Address) and (address.scope_id or address in _NAT64_LOCAL):
        return False
    if not address.is_global or address.is_multicast:
        return False
    return all(is_public(inner) for inner in embedded_ipv4(address))


def public_host(host: str) -> bool:
    """False for a host that is, in any spelling, an address or name of our own network.
    A name that is not an address passes here; its DNS answers are checked at delivery."""
    name = canonical_host(host)
    if name in _LOCAL_NAMES or name.endswith(".localhost") or not name:
        return False
    try:
        address = ipaddress.ip_address(name.strip("[]"))
    except ValueError:
        return True
    return is_public(address)


def origin(url: str) -> str:
    """``scheme://host:port`` of ``url``, the host canonical and the port explicit."""
    from urllib.parse import urlsplit

    parts = urlsplit(url.strip())
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{parts.scheme}://{canonical_host(parts.hostname or '')}:{port}"


def origins(urls: tuple[str, ...]) -> tuple[str, ...]:
    """``origin`` of each of ``urls`` (settings name make dev's receivers as URLs)."""
    return tuple(origin(url) for url in urls)
