"""The emails themselves: every message of the workflow in nb and en, complete, escaped,
saying what the core mandate asks (mandate by kind of service, share of a position, costs)."""

from __future__ import annotations

import email
import email.policy
import re

import pytest
from scenarios import every_transition

from appointer import appointments, db
from appointer import settings as settings_mod
from appointer.mail.message import message_bytes
from appointer.mail.render import render, template_names, template_path

UNRENDERED = re.compile(r"\{\{|\}\}|\{%|%\}|\{#|#\}")


def run_every_step(steps):
    """One service whose cases pass through every transition of the workflow."""
    return every_transition(steps, steps.service())


@pytest.fixture(params=["nb", "en"])
def lang_steps(request, steps):
    """The same steps, with every recipient (coordinators, service, candidates) in `lang`."""
    steps.settings = settings_mod.replace(steps.settings, lang=request.param)
    return request.param, steps


def test_every_message_renders_in_both_languages_complete_and_parseable(lang_steps):
    """Every template the workflow names exists in nb and en (no silent fallback), renders with
    no template syntax left, and goes out as multipart/alternative text + HTML."""
    lang, steps = lang_steps
    rows = run_every_step(steps)
    workflow = appointments.load_workflow(steps.settings)
    # (and the word to a person a coordinator answered for, queued by appointments.advance)
    assert {r.template for r in rows} == workflow.templates() | {appointments.ANSWERED_FOR}
    closed_subjects = set()
    for row in rows:
        assert row.lang == lang
        assert template_path(steps.settings.templates_dir, row.template, lang).startswith(lang + "/")
        for part in (row.subject, row.body_text, row.body_html):
            assert not UNRENDERED.search(part), (row.template, part)
        assert "\n" not in row.subject and row.subject.strip()
        assert "\n\n\n" not in row.body_text and " \n" not in row.body_text
        assert row.body_html.startswith("<!DOCTYPE html>") and f'<html lang="{lang}">' in row.body_html
        wire = message_bytes(row, "Appointer <appointer@rhf.example>")
        msg = email.message_from_bytes(wire, policy=email.policy.default)
        assert msg.get_content_type() == "multipart/alternative"
        assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
        text, html = (msg.get_body((kind,)).get_content().replace("\r\n", "\n")
                      for kind in ("plain", "html"))  # CRLF on the wire, as SMTP wants
        assert (text, html) == (row.body_text, row.body_html)
        # (a folded header may start with folding white space: not part of the text)
        assert msg["Subject"].strip() == row.subject and msg["Message-ID"] == row.message_id
        if row.template == "appointment.service.case_closed":
            closed_subjects.add(row.subject.partition(":")[0])
    # declined, refused, rejected, withdrawn (a proposal; a request), ended: each its own
    assert len(closed_subjects) == 6


def test_the_two_languages_say_it_in_their_own_words(steps):
    """An English-speaking candidate gets English; the rest stays Norwegian bokmål."""
    sid = steps.service()
    steps.propose(sid, "region:vest", lang="en")
    steps.propose(sid, "region:nord")
    en, nb = steps.outbox()
    assert en.subject.startswith("Invitation to join the professional reference group")
    assert "Dear Kandidat region-vest," in en.body_text and "Hei" not in en.body_text
    assert nb.subject.startswith("Forespørsel om å bli medlem av den faglige referansegruppen")
    assert "Hei Kandidat region-nord," in nb.body_text


def test_a_name_with_markup_is_escaped_in_html_and_kept_in_text(steps):
    """A candidate called <script> cannot inject markup into anyone's mail client."""
    sid = steps.service()
    steps.propose(sid, "region:vest", name='<script>alert("x")</script> & Co')
    [row] = steps.outbox()
    assert "<script>" not in row.body_html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; Co" in row.body_html
    assert '<script>alert("x")</script> & Co' in row.body_text


@pytest.mark.parametrize("kind, function, own, others", [
    ("national", None, "henvisningsrutiner", ["dekningsgrad", "dialog med fagmiljøet"]),
    ("multiregional", None, "henvisningsrutiner", ["dekningsgrad", "dialog med fagmiljøet"]),
    ("competence", "training", "dekningsgrad", ["henvisningsrutiner", "dialog med fagmiljøet"]),
    ("centre", None, "dialog med fagmiljøet", ["henvisningsrutiner", "dekningsgrad"]),
    ("network", None, None, ["henvisningsrutiner", "dekningsgrad", "dialog med fagmiljøet"]),
])
def test_the_invitation_summarises_the_mandate_for_the_kind_of_service(steps, kind, function,
                                                                       own, others):
    """Common tasks for every group (`000` §2) plus the extra tasks of its kind: treatment
    services §2.1, competence services §2.2, centres §2.3."""
    hosts = (["Oslo universitetssykehus HF", "Helse Bergen HF"] if kind == "multiregional"
             else ["Oslo universitetssykehus HF"])
    sid = steps.service(name=f"Tjeneste {kind}", kind=kind, hosts=hosts, function=function)
    steps.propose(sid, "region:midt")
    [row] = steps.outbox()
    text = row.body_text
    assert "møtes minst én gang i året" in text  # common to all
    assert "årlige rapporteringen" in text
    if own:
        assert own in text
    for phrase in others:
        assert phrase not in text
    assert ("senteret løser oppgavene sine i tråd med mandatet" in text) == (kind == "centre")


