"""Who is the client: the peer of the connection, or, behind a proxy named in ``[server] trusted_proxies``, the
address that proxy says it forwarded for.

Budgets (refused requests per client, failed key checks per client) and the audit are keyed by the client's
address, so that address must not be something a caller can write. ``X-Forwarded-For`` is written by whoever
sends the request: it is read only when the connection comes from a trusted proxy, and then from the right,
skipping the hops that are trusted proxies themselves; the first one that is not is the client (everything to
its left was written by that client and proves nothing). With no trusted proxies (the default) the headers are
never read, whatever the peer, loopback included: a local process is not a proxy because it is local.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

from futago.core.problems import Problem

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address
SCHEMES = frozenset({"http", "https"})


def parse_networks(entries: Iterable[str]) -> tuple[tuple[Network, ...], list[Problem]]:
    """The networks of ``entries`` (addresses or CIDRs), and a problem for each entry that is neither."""
    networks: list[Network] = []
    problems: list[Problem] = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            problems.append(Problem("/trusted_proxies", f"{entry!r} is not an IP address or a CIDR (10.0.0.0/8)"))
    return tuple(networks), problems


def _address(text: str) -> Address | None:
    """An IP address from a hop as proxies write it (``1.2.3.4``, ``1.2.3.4:80``, ``[::1]:80``, ``::1``)."""
    text = text.strip().strip('"')
    if text.startswith("["):
        text = text[1 : text.find("]")] if "]" in text else ""
    elif text.count(":") == 1:  # IPv4 with a port; a bare IPv6 address has several colons
        text = text.partition(":")[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped  # ::ffff:10.0.0.1 is 10.0.0.1, for matching and for budgets alike
    return address


class TrustedProxies:
    """The proxies whose ``X-Forwarded-*`` headers are believed; empty: none are."""

    def __init__(self, entries: Iterable[str] = ()) -> None:
        networks, problems = parse_networks(entries)
        if problems:
            raise ValueError("; ".join(p.message for p in problems))
        self.networks = networks

    def __bool__(self) -> bool:
        return bool(self.networks)

    def trusts(self, host: str | None) -> bool:
        address = _address(host) if host else None
        return address is not None and any(address in network for network in self.networks)

    def client(self, peer: str | None, forwarded_for: Sequence[str]) -> str | None:
        """The client's address: ``peer`` unless it is a trusted proxy; then the rightmost hop of the
        ``X-Forwarded-For`` values (in the order received) that is not one. A hop that is no address stops the
        walk at the last trusted proxy: nothing to its left can be attributed."""
        if not self.trusts(peer):
            return peer
        client = peer
        hops = [hop for value in forwarded_for for hop in value.split(",") if hop.strip()]
        for hop in reversed(hops):
            address = _address(hop)
            if address is None:
                return client
            client = str(address)
            if not self.trusts(client):
                return client
        return client  # every hop is a trusted proxy: the leftmost is as far as it goes

    def scheme(self, peer: str | None, forwarded_proto: Sequence[str], scheme: str) -> str:
        """The scheme the client used: the nearest trusted proxy's ``X-Forwarded-Proto``, else the connection's."""
        if not self.trusts(peer) or not forwarded_proto:
            return scheme
        said = forwarded_proto[-1].split(",")[-1].strip().lower()
        return said if said in SCHEMES else scheme
