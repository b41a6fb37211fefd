"""The client's IP address: the socket peer, unless that peer is a configured trusted proxy.

Forwarding headers are believed only from `POST16_TRUSTED_PROXIES`. From `X-Forwarded-For` we take the
right-most address that is not itself a trusted proxy — the left-most entries are whatever the client
chose to send.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _parse(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    value = value.strip()
    if value.startswith("[") and "]" in value:
        value = value[1 : value.index("]")]
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


def _trusted(address: ipaddress.IPv4Address | ipaddress.IPv6Address, proxies: Iterable[Network]) -> bool:
    return any(address in network for network in proxies)


def client_ip(peer: str | None, headers: Mapping[str, str], proxies: tuple[Network, ...]) -> str:
    peer_address = _parse(peer or "")
    if peer_address is None:
        return peer or "unknown"
    if not proxies or not _trusted(peer_address, proxies):
        return str(peer_address)
    forwarded = headers.get("x-forwarded-for")
    if forwarded:
        for hop in reversed(forwarded.split(",")):
            address = _parse(hop)
            if address is None:
                break
            if not _trusted(address, proxies):
                return str(address)
    real_ip = _parse(headers.get("x-real-ip", ""))
    if real_ip is not None:
        return str(real_ip)
    return str(peer_address)


__all__ = ["client_ip"]
