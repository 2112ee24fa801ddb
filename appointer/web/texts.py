"""What the pages say, in Norwegian bokmål (the default) and English. One catalogue instead of
one template per language: the pages share their markup and differ only in words.

Keys are `area.what`; values are `str.format` patterns filled with plain values (the page
templates autoescape the result)."""

from __future__ import annotations

from appointer import terms

LANGS = ("nb", "en")
DEFAULT = "nb"

TEXTS: dict[str, dict[str, str]] = {
    "nb": {
        "app.name": "Appointer",
        "app.tagline": "Oppnevning til faglige referansegrupper for nasjonale tjenester",
        "lang.other": "English",
        "index.title": "Svar på forespørsel",
        "index.body": "Her svarer du på forespørsler om faglige referansegrupper. Åpne lenken "
                      "i e-posten du har fått.",
        # the link page
        "ask.candidate.title": "Vil du være medlem av referansegruppen?",
        "ask.candidate.intro": "Hei {name}! Du er foreslått som medlem av den faglige "
                               "referansegruppen for {service}.",
        "ask.candidate.means": "Når du svarer ja, bekrefter du at du har tid og interesse for "
                               "oppdraget, og at du har lest referansegruppens mandat.",
        "ask.candidate.next_leader": "Deretter blir lederen din bedt om å godkjenne deltakelsen.",
        "ask.candidate.next_region": "Deretter oppnevner {region} deg formelt.",
        "ask.leader.title": "Godkjenner du deltakelsen?",
        "ask.leader.intro": "Hei {name}! {candidate} har sagt ja til å være medlem av den faglige "
                            "referansegruppen for {service}.",
        "ask.leader.means": "Deltakelsen må være avklart med medarbeiderens leder før det "
                            "regionale helseforetaket kan oppnevne. Svar ja hvis du godkjenner "
                            "deltakelsen.",
        "field.service": "Tjeneste",
        "field.kind": "Type tjeneste",
        "field.seat": "Plass i gruppen",
        "field.represents": "Representerer",
        "field.share": "Stillingsandel",
        "field.share.none": "ikke oppgitt – spør kontaktpersonen",
        "field.institution": "Arbeidssted",
        "field.candidate": "Medarbeider",
        "field.appointed_by": "Oppnevnes av",
        "mandate.link": "Les referansegruppens mandat",
        "costs.member": "Arbeidsgiveren din dekker reise og opphold ved møtene; helseforetaket "
                        "som har ansvaret for tjenesten, dekker møteutgiftene.",
        "costs.user": "Helseforetaket som har ansvaret for tjenesten, dekker utgiftene til "
                      "brukerrepresentasjon og møtene.",
        "costs.leader": "Arbeidsgiveren dekker reise og opphold ved møtene; helseforetaket som "
                        "har ansvaret for tjenesten, dekker møteutgiftene.",
        "comment.label": "Kommentar (valgfritt)",
        "answer.legend": "Ditt svar",
        "button.accept": "Ja, jeg tar oppdraget",
        "button.decline": "Nei, jeg takker nei",
        "button.consent": "Ja, jeg godkjenner deltakelsen",
        "button.refuse": "Nei, jeg kan ikke godkjenne deltakelsen",
        "link.personal": "Lenken er personlig og kan brukes én gang. Den gjelder til {date}.",
        "contact.lead": "Spørsmål? Kontakt",
        "contact.unknown": "Kontakt den som sendte deg e-posten, eller servicemiljøet i ditt "
                           "regionale helseforetak:",
        # after the button
        "done.title": "Takk, svaret er registrert",
        "done.answer": "Du svarte: {answer}.",
        "next.awaiting_consent": "Vi har bedt lederen din, {leader}, om å godkjenne deltakelsen.",
        "next.ready": "{region} oppnevner medlemmene formelt. Du får beskjed når det skjer.",
        "next.declined": "Tjenesten og servicemiljøet i {region} er varslet. Takk for at du "
                         "svarte.",
        "next.refused": "Tjenesten og servicemiljøet i {region} er varslet. Takk for at du "
                        "svarte.",
        "next.other": "Servicemiljøet i {region} er varslet.",
        # when the link cannot be used
        "problem.unknown.title": "Vi fant ikke denne lenken",
        "problem.unknown.body": "Lenken er ukjent. Sjekk at du har kopiert hele lenken fra "
                                "e-posten.",
        "problem.used.title": "Du har allerede svart",
        "problem.used.body": "Denne lenken er allerede brukt, så svaret ditt er registrert.",
        "problem.used.answered": "Svaret «{answer}» ble registrert {date}.",
        "problem.closed.title": "Saken har gått videre",
        "problem.closed.body": "Lenken virker ikke lenger fordi saken er endret, for eksempel "
                               "fordi svaret er registrert på annen måte eller forslaget er "
                               "trukket.",
        "problem.expired.title": "Lenken er utløpt",
        "problem.expired.body": "Lenken gjaldt til {date}. Kontakt oss for å gi svaret ditt "
                                "eller få en ny lenke.",
        "problem.wrong_trigger.title": "Dette svaret kan ikke gis her",
        "problem.wrong_trigger.body": "Lenken gjelder ikke dette svaret. Ingenting er endret. "
                                      "Gå tilbake og bruk en av knappene.",
        "problem.other_case.title": "Lenken gjelder en annen sak",
        "problem.other_case.body": "Svaret passet ikke til saken lenken gjelder. Ingenting er "
                                   "endret. Åpne lenken fra e-posten på nytt.",
        "problem.try_again.title": "Prøv igjen",
        "problem.try_again.body": "Saken ble endret mens du svarte, så svaret ble ikke lagret. "
                                  "Åpne lenken på nytt og prøv igjen.",
        "problem.not_found.title": "Siden finnes ikke",
        "problem.not_found.body": "Adressen er ukjent.",
        "problem.bad_request.title": "Noe manglet i svaret",
        "problem.bad_request.body": "Ingenting er endret. Åpne lenken fra e-posten på nytt og "
                                    "bruk en av knappene.",
        "problem.error.title": "Noe gikk galt",
        "problem.error.body": "Ingenting er endret. Prøv igjen om litt.",
        # the mandate page
        "mandate.title": "Mandat for faglige referansegrupper",
        "mandate.for": "For referansegruppen til {kind}.",
        "mandate.source": "Sammendrag av RHF-enes kjernemandat for faglige referansegrupper.",
        "mandate.full": "Les hele mandatet hos Helse Sør-Øst",
        # the annual report's pages (appointer/web/report_pages.py)
        "report.part.service": "Tjenestens del",
        "report.part.group": "Referansegruppens del",
        "report.part.region": "Delen for {region}",
        "report.title.author": "Årsrapport {year}: {part}",
        "report.title.choose": "Årsrapport {year}: dine deler",
        "report.title.member": "Årsrapport {year}: godkjenning",
        "report.title.submitter": "Årsrapport {year}: innsending",
        "report.intro.service": "{service}. Du skriver tjenestens del av årsrapporten. Frist "
                                "{due}.",
        "report.intro.region": "{service}. Du skriver en kort del om hvordan tjenesten fungerer i"
                               " og for {region}. Frist {due}.",
        "report.intro.group": "{service}. Du skriver referansegruppens del og koordinerer "
                              "gruppens tilbakemelding. Frist {due}. Når du markerer delen som "
                              "ferdig, blir medlemmene bedt om å godkjenne rapporten.",
        "report.choose": "Du skriver disse delene av rapporten:",
        "report.text.label": "Din tekst",
        "report.save": "Lagre utkast",
        "report.done": "Lagre og marker som ferdig",
        "report.saved": "Lagret som versjon {n}.",
        "report.unchanged": "Ingen endringer å lagre.",
        "report.marked_done": "Delen er markert som ferdig. Takk!",
        "report.is_done": "Delen er ferdig og kan ikke endres lenger.",
        "report.conflict": "Teksten ble endret i mellomtiden (versjon {n}, {when}). Her er den "
                           "nyere teksten; teksten din er ikke lagret, men står under, så du kan "
                           "flette den inn og lagre på nytt.",
        "report.yours": "Din tekst (ikke lagret)",
        "report.regional": "De regionale delene",
        "report.no_text": "(ingen tekst ennå)",
        "report.nobody": "ikke oppnevnt",
        "report.approve.intro": "{service}. Referansegruppens del er ferdig. Les rapporten og "
                                "godkjenn den, eller skriv en kommentar.",
        "report.comment.label": "Kommentar (valgfri ved godkjenning)",
        "report.approve": "Godkjenn rapporten",
        "report.comment": "Send kommentar",
        "report.approved_by_you": "Du har godkjent rapporten.",
        "report.commented": "Kommentaren er registrert.",
        "report.answers": "Medlemmenes svar",
        "report.answer.approve": "godkjent",
        "report.answer.comment": "kommentar",
        "report.answer.none": "ikke svart",
        "report.close.legend": "Som gruppeleder: avslutt godkjenningen",
        "report.close": "Referansegruppen godkjenner rapporten",
        "report.closed": "Godkjenningen er avsluttet. Innsenderen er varslet.",
        "report.submit.intro": "{service}. Rapporten er godkjent av referansegruppen {on}. Du er "
                               "utpekt til å sende den inn. Frist {due}.",
        "report.submit.missing": "Disse regionale delene mangler. Kryss av for å sende uten dem, "
                                 "og skriv hvorfor:",
        "report.reason.label": "Hvorfor rapporten sendes uten",
        "report.submit": "Send inn rapporten",
        "report.submitted": "Rapporten er sendt inn {on}. Takk!",
        "report.not_open": "Siden er ikke åpen for endringer nå: rapporten er {state}.",
        "report.refused": "Ikke lagret",
        "report.forbidden": "Dette kan du ikke gjøre her",
    },
    "en": {
        "app.name": "Appointer",
        "app.tagline": "Appointments to the reference groups of national services",
        "lang.other": "Norsk",
        "index.title": "Answer a request",
        "index.body": "This is where you answer requests about reference groups. Open the "
                      "link in the email you received.",
        "ask.candidate.title": "Will you join the reference group?",
        "ask.candidate.intro": "Hello {name}! You have been proposed as a member of the "
                               "professional reference group of {service}.",
        "ask.candidate.means": "By answering yes you confirm that you have the time and interest "
                               "for the task and that you have read the group's mandate.",
        "ask.candidate.next_leader": "Your leader will then be asked to approve your participation.",
        "ask.candidate.next_region": "{region} will then appoint you formally.",
        "ask.leader.title": "Do you approve the participation?",
        "ask.leader.intro": "Hello {name}! {candidate} has agreed to be a member of the "
                            "professional reference group of {service}.",
        "ask.leader.means": "The participation must be agreed with the employee's leader before "
                            "the regional health authority can appoint. Answer yes if you "
                            "approve it.",
        "field.service": "Service",
        "field.kind": "Kind of service",
        "field.seat": "Seat in the group",
        "field.represents": "Represents",
        "field.share": "Share of a position",
        "field.share.none": "not stated – ask the contact",
        "field.institution": "Workplace",
        "field.candidate": "Employee",
        "field.appointed_by": "Appointed by",
        "mandate.link": "Read the reference group's mandate",
        "costs.member": "Your employer pays travel and stay for the meetings; the health trust "
                        "responsible for the service pays the meeting costs.",
        "costs.user": "The health trust responsible for the service pays the costs of user "
                      "representation and of the meetings.",
        "costs.leader": "The employer pays travel and stay for the meetings; the health trust "
                        "responsible for the service pays the meeting costs.",
        "comment.label": "Comment (optional)",
        "answer.legend": "Your answer",
        "button.accept": "Yes, I accept the task",
        "button.decline": "No, I decline",
        "button.consent": "Yes, I approve the participation",
        "button.refuse": "No, I cannot approve the participation",
        "link.personal": "This link is personal and works once. It is valid until {date}.",
        "contact.lead": "Questions? Contact",
        "contact.unknown": "Contact the sender of the email, or the service environment of your "
                           "regional health authority:",
        "done.title": "Thank you, your answer is registered",
        "done.answer": "You answered: {answer}.",
        "next.awaiting_consent": "We have asked your leader, {leader}, to approve the participation.",
        "next.ready": "{region} appoints the members formally. You will hear when it does.",
        "next.declined": "The service and the service environment of {region} have been told. "
                         "Thank you for answering.",
        "next.refused": "The service and the service environment of {region} have been told. "
                        "Thank you for answering.",
        "next.other": "The service environment of {region} has been told.",
        "problem.unknown.title": "We could not find this link",
        "problem.unknown.body": "The link is unknown. Check that you copied the whole link from "
                                "the email.",
        "problem.used.title": "You have already answered",
        "problem.used.body": "This link has been used already, so your answer is registered.",
        "problem.used.answered": "The answer “{answer}” was registered on {date}.",
        "problem.closed.title": "The case has moved on",
        "problem.closed.body": "The link no longer works because the case has changed, for "
                               "example because the answer was registered another way or the "
                               "proposal was withdrawn.",
        "problem.expired.title": "The link has expired",
        "problem.expired.body": "The link was valid until {date}. Contact us to give your answer "
                                "or to get a new link.",
        "problem.wrong_trigger.title": "This answer cannot be given here",
        "problem.wrong_trigger.body": "The link does not offer this answer. Nothing was changed. "
                                      "Go back and use one of the buttons.",
        "problem.other_case.title": "The link is for another case",
        "problem.other_case.body": "The answer did not match the link's case. Nothing was "
                                   "changed. Open the link from the email again.",
        "problem.try_again.title": "Please try again",
        "problem.try_again.body": "The case changed while you answered, so your answer was not "
                                  "saved. Open the link again and retry.",
        "problem.not_found.title": "Page not found",
        "problem.not_found.body": "The address is unknown.",
        "problem.bad_request.title": "Something was missing from the answer",
        "problem.bad_request.body": "Nothing was changed. Open the link from the email again and "
                                    "use one of the buttons.",
        "problem.error.title": "Something went wrong",
        "problem.error.body": "Nothing was changed. Please try again in a little while.",
        "mandate.title": "Mandate of the professional reference groups",
        "mandate.for": "For the reference group of {kind}.",
        "mandate.source": "A summary of the RHFs' core mandate for professional reference groups.",
        "mandate.full": "Read the full mandate (Norwegian) at Helse Sør-Øst",
        # the annual report's pages (appointer/web/report_pages.py)
        "report.part.service": "The service's part",
        "report.part.group": "The reference group's part",
        "report.part.region": "The part for {region}",
        "report.title.author": "Annual report {year}: {part}",
        "report.title.choose": "Annual report {year}: your parts",
        "report.title.member": "Annual report {year}: approval",
        "report.title.submitter": "Annual report {year}: submission",
        "report.intro.service": "{service}. You write the service's part of the annual report. "
                                "Due {due}.",
        "report.intro.region": "{service}. You write a short part on how the service works in and"
                               " for {region}. Due {due}.",
        "report.intro.group": "{service}. You write the reference group's part and coordinate the"
                              " group's feedback. Due {due}. When you mark it done, the members "
                              "are asked to approve the report.",
        "report.choose": "You write these parts of the report:",
        "report.text.label": "Your text",
        "report.save": "Save draft",
        "report.done": "Save and mark done",
        "report.saved": "Saved as version {n}.",
        "report.unchanged": "Nothing changed to save.",
        "report.marked_done": "The part is marked done. Thank you!",
        "report.is_done": "The part is done and can no longer change.",
        "report.conflict": "The text was changed meanwhile (version {n}, {when}). Here is the "
                           "newer text; yours is not saved, but it is below, so you can merge it "
                           "in and save again.",
        "report.yours": "Your text (not saved)",
        "report.regional": "The regional parts",
        "report.no_text": "(no text yet)",
        "report.nobody": "not appointed",
        "report.approve.intro": "{service}. The reference group's part is done. Read the report "
                                "and approve it, or write a comment.",
        "report.comment.label": "Comment (optional when approving)",
        "report.approve": "Approve the report",
        "report.comment": "Send comment",
        "report.approved_by_you": "You have approved the report.",
        "report.commented": "Your comment is registered.",
        "report.answers": "The members' answers",
        "report.answer.approve": "approved",
        "report.answer.comment": "comment",
        "report.answer.none": "no answer",
        "report.close.legend": "As group leader: close the approval",
        "report.close": "The reference group approves the report",
        "report.closed": "The approval is closed. The submitter has been told.",
        "report.submit.intro": "{service}. The reference group approved the report on {on}. You "
                               "are named to submit it. Due {due}.",
        "report.submit.missing": "These regional parts are missing. Tick to submit without them, "
                                 "and say why:",
        "report.reason.label": "Why the report goes without them",
        "report.submit": "Submit the report",
        "report.submitted": "The report was submitted on {on}. Thank you!",
        "report.not_open": "This page takes no changes now: the report is {state}.",
        "report.refused": "Not saved",
        "report.forbidden": "You cannot do this here",
    },
}


