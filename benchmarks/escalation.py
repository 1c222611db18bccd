"""The escalation loop's own figures, on SQLite with the real embedder, the real SMTP sink
and the real SMTP receiver (what `supportbot run` starts), on free ports:

  answerable   an operator's reply sent over SMTP -> the question is answered from the KB
               (N tickets about questions the demo KB cannot answer; p50/p95)
  sla_timers   lateness of SLA timers (fired_at - due_at) under `run_scheduler`, at the
               production interval and a short one
  inbound      operator replies per second through the receiver (half accepted, half
               quarantined: unauthorised sender), and until every answer is learned

`python -m benchmarks.escalation` prints the result as JSON.
"""

from __future__ import annotations

import json
import os
import smtplib
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from email.utils import parseaddr
from pathlib import Path

import numpy as np

from benchmarks.run import machine
from tests.bot.test_learning_loop_e2e import gmail_reply_it, outlook_reply_en

ROOT = Path(__file__).resolve().parent.parent
DEMO_KB = ROOT / "data" / "demo_kb.yaml"
ALWAYS_OPEN = {day: ["00:00-24:00"] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
SLA_CONFIG = {"timezone": "Europe/Rome", "business_hours": ALWAYS_OPEN, "holidays": [],
              "chain": [{"name": "operators", "emails": ["operatore@bottega-aurora.example"]}],
              "policies": [{"name": "standard", "first_response_minutes": 240,
                            "warn_before_minutes": 60}]}
# Questions outside the demo shop's FAQ, with an operator's answer each.
UNKNOWN = [
    ("it", "Posso entrare in negozio con il mio cane?",
     "Sì, i cani al guinzaglio sono benvenuti in tutti i nostri negozi."),
    ("it", "Noleggiate abiti per le cerimonie?",
     "No, non facciamo noleggio: tutti i capi sono in vendita."),
    ("it", "Organizzate corsi di pelletteria?",
     "Sì, un sabato al mese nel laboratorio di Firenze; le iscrizioni sono sul sito."),
    ("it", "Il negozio di Milano ha un parcheggio per i clienti?",
     "Non abbiamo un parcheggio nostro, ma c'è un garage convenzionato in via Solferino."),
    ("it", "Il negozio è accessibile in sedia a rotelle?",
     "Sì, tutti i negozi hanno l'ingresso senza gradini e un camerino accessibile."),
    ("it", "Riparate borse di altre marche?",
     "Ripariamo solo i nostri articoli, ma possiamo consigliarle un artigiano di fiducia."),
    ("it", "Comprate borse usate in cambio di un buono?",
     "Al momento non ritiriamo articoli usati."),
    ("it", "Fate forniture per aziende e regali di Natale aziendali?",
     "Sì, per ordini da 20 pezzi scriva a b2b@bottega-aurora.example per un preventivo."),
    ("it", "State cercando commessi per il negozio di Roma?",
     "Le posizioni aperte sono nella pagina Lavora con noi; si candida da lì."),
    ("it", "Posso fare un servizio fotografico nel vostro negozio?",
     "Sì, su appuntamento fuori orario; ci scriva con la data e il tipo di servizio."),
    ("it", "Fate il tax free per i turisti extra UE?",
     "Sì, in negozio per acquisti sopra i 70 euro, con il passaporto."),
    ("it", "Avete prodotti per animali, come collari in pelle?",
     "Sì, la linea Aurora Pet ha collari e guinzagli in pelle conciata al vegetale."),
    ("it", "Posso prenotare un appuntamento con un sarto?",
     "Sì, il servizio di sartoria si prenota in negozio o al telefono."),
    ("it", "Il negozio di Bologna è aperto la domenica?", "Sì, la domenica dalle 11 alle 19."),
    ("it", "Vendete anche all'ingrosso ai negozi?",
     "Sì, i rivenditori possono chiedere il listino a b2b@bottega-aurora.example."),
    ("en", "Can I bring my dog into the shop?",
     "Yes, dogs on a lead are welcome in all our shops."),
    ("en", "Do you rent dresses for weddings?",
     "No, we don't rent clothes: everything is for sale only."),
    ("en", "Do you run leather workshops?",
     "Yes, one Saturday a month in our Florence workshop; sign up on the website."),
    ("en", "Is there customer parking at the Milan shop?",
     "We have no car park of our own, but there is a partner garage in Via Solferino."),
    ("en", "Is the shop wheelchair accessible?",
     "Yes, every shop has step-free access and an accessible fitting room."),
    ("en", "Do you repair bags from other brands?",
     "We only repair our own items, but we can recommend a trusted craftsman."),
    ("en", "Do you take used bags in exchange for store credit?",
     "We don't take back used items at the moment."),
    ("en", "Do you supply corporate Christmas gifts?",
     "Yes, for orders of 20 pieces or more write to b2b@bottega-aurora.example for a quote."),
    ("en", "Are you hiring shop assistants in Rome?",
     "Open positions are on the Careers page; please apply there."),
    ("en", "Can I do a photo shoot in your shop?",
     "Yes, by appointment outside opening hours; write to us with the date and the kind of shoot."),
    ("en", "Do you offer tax-free shopping for non-EU tourists?",
     "Yes, in the shop for purchases over 70 euros, with your passport."),
    ("en", "Do you sell leather dog collars?",
     "Yes, the Aurora Pet line has collars and leads in vegetable-tanned leather."),
    ("en", "Can I book an appointment with a tailor?",
     "Yes, the tailoring service can be booked in the shop or by phone."),
    ("en", "Is the Bologna shop open on Sundays?", "Yes, on Sundays from 11 am to 7 pm."),
    ("en", "Do you sell wholesale to other shops?",
     "Yes, retailers can ask for the price list at b2b@bottega-aurora.example."),
]
CITIES = {"it": ["Milano", "Roma", "Torino", "Napoli", "Verona", "Padova", "Bari", "Genova",
                 "Lecce"],
          "en": ["Milan", "Rome", "Turin", "Naples", "Verona", "Padua", "Bari", "Genoa", "Lecce"]}


def _stats(values: list[float], scale: float = 1000.0) -> dict:
    """p50/p95/max in milliseconds (values in seconds)."""
    return {"n": len(values), "p50_ms": round(float(np.median(values)) * scale, 1),
            "p95_ms": round(float(np.percentile(values, 95)) * scale, 1),
            "max_ms": round(float(max(values)) * scale, 1)}


def _wait(predicate, timeout: float = 60.0, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(interval)
    raise TimeoutError("benchmark step did not finish in time")


class _Loop:
    """The product's escalation side: the prepared assistant and its running services."""

    def __init__(self, var: Path) -> None:
        from bot.conversation.assistant import Assistant
        from bot.jobs.services import EscalationServices
        from bot.product import prepare
        from bot.stack import free_port
        from core import Settings
        from escalation.sla import parse_sla_config

        self.settings = Settings(
            var_dir=var, database_url="", embedder="use-multilingual", secret_key="bench",
            smtp_host="127.0.0.1", smtp_port=free_port(), inbound_smtp_port=free_port(),
            run_mail_sink=True, chat_rate_limit="1000000/minute")
        prepared = prepare(self.settings, DEMO_KB)
        self.assistant = Assistant(self.settings, prepared.kb, sla=parse_sla_config(SLA_CONFIG))
        self.services = EscalationServices(self.assistant, deliver_in_chat=lambda ticket: False)
        self.services.start()
        self._conversations = 0

    def open(self, language: str, question: str) -> int:
        from bot.conversation.turns import Turn
        from core import session_scope
        from escalation import open_ticket_of

        self._conversations += 1
        conversation = f"bench-{self._conversations}"
        turn = Turn(conversation_id=conversation, text=question, language=language)
        self.assistant.open_ticket(turn, question, reason="kb_escalate", email="c@example.com",
                                   consent=True, transcript=(("customer", question),))
        with session_scope(self.settings.resolved_database_url) as session:
            return open_ticket_of(conversation, session=session).id

    def escalation_mails(self, ticket_ids: list[int]) -> dict:
        """The escalation mail of each ticket, read from the sink once all have arrived."""
        from escalation.mail_sink import list_messages, read_message

        def collect():
            stored = {m.subject: m.key for m in list_messages(self.settings, limit=100_000)}
            found = {}
            for ticket_id in ticket_ids:
                key = next((k for s, k in stored.items()
                            if f"[#T{ticket_id}]" in s and "Nuova domanda" in s), None)
                if key is None:
                    return None
                found[ticket_id] = key
            return found

        keys = _wait(collect, timeout=120, interval=0.2)
        return {t: read_message(self.settings, key) for t, key in keys.items()}

    def learned_entry(self, ticket_id: int) -> int | None:
        from core import session_scope
        from escalation import Ticket

        with session_scope(self.settings.resolved_database_url) as session:
            return session.get(Ticket, ticket_id).learned_entry_id

    def stop(self) -> None:
        self.services.stop()
        self.assistant.kb.close()


def _reply(language: str, original, answer: str, *, forged: bool = False) -> tuple[str, str, bytes]:
    make = gmail_reply_it if language == "it" else outlook_reply_en
    mail = make(original, answer)
    if forged:
        mail.replace_header("From", "Mallory <mallory@evil.example>")
    # SMTP wants CRLF; sendmail sends bytes as they are (send_message would convert).
    raw = mail.as_bytes(policy=mail.policy.clone(linesep="\r\n"))
    return parseaddr(mail["From"])[1], parseaddr(mail["To"])[1], raw


def bench_answerable(loop: _Loop) -> dict:
    """Sent reply -> `kb.search` of the ticket's question answers with the learned entry.
    The receiver acts on the mail before it says 250, so most of it is inside sendmail."""
    tickets = [(loop.open(lang, q), lang, q, a) for lang, q, a in UNKNOWN]
    originals = loop.escalation_mails([t for t, *_ in tickets])
    settings, kb = loop.settings, loop.assistant.kb
    total, in_smtp = [], []
    for ticket_id, language, question, answer in tickets:
        sender, to, raw = _reply(language, originals[ticket_id], answer)
        with smtplib.SMTP(settings.inbound_smtp_host, settings.inbound_smtp_port,
                          timeout=60) as smtp:
            started = time.perf_counter()
            smtp.sendmail(sender, [to], raw)
            accepted = time.perf_counter()

            def answerable(ticket_id=ticket_id, question=question, language=language):
                entry_id = loop.learned_entry(ticket_id)
                hit = kb.search(question, language=language).entry
                return entry_id is not None and hit is not None and hit.entry_id == entry_id

            _wait(answerable, timeout=30, interval=0.01)
            total.append(time.perf_counter() - started)
            in_smtp.append(accepted - started)
    return {"tickets": len(tickets), "reply_to_answerable": _stats(total),
            "of_which_smtp_until_250": _stats(in_smtp)}


def bench_inbound(loop: _Loop, pairs: int = 250) -> dict:
    """`pairs` tickets, each getting a forged reply (quarantined) and the operator's."""
    from sqlalchemy import func, select

    from core import session_scope
    from escalation.models import InboundMessage

    questions = [(lang, f"{q[:-1]} {'a' if lang == 'it' else 'in'} {city}?", a)
                 for lang, q, a in UNKNOWN for city in CITIES[lang]][:pairs]
    tickets = [(loop.open(lang, q), lang, a) for lang, q, a in questions]
    originals = loop.escalation_mails([t for t, *_ in tickets])
    mails = [_reply(lang, originals[t], a, forged=forged)
             for t, lang, a in tickets for forged in (True, False)]
    url, settings = loop.settings.resolved_database_url, loop.settings
    with session_scope(url) as session:
        before = session.scalar(select(func.max(InboundMessage.id))) or 0
    started = time.perf_counter()
    with smtplib.SMTP(settings.inbound_smtp_host, settings.inbound_smtp_port, timeout=60) as smtp:
        for sender, to, raw in mails:  # one connection, like an MTA flushing its queue
            smtp.sendmail(sender, [to], raw)
    elapsed = time.perf_counter() - started
    # The receiver answers 250 once a mail and its answer are recorded; the answer worker
    # delivers and learns after that: the loop is done when every answer is learned.
    _wait(lambda: all(loop.learned_entry(t) for t, *_ in tickets), timeout=600, interval=0.2)
    learned = time.perf_counter() - started
    with session_scope(url) as session:
        statuses = dict(session.execute(
            select(InboundMessage.status, func.count()).where(InboundMessage.id > before)
            .group_by(InboundMessage.status)).all())
    return {"messages": len(mails), "statuses": statuses, "seconds": round(elapsed, 2),
            "messages_per_s": round(len(mails) / elapsed, 1),
            "seconds_until_all_learned": round(learned, 2),
            "answers_learned_per_s": round(len(tickets) / learned, 1)}


def bench_timers(var: Path, intervals: tuple[float, ...] = (5.0, 0.5), count: int = 200,
                 spread_s: float = 5.0) -> dict:
    """`count` warning timers due evenly over `spread_s`, fired by `run_scheduler`."""
    from sqlalchemy import select

    from core import Settings, session_scope, utcnow
    from escalation import mail_notifier
    from escalation.models import Ticket, TicketTimer
    from escalation.sla import parse_sla_config
    from escalation.timers import run_scheduler
    from migrations import upgrade

    results = {}
    for interval in intervals:
        settings = Settings(var_dir=var / f"timers-{interval}", database_url="", secret_key="bench")
        url, config = settings.resolved_database_url, parse_sla_config(SLA_CONFIG)
        upgrade(url)
        start = utcnow() + timedelta(seconds=0.5)
        with session_scope(url) as session:
            for i in range(count):
                due = start + timedelta(seconds=spread_s * i / count)
                ticket = Ticket(conversation_id=f"timer-{i}", question=f"Domanda {i}?",
                                language="it", opened_at=utcnow(), due_at=due + timedelta(hours=1))
                session.add(ticket)
                session.flush()
                session.add(TicketTimer(ticket_id=ticket.id, kind="warning", level=0, due_at=due))
        stop = threading.Event()
        thread = threading.Thread(target=run_scheduler, args=(url, config), kwargs=dict(
            worker="bench", notify=mail_notifier(settings), interval_s=interval, stop=stop))
        thread.start()

        def fired(url=url):
            with session_scope(url) as session:
                rows = session.execute(select(TicketTimer.due_at, TicketTimer.fired_at)
                                       .where(TicketTimer.fired_at.is_not(None))).all()
            return rows if len(rows) == count else None

        rows = _wait(fired, timeout=spread_s + 3 * interval + 30, interval=0.1)
        stop.set()
        thread.join()
        late = [(_utc(f) - _utc(d)).total_seconds() for d, f in rows]
        results[f"interval {interval:g}s"] = _stats(late)
    return {"timers": count, "spread_s": spread_s, "lateness": results}


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def run() -> dict:
    load_before = os.getloadavg()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        loop = _Loop(Path(tmp) / "loop")
        try:
            answerable = bench_answerable(loop)
            inbound = bench_inbound(loop)
        finally:
            loop.stop()
        timers = bench_timers(Path(tmp))
    from core import dispose_all

    dispose_all()
    return {"machine": machine(), "database": "sqlite", "embedder": "use-multilingual",
            "answerable": answerable, "sla_timers": timers, "inbound": inbound,
            "seconds": round(time.perf_counter() - started, 1),
            "load_average": {"before": [round(x, 2) for x in load_before],
                             "after": [round(x, 2) for x in os.getloadavg()]}}


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
