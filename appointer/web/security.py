"""What keeps a confirmation link private: response headers and access-log redaction.

- Every response says: never send a Referer (the token is in the URL), never sniff content
  types, never frame this page, load nothing but the one inline stylesheet (by hash), submit
  forms only here, and (unless a page sets its own) never store the page in a cache.
- uvicorn's access log prints each request path, and a link's path is its secret: the
  `RedactTokens` filter rewrites `/t/<token>` (and any other long token-like run) before any
  handler sees the record.
"""

from __future__ import annotations

import logging
import re

from appointer.web.pages import style_hash

log = logging.getLogger("appointer.web")


def security_headers() -> list[tuple[bytes, bytes]]:
    csp = (f"default-src 'none'; style-src {style_hash()}; img-src 'self'; "
           "form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
    return [
        (b"content-security-policy", csp.encode("ascii")),
        (b"referrer-policy", b"no-referrer"),
        (b"x-content-type-options", b"nosniff"),
        (b"x-frame-options", b"DENY"),
        (b"cross-origin-opener-policy", b"same-origin"),
        (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), interest-cohort=()"),
        (b"x-robots-tag", b"noindex, nofollow"),
    ]


class SecurityHeaders:
    """Pure ASGI middleware: adds the headers above to every HTTP response. An exception that
    escapes the app is answered by `on_error(scope)` (a friendly page, with these headers too)
    and logged here with its traceback but without the request path; the server never sees it,
    so it never prints a stack trace to the reader or a token to the log."""

    def __init__(self, app, on_error=None):
        self.app = app
        self.on_error = on_error
        self.headers = security_headers()

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = False

        async def send_with_headers(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = list(message.get("headers", []))
                names = {name.lower() for name, _ in headers}
                headers += [(n, v) for n, v in self.headers if n not in names]
                if b"cache-control" not in names:
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception as exc:
            if started or self.on_error is None:
                raise
            # One line without SQL parameters (they may hold names and addresses); the full
            # traceback only when someone asks for DEBUG.
            orig = getattr(exc, "orig", None)
            first = (str(orig if orig is not None else exc).strip().splitlines() or [""])[0]
            log.error("unhandled error answering a %s request: %s: %s", scope.get("method"),
                      type(exc).__name__, redact(first)[:200])
            log.debug("traceback of the unhandled error", exc_info=True)
            await self.on_error(scope)(scope, receive, send_with_headers)


_TOKEN_PATH = re.compile(r"/t/[^/?#\s\"]*")
_TOKEN_LIKE = re.compile(r"[A-Za-z0-9_-]{20,}")
REDACTED = "[redacted]"


def redact(text: str) -> str:
    """A request line without its secrets: `/t/<anything>` and token-like runs are replaced."""
    return _TOKEN_LIKE.sub(REDACTED, _TOKEN_PATH.sub("/t/" + REDACTED, text))


class RedactTokens(logging.Filter):
    """Rewrites the string arguments (and message) of a log record through `redact`."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        return True


ACCESS_LOGGER = "uvicorn.access"


def install_log_redaction() -> None:
    """Attach the filter to uvicorn's access logger (once). Logger filters survive uvicorn's
    own `dictConfig` (it replaces handlers, not filters) and run before any handler."""
    logger = logging.getLogger(ACCESS_LOGGER)
    if not any(isinstance(f, RedactTokens) for f in logger.filters):
        logger.addFilter(RedactTokens())