# the domain words come from appointer/data/terms.toml: `t('seat', code=...)`,
# `t('kind.centre')`, `t('kind.centre.indefinite')`
_TERM_FUNCTIONS = {"seat": terms.seat, "role": terms.role, "represents": terms.represents}
_TERM_GROUPS = ("kind.", "state.", "word.", "region.")


def text(lang: str, key: str, **values) -> str:
    """The text for `key` in `lang` (falling back to nb, then to the key itself); the domain
    words from the terms file."""
    if key in _TERM_FUNCTIONS:
        return _TERM_FUNCTIONS[key](lang if lang in LANGS else DEFAULT, values["code"])
    if key.startswith(_TERM_GROUPS):
        return terms.term(lang if lang in LANGS else DEFAULT, key, **values)
    pattern = TEXTS.get(lang, {}).get(key) or TEXTS[DEFAULT].get(key) or key
    return pattern.format(**values) if values else pattern


def negotiate(query_lang: str | None, accept_language: str | None, fallback: str) -> str:
    """`?lang=` wins; then the browser's Accept-Language (nb, no and nn mean bokmål);
    then `fallback` (the case's language, else the installation's)."""
    if query_lang in LANGS:
        return query_lang
    best, best_q = None, 0.0
    for part in (accept_language or "").split(","):
        tag, _, params = part.strip().partition(";")
        primary = tag.strip().lower().split("-")[0]
        lang = {"nb": "nb", "no": "nb", "nn": "nb", "en": "en"}.get(primary)
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        if lang and q > best_q:
            best, best_q = lang, q
    return best or (fallback if fallback in LANGS else DEFAULT)
