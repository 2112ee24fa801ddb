"""appointer serve: the confirmation-link pages on uvicorn."""

from __future__ import annotations

import click

from appointer.cli._common import pass_app


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (keep 127.0.0.1 behind a reverse proxy on the same host).")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535),
              help="Port to listen on (0: any free port; the log says which).")
@click.option("--trusted-proxies", "--forwarded-allow-ips", "trusted_proxies", metavar="IPS",
              help="Reverse proxies whose X-Forwarded-For is believed (the client address "
                   "kept as evidence of consent comes from there): addresses or networks, "
                   "comma-separated [default: APPOINTER_TRUSTED_PROXIES, else none: the "
                   "connecting address is the client's].")
@click.option("--access-log/--no-access-log", default=True, show_default=True,
              help="Log one line per request (link paths are always redacted).")
@pass_app
def serve(app, host, port, trusted_proxies, access_log):
    """Serve the pages that confirmation links in emails open.

    Recipients open APPOINTER_BASE_URL/t/<token>, see what is asked and answer with a button;
    GET and HEAD never change anything. Run it behind a reverse proxy that terminates TLS and
    set APPOINTER_BASE_URL to the public https address: links and redirects are built from it,
    never from a request's Host header. Set APPOINTER_TRUSTED_PROXIES (or --trusted-proxies) to
    the proxy's address so that X-Forwarded-For is believed from it, and from nobody else.

    \b
    Example:
      APPOINTER_BASE_URL=https://svar.helse.example \\
          appointer --db /srv/appointer/appointer.sqlite serve --host 127.0.0.1 --port 8000
    """
    import uvicorn

    from appointer.db import ensure_current, get_engine
    from appointer.settings import replace
    from appointer.web import create_app
    from appointer.web.origin import parse_proxies

    settings = app.settings
    if trusted_proxies is not None:
        try:
            parse_proxies(trusted_proxies)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--trusted-proxies") from exc
        settings = replace(settings, trusted_proxies=trusted_proxies)
    ensure_current(get_engine(settings), settings)  # refuse to start on a missing database
    web = create_app(settings, app.clock)
    # Forwarded headers are the app's business (web/origin.py), from trusted proxies only:
    # uvicorn's own handling stays off, so a header can never get past that rule.
    uvicorn.run(web, host=host, port=port, proxy_headers=False, access_log=access_log,
                server_header=False)
