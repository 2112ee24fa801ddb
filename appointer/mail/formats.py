"""What a message body is written with, in two formats. The plain-text environment gets
`TEXT`, the HTML environment `HTML` (autoescaped: values are escaped, what these return is
markup), so one `body` block yields both parts of a message:

    {% filter para %}Prose with {{ variables }}, any line breaks.{% endfilter %}
    {% filter small %}A footnote.{% endfilter %}
    {{ heading("Title") }}  {{ bullets(items) }}  {{ facts([(label, value), …]) }}
    {{ button(url, label) }}  {{ lines([line, …]) }}

Facts and lines whose value is empty are left out. Plain text is tidied afterwards (at most
one empty line in a row), so these may be generous with blank lines. Written in Python, not as
Jinja macros: a transition renders every message it queues, and a macro call costs far more
than a Python function's.
"""

from __future__ import annotations

from markupsafe import Markup, escape


def _one_line(value) -> str:
    return " ".join(str(value).split())


def _text_para(value) -> str:
    return f"\n\n{_one_line(value)}\n\n"


def _text_heading(title) -> str:
    title = _one_line(title)
    return f"\n\n\n{title}\n{'-' * len(title)}\n\n"


def _text_bullets(items) -> str:
    return "\n\n" + "".join(f"- {_one_line(i)}\n" for i in items) + "\n"


def _text_facts(rows) -> str:
    return "\n\n" + "".join(f"{label}: {_one_line(value)}\n" for label, value in rows if value) + "\n"


def _text_button(url, label) -> str:
    return f"\n\n{label}:\n{url}\n\n"


def _text_lines(items) -> str:
    return "\n\n" + "\n".join(_one_line(i) for i in items if i) + "\n\n"


TEXT = {
    "filters": {"para": _text_para, "small": _text_para},
    "globals": {"heading": _text_heading, "bullets": _text_bullets, "facts": _text_facts,
                "button": _text_button, "lines": _text_lines},
}

# Built with f-strings around escape(), not with Markup's own % operator (slower).
_P = '<p style="margin:0 0 1em">'
_SMALL = '<p style="margin:2em 0 0;font-size:0.85em;color:#555555">'
_H = '<h2 style="font-size:1.1em;margin:1.5em 0 0.5em">'
_LI = '<li style="margin-bottom:0.3em">'
_TH = ('<tr><th scope="row" style="text-align:left;vertical-align:top;'
       'padding:0.2em 1em 0.2em 0;font-weight:600">')
_TD = '<td style="padding:0.2em 0">'
_A = ('<a style="background:#005b94;color:#ffffff;padding:0.7em 1.2em;border-radius:4px;'
      'text-decoration:none;display:inline-block" href="')
_URL = '<p style="margin:0 0 1em;font-size:0.9em;color:#555555;word-break:break-all">'


def _html_para(value) -> Markup:
    return Markup(f"{_P}{escape(value)}</p>\n")


def _html_small(value) -> Markup:
    return Markup(f"{_SMALL}{escape(value)}</p>\n")


def _html_heading(title) -> Markup:
    return Markup(f"{_H}{escape(title)}</h2>\n")


def _html_bullets(items) -> Markup:
    inner = "".join(f"{_LI}{escape(i)}</li>\n" for i in items)
    return Markup(f'<ul style="margin:0 0 1em;padding-left:1.4em">\n{inner}</ul>\n')


def _html_facts(rows) -> Markup:
    inner = "".join(f"{_TH}{escape(label)}</th>{_TD}{escape(value)}</td></tr>\n"
                    for label, value in rows if value)
    return Markup(f'<table role="presentation" style="border-collapse:collapse;margin:0 0 1em">'
                  f"\n{inner}</table>\n")


def _html_button(url, label) -> Markup:
    url = escape(url)
    return Markup(f'<p style="margin:1.5em 0">{_A}{url}">{escape(label)}</a></p>\n'
                  f"{_URL}{url}</p>\n")


def _html_lines(items) -> Markup:
    return Markup(f"{_P}{'<br>'.join(str(escape(i)) for i in items if i)}</p>\n")


HTML = {
    "filters": {"para": _html_para, "small": _html_small},
    "globals": {"heading": _html_heading, "bullets": _html_bullets, "facts": _html_facts,
                "button": _html_button, "lines": _html_lines},
}
