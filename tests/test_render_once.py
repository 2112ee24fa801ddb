"""A message to many people is rendered once and the greeting filled in for each
(`render.render_for`): what each person gets must be exactly what rendering it for them alone
gives, whatever their name, role and language."""

from __future__ import annotations

import pytest

from appointer import appointments, db
from appointer.engine import CaseContext, Recipient
from appointer.mail.render import render, render_for, template_names

PEOPLE = [
    Recipient("kari@example.no", "Kari Nordmann", "member", "nb"),
    Recipient("a@example.no", '<b>Ole</b> & "Co"', "member", "nb"),  # markup in a name
    Recipient("b@example.no", "Per   Hansen", "service", "nb"),  # a run of spaces
    Recipient("c@example.no", None, "member", "nb"),  # no name known
    Recipient("d@example.no", "Helse Vest RHF", "contact", "nb"),  # an organisation's address
    Recipient("e@example.no", "Kari Nordmann", "coordinator", "nb"),
]


def _context(steps, settings, clock):
    """The context the engine gives the templates for an appointed member of a real group."""
    sid = steps.service()
    steps.appoint(steps.propose(sid, "region:nord"), "nord")
    with db.transaction(settings, clock, write=False) as tx:
        case = appointments.get_case(tx.connection, 1)
        workflow = appointments.load_workflow(tx)
        actor = appointments.resolve_actor(tx.session, "coord@nord.example")
        return appointments.context(CaseContext(case, tx, workflow, actor, {}))


@pytest.mark.parametrize("lang", ["nb", "en"])
def test_every_appointment_message_rendered_once_is_what_each_would_get_alone(
        steps, settings, clock, lang):
    """Every appointment template, to six people at once: each message equals its own render
    (names escaped in HTML, spaces as a paragraph prints them, 'Til' to an organisation)."""
    context = {**_context(steps, settings, clock), "link": None,
               "on_behalf": {"by": "Koordinator", "region": "Helse Nord RHF",
                             "evidence": "på telefon", "answer": "accept"}}
    people = [Recipient(p.email, p.name, p.role, lang) for p in PEOPLE]
    names = [n for n in template_names(settings.templates_dir, lang)
             if n.startswith("appointment.")]
    assert len(names) >= 8
    memo: dict = {}  # as for the messages of one transition: their phrases worked out once
    for name in names:
        together = render_for(settings.templates_dir, name, lang, context, people)
        alone = [render(settings.templates_dir, name, lang, {**context, "recipient": p})
                 for p in people]
        assert together == alone, name
        one_by_one = [render_for(settings.templates_dir, name, lang, context, [p], memo)[0]
                      for p in people]
        assert one_by_one == alone, name
    notice = render_for(settings.templates_dir, "appointment.group.notice", lang, context,
                        people)
    assert "&lt;b&gt;Ole&lt;/b&gt; &amp; &#34;Co&#34;" in notice[1].html
    assert '<b>Ole</b> & "Co"' in notice[1].text
    assert notice[4].text.split("\n")[0] == ("Til Helse Vest RHF," if lang == "nb"
                                             else "To Helse Vest RHF,")


def test_a_template_that_reads_more_of_its_recipient_is_rendered_for_each(tmp_path):
    """A template that says something by the recipient's role or address is not shared: each
    person gets their own words."""
    (tmp_path / "nb").mkdir()
    (tmp_path / "nb" / "note.j2").write_text(
        "{% block subject %}Til {{ recipient.email }}{% endblock %}\n"
        "{% block body %}{% filter para %}{{ greeting(recipient) }}{% endfilter %}"
        "{% if recipient.role == 'contact' %}{% filter para %}Til regionen.{% endfilter %}"
        "{% endif %}{% endblock %}\n")
    (tmp_path / "_layout.j2").write_text("{{ content }}")
    people = [PEOPLE[0], PEOPLE[4]]
    got = render_for(str(tmp_path), "note", "nb", {}, people)
    assert [g.subject for g in got] == ["Til kari@example.no", "Til d@example.no"]
    assert "Til regionen." not in got[0].text and "Til regionen." in got[1].text
    assert got == [render(str(tmp_path), "note", "nb", {"recipient": p}) for p in people]


def test_the_word_of_an_appointment_reaches_each_person_with_their_own_greeting(steps):
    """The group notice of an appointment: one message per address, each greeting its own
    reader by name (an organisation's address with 'Til')."""
    sid = steps.service()
    steps.appoint(steps.propose(sid, "region:nord"), "nord")
    steps.appoint(steps.propose(sid, "region:vest"), "vest")
    notices = [m for m in steps.outbox() if m.template == "appointment.group.notice"]
    last = [m for m in notices if "Kandidat region-vest" in m.body_text]
    to = {m.to_addrs[0]: m.body_text.split("\n")[0] for m in last}
    assert to["leder@tjenesten.example"] == "Hei Tjenesteleder,"
    assert to["region-nord@kandidat.example"] == "Hei Kandidat region-nord,"
    assert sum(1 for line in to.values() if line.startswith("Til ")) == 3  # the other RHFs
    assert len(to) == len(last) == 5
