"""appointer serve: the confirmation-link pages on uvicorn."""

from __future__ import annotations

import click

from appointer.cli._common import pass_app


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (keep 127.0.0.1 behind a reverse proxy on the same host).")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535),
              help="Port to listen on (0: any free port; the log says which).")
@click.option("--forwarded-allow-ips", default="127.0.0.1,::1", show_default=True,
              metavar="IPS",
              help="Proxies trusted to set X-Forwarded-For/-Proto (the client IP kept as "
                   "evidence of consent comes from there); comma-separated, or '*'.")
@click.option("--access-log/--no-access-log", default=True, show_default=True,
              help="Log one line per request (link paths are always redacted).")
@pass_app
def serve(app, host, port, forwarded_allow_ips, access_log):
    """Serve the pages that confirmation links in emails open.

    Recipients open APPOINTER_BASE_URL/t/<token>, see what is asked and answer with a button;
    GET and HEAD never change anything. Run it behind a reverse proxy that terminates TLS and
    set APPOINTER_BASE_URL to the public https address: links are built from it, never from
    a request's Host header.

    \b
    Example:
      APPOINTER_BASE_URL=https://svar.helse.example \\
          appointer --db /srv/appointer/appointer.sqlite serve --host 127.0.0.1 --port 8000
    """
    import uvicorn

    from appointer.db import ensure_current, get_engine
    from appointer.web import create_app

    settings = app.settings
    ensure_current(get_engine(settings), settings)  # refuse to start on a missing database
    web = create_app(settings, app.clock)
    uvicorn.run(web, host=host, port=port, proxy_headers=True,
                forwarded_allow_ips=forwarded_allow_ips, access_log=access_log,
                server_header=False)
