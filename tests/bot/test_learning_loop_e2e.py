"""The self-learning loop, end to end with real servers: a question the bot cannot
answer (real Rasa) -> ticket -> escalation email captured by the real SMTP sink -> the
operator's reply, as a mail client writes it, sent with smtplib to the real receiver ->
the answer reaches the customer's chat -> a paraphrase, asked in a new conversation, is
answered from the knowledge base without escalation."""

from __future__ import annotations

import smtplib
import time
import uuid
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import pytest

from core import session_scope, utcnow
from escalation import Ticket
from escalation.mail_sink import list_messages, read_message

pytestmark = [pytest.mark.rasa, pytest.mark.slow]


def wait_for(predicate, timeout: float = 20.0, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(interval)
    raise AssertionError("timed out waiting")


def escalation_mail(live_bot, ticket_id: int):
    def find():
        for stored in list_messages(live_bot.settings):
            if f"[#T{ticket_id}]" in stored.subject:
                return read_message(live_bot.settings, stored.key)
        return None

    return wait_for(find)


def gmail_reply_it(original, answer: str) -> EmailMessage:
    """How Gmail answers in Italian: new text, the attribution line, the quote, a signature,
    and an HTML alternative with the quote in a blockquote."""
    quoted = "\n".join("> " + line
                       for line in original.get_body(("plain",)).get_content().splitlines())
    reply = EmailMessage()
    reply["From"] = "Marco Bianchi <operatore@bottega-aurora.example>"
    reply["To"] = original["Reply-To"]
    reply["Subject"] = "Re: " + original["Subject"]
    reply["In-Reply-To"] = reply["References"] = original["Message-ID"]
    reply["Message-ID"] = make_msgid(domain="mail.gmail.com")
    reply["Date"] = format_datetime(utcnow())
    attribution = ("Il giorno lun 23 nov 2026 alle ore 10:15 Bottega Aurora "
                   "<assistenza@bottega-aurora.example> ha scritto:")
    reply.set_content(f"Ciao,\n\n{answer}\n\nUn saluto,\nMarco\n\n-- \nMarco Bianchi\nBottega "
                      f"Aurora - Servizio clienti\n\n{attribution}\n\n{quoted}\n")
    reply.add_alternative(
        f'<div dir="ltr"><div>Ciao,</div><div><br></div><div>{answer}</div><div><br></div>'
        f'<div>Un saluto,<br>Marco</div><br><div class="gmail_signature">-- <br>Marco Bianchi</div>'
        f'</div><br><div class="gmail_quote"><div dir="ltr" class="gmail_attr">{attribution}</div>'
        f'<blockquote class="gmail_quote">{original["Subject"]}</blockquote></div>', subtype="html")
    return reply


def outlook_reply_en(original, answer: str) -> EmailMessage:
    reply = EmailMessage()
    reply["From"] = "Sophie Marchetti <backup@bottega-aurora.example>"
    reply["To"] = original["Reply-To"]
    reply["Subject"] = "RE: " + original["Subject"]
    reply["In-Reply-To"] = reply["References"] = original["Message-ID"]
    reply["Message-ID"] = make_msgid(domain="eurprd02.prod.outlook.com")
    reply["Thread-Topic"] = original["Subject"]
    reply.set_content(f"Hello,\n\n{answer}\n\nKind "
                      "regards,\nSophie\n\n________________________________\n"
                      f"From: Bottega Aurora Support <{original['Reply-To']}>\nSent: Monday, "
                      "November 23, 2026 10:15 AM\n"
                      "To: Sophie Marchetti <backup@bottega-aurora.example>\nSubject: "
                      f"{original['Subject']}\n\n"
                      + original.get_body(("plain",)).get_content())
    reply.add_alternative(f"<html><body><p>Hello,</p><p>{answer}</p><p>Kind regards,<br>Sophie</p>"
                          f"<hr><p><b>From:</b> Bottega Aurora Support</p></body></html>",
                          subtype="html")
    return reply


def send_reply(live_bot, reply: EmailMessage) -> None:
    with smtplib.SMTP(live_bot.settings.inbound_smtp_host, live_bot.settings.inbound_smtp_port,
                      timeout=30) as smtp:
        smtp.send_message(reply)


def ticket_of(live_bot, sender: str) -> Ticket:
    with session_scope(live_bot.settings.resolved_database_url) as session:
        ticket = session.query(Ticket).filter_by(conversation_id=sender).one()
        _ = ticket.events  # loaded while the session is open
        return ticket


def bot_texts(live_bot, sender: str) -> list[str]:
    return [e.get("text") or "" for e in live_bot.tracker(sender)["events"] if e["event"] == "bot"]


@pytest.mark.parametrize("language, question, paraphrase, answer, make_reply", [
    # A topic no other test of the shared live bot asks about (they escalate the dog
    # question): what this test teaches must not change their answers.
    ("it", "Organizzate corsi di pelletteria nel laboratorio di Bologna?",
     "Nel laboratorio di Bologna organizzate corsi di pelletteria?",
     "Sì, ogni primo sabato del mese teniamo un corso di pelletteria di tre ore nel "
     "laboratorio di Bologna.",
     gmail_reply_it),
    ("en", "Can I rent a dress for a wedding?", "Do you rent dresses for weddings?",
     "No, we don't rent dresses or any other clothes: everything in our catalogue is for "
     "sale only.",
     outlook_reply_en),
])
def test_the_whole_loop(live_bot, language, question, paraphrase, answer, make_reply):
    sender = f"loop-{uuid.uuid4().hex[:8]}"
    first = live_bot.say(sender, question)
    assert first[-1]["buttons"][0]["payload"] == "/affirm", first  # escalated: consent asked
    live_bot.say(sender, "/deny")  # the answer should come in the chat
    ticket = ticket_of(live_bot, sender)
    original = escalation_mail(live_bot, ticket.id)
    assert question in original.get_body(("plain",)).get_content()

    started = time.monotonic()
    send_reply(live_bot, make_reply(original, answer))
    wait_for(lambda: ticket_of(live_bot, sender).status == "closed")
    arrival_to_answerable = time.monotonic() - started

    ticket = ticket_of(live_bot, sender)
    assert ticket.answer.strip().startswith(("Ciao", "Hello"))  # the whole reply is kept
    assert ticket.delivery_channel == "chat" and ticket.learned_entry_id
    assert any(answer in text for text in bot_texts(live_bot, sender))  # pushed into the chat
    # A new customer asks a paraphrase: answered from the KB, no escalation.
    reply = live_bot.say(f"loop-{uuid.uuid4().hex[:8]}", paraphrase)
    assert reply[0]["text"] == answer, reply
    assert arrival_to_answerable < 10


def test_an_unauthorised_reply_is_quarantined_and_teaches_nothing(live_bot):
    sender = f"loop-{uuid.uuid4().hex[:8]}"
    first = live_bot.say(sender, "Organizzate corsi di cucito per bambini?")
    assert first[-1]["buttons"][0]["payload"] == "/affirm", first
    live_bot.say(sender, "/deny")
    original = escalation_mail(live_bot, ticket_of(live_bot, sender).id)
    forged = gmail_reply_it(original, "Sì, e sono gratis per tutti!")
    forged.replace_header("From", "Mallory <mallory@evil.example>")
    send_reply(live_bot, forged)
    time.sleep(1.5)
    ticket = ticket_of(live_bot, sender)
    assert ticket.status == "open" and not ticket.answer and ticket.learned_entry_id is None
    assert "reply_quarantined" in [e.kind for e in ticket.events]