def test_the_invitation_and_letter_state_share_representation_and_costs(steps):
    """Whom the member represents, the expected share of a position, and who pays: the
    member's employer travel and stay, the host the meetings and the user representatives
    (`000` §5); a user representative's costs fall on the host."""
    sid = steps.service()
    member = steps.propose(sid, "region:vest")
    steps.appoint(member, "vest")
    user = steps.propose(sid, "user:1")
    rows = {(r.case_id, r.template): r for r in steps.outbox()}
    for template in ("appointment.candidate.invitation", "appointment.member.letter"):
        text = rows[(member, template)].body_text
        assert "spesialisthelsetjenesten i helseregion Vest" in text
        assert "Stillingsandel: 5 %" in text
        assert ("Reise og opphold ved møtene i referansegruppen dekkes av arbeidsgiveren til "
                "medlemmet (Helse Bergen HF)") in text
        assert ("Oslo universitetssykehus HF betaler møteutgiftene (møterom, servering o.l.) og "
                "utgiftene til brukerrepresentantene") in text
    letter = rows[(member, "appointment.member.letter")].body_text
    assert "Helse Vest RHF oppnevner deg med dette" in letter
    assert "2. mars 2026" in letter  # appointed on the clock's day
    invitation = rows[(user, "appointment.candidate.invitation")].body_text
    assert "Som brukerrepresentant får du dekket reise, opphold" in invitation
    assert "Oslo universitetssykehus HF" in invitation


def test_the_invitation_asks_for_time_and_interest_through_the_link(steps):
    """The candidate is asked to confirm time and interest, with their personal link, in both
    parts; the leader's request carries its own link."""
    sid = steps.service()
    case = steps.propose(sid, "region:vest")
    steps.advance(case, "accept")
    invitation, consent = steps.outbox()
    for row in (invitation, consent):
        link = re.search(r"https://appointer\.example\.no/t/\S+", row.body_text).group(0)
        assert f'href="{link}"' in row.body_html
    assert "bekrefte at du har tid og interesse" in invitation.body_text
    assert "godkjenne eller avslå deltakelsen" in consent.body_text


def test_an_ended_membership_gives_the_reason_and_the_way_to_a_new_member(steps):
    """The service learns why the seat is vacant and how to fill it."""
    sid = steps.service()
    case = steps.propose(sid, "region:nord")
    steps.appoint(case, "nord")
    fired = steps.advance(case, "end", region="nord", reason="sluttet i stillingen")
    [row, _] = steps.outbox(fired.outbox_ids)
    assert row.subject.startswith("Medlemskapet er avsluttet: plassen for Helse Nord")
    assert "Årsak: sluttet i stillingen." in row.body_text
    assert f"appointer member propose {sid} --seat region:nord" in row.body_text


def test_a_missing_share_is_said_so(steps, initialised, clock):
    """The share of a position *should* be stated; when it is not, the letter says so rather
    than leaving a gap."""
    sid = steps.service()
    with db.transaction(initialised, clock) as tx:
        actor = appointments.resolve_actor(tx.session, "coord@vest.example")
        appointments.propose_member(tx, sid, "region:vest", name="Kari", email="kari@x.example",
                                    institution="Helse Bergen HF", leader_name="Leder",
                                    leader_email="leder@x.example", share=None, represents=None,
                                    actor=actor)
    [row] = steps.outbox()
    assert "Stillingsandel: ikke oppgitt (spør tjenesten)" in row.body_text


def test_template_folders_hold_the_same_messages_in_both_languages(settings):
    """A message added in nb only would silently reach English readers in Norwegian."""
    names = template_names(settings.templates_dir, "nb")
    assert names and names == template_names(settings.templates_dir, "en")


def test_templates_with_separate_text_and_html_blocks_still_render(tmp_path):
    """Templates written the older way (subject, text, html blocks) keep working, and a
    template missing in English falls back to bokmål with lang set to the file's."""
    (tmp_path / "nb").mkdir()
    (tmp_path / "_layout.j2").write_text("{{ content }}")
    (tmp_path / "nb" / "x.note.j2").write_text(
        "{% block subject %}Om {{ name }}{% endblock %}"
        "{% block text %}Hei {{ name }} ({{ lang }}){% endblock %}"
        "{% block html %}<p>Hei {{ name }}</p>{% endblock %}")
    out = render(str(tmp_path), "x.note", "en", {"name": "<b>Ola</b>"})
    assert out.subject == "Om <b>Ola</b>"
    assert out.text == "Hei <b>Ola</b> (nb)\n"
    assert out.html == "<p>Hei &lt;b&gt;Ola&lt;/b&gt;</p>\n"
