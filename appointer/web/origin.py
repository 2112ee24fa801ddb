"""What the app believes about a request's origin: only what it was configured to believe.

- **Where it was sent.** Every request is treated as addressed to `APPOINTER_BASE_URL`: the
  Host header, scheme and any X-Forwarded-Host/-Proto are replaced by the base URL's before
  the app sees them, so nothing the app builds from the request (a redirect, a URL) can
  point elsewhere. A GET of a path with a trailing slash is redirected, from the base URL
  too, to the path without it (Starlette's own redirect, which uses the Host header, is off).
- **Who sent it.** The client address (kept as evidence of consent) is the socket peer's,
  unless the peer is one of `APPOINTER_TRUSTED_PROXIES` (addresses or networks): then it is
  the nearest address in X-Forwarded-For that is not a trusted proxy itself. Default: no
  proxy is trusted, and a forged header changes nothing.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import quote, urlsplit

from appointer.settings import parse_proxies

__all__ = ["Origin", "parse_proxies"]

_DROPPED = {b"host", b"x-forwarded-for", b"x-forwarded-proto", b"x-forwarded-host",
            b"x-forwarded-port", b"x-forwarded-prefix", b"forwarded"}


class Origin:
    """Pure ASGI middleware; see the module's docstring."""

    def __init__(self, app, base_url: str, trusted_proxies: str = ""):
        self.app = app
        parts = urlsplit(base_url)
        self.base = f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"
        self.scheme = parts.scheme or "http"
        self.host = (parts.netloc or "localhost").encode("latin-1")
        default = 443 if self.scheme == "https" else 80
        self.server = (parts.hostname or "localhost", parts.port or default)
        self.trusted = parse_proxies(trusted_proxies)

    def _is_trusted(self, host: str | None) -> bool:
        if not host or not self.trusted:
            return False
        try:
            addr = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(addr in net for net in self.trusted)

    def _client(self, peer: str | None, forwarded: list[str]) -> str | None:
        """The nearest address, from the right of X-Forwarded-For, that is not a trusted
        proxy (each proxy appends the address it got the request from)."""
        if not self._is_trusted(peer):
            return peer
        hops = [h.strip() for value in forwarded for h in value.split(",") if h.strip()]
        for hop in reversed(hops):
            try:
                ipaddress.ip_address(hop)
            except ValueError:
                return peer  # a garbled header: keep what we know
            if not self._is_trusted(hop):
                return hop
        return hops[0] if hops else peer

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        forwarded = [v.decode("latin-1") for k, v in scope.get("headers", [])
                     if k == b"x-forwarded-for"]
        peer = scope.get("client")
        client = self._client(peer[0] if peer else None, forwarded)
        headers = [(k, v) for k, v in scope.get("headers", []) if k not in _DROPPED]
        headers.append((b"host", self.host))
        scope = {**scope, "headers": headers, "scheme": self.scheme, "server": self.server,
                 "client": (client, peer[1] if peer and client == peer[0] else 0)
                 if client else peer}
        path = scope.get("path", "")
        if (scope["type"] == "http" and scope.get("method") in ("GET", "HEAD")
                and len(path) > 1 and path.endswith("/") and not path.startswith("/t/")):
            return await self._redirect(scope, send, path.rstrip("/") or "/")
        return await self.app(scope, receive, send)

    async def _redirect(self, scope, send, path: str) -> None:
        query = scope.get("query_string", b"").decode("latin-1")
        location = self.base + quote(path, safe="/:@!$&'()*+,;=-._~") + (
            "?" + quote(query, safe="=&+%:@!$'()*,;/?-._~") if query else "")
        await send({"type": "http.response.start", "status": 308,
                    "headers": [(b"location", location.encode("ascii")),
                                (b"content-length", b"0")]})
        await send({"type": "http.response.body", "body": b""})
