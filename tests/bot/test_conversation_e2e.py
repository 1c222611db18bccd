"""End to end through a real Rasa 3.6 server (model trained in this test run) and the
real action endpoint (rasa-sdk 3.21 in the app), on the demo knowledge base."""

from __future__ import annotations

import re
import uuid
from dataclasses import replace

import httpx
import pytest

from analytics import EventKind, events_of
from bot.conversation.rasa_runtime import RasaServer
from bot.stack import free_port
from core import session_scope
from escalation import Ticket
from escalation.models import OutboxMessage
from knowledge import repository as repo

pytestmark = [pytest.mark.rasa, pytest.mark.slow]


def new_sender() -> str:
    return f"test-{uuid.uuid4().hex[:10]}"


def texts(messages: list[dict]) -> list[str]:
    return [m.get("text", "") for m in messages]


def payloads(messages: list[dict]) -> list[str]:
    return [b["payload"] for m in messages for b in m.get("buttons") or []]


def logged(live_bot, sender: str, kind: EventKind):
    with session_scope(live_bot.settings.resolved_database_url) as session:
        return events_of(sender, session=session, kind=kind)


def test_italian_faq_is_answered_from_the_kb_with_feedback_buttons(live_bot):
    sender = new_sender()
    reply = live_bot.say(sender, "Quanto costa la spedizione?", {"page": "product:sciarpa"})
    assert "59 €" in reply[0]["text"]
    assert texts(reply)[-1] == "Ti è stata utile questa risposta?"
    assert [p.split("{")[0] for p in payloads(reply)] == ["/feedback_helpful",
                                                          "/feedback_unhelpful"]
    [event] = logged(live_bot, sender, EventKind.MESSAGE)
    assert (event.decision, event.language, event.page, event.channel) == (
        "answer", "it", "product:sciarpa", "rest")
    assert event.entry_id and event.score > 0.8 and event.latency_ms > 0


def test_english_faq_is_answered_in_english(live_bot):
    reply = live_bot.say(new_sender(), "How much is shipping?")
    assert "€59" in reply[0]["text"] and texts(reply)[-1] == "Was this answer helpful?"


@pytest.mark.parametrize("question, expected", [
    ("come faccio a restituire un articolo?", "30 giorni"),
    ("posso pagare con paypal o a rate?", "Klarna"),
    ("can I pay in instalments or cash on delivery?", "cash on delivery"),
])
def test_paraphrases_are_never_answered_wrongly(live_bot, question, expected):
    """A paraphrase of an FAQ question is answered with its entry, or (when the confidence
    model is not sure enough for the 2 % risk budget) offered or handed to a person with
    that entry ranked first: never answered with another entry."""
    sender = new_sender()
    reply = live_bot.say(sender, question)
    [event] = logged(live_bot, sender, EventKind.MESSAGE)
    if event.decision == "answer":
        assert expected.lower() in reply[0]["text"].lower(), reply
    else:
        with session_scope(live_bot.settings.resolved_database_url) as session:
            best = repo.get_entry(event.entry_id, session=session).answer
        assert expected.lower() in best.lower(), (event.decision, best)


@pytest.fixture
def clarify_bar(live_bot):
    """The demo FAQ's sibling entries (cancel / change an order) are the clarify case; the
    live model offers them once it is 50 % sure the right one is among them (the default
    0.8 needs the log of a running shop first), so the dialogue path is tested here."""
    kb = live_bot.assistant.kb
    model = kb.model()
    kb._model = replace(model, clarify_at=0.5)
    yield
    kb._model = model


def test_ambiguous_question_offers_buttons_and_a_click_answers(live_bot, clarify_bar):
    sender = new_sender()
    reply = live_bot.say(sender, "voglio annullare o modificare il mio ordine")
    choices = [p for p in payloads(reply) if p.startswith("/choose_entry")]
    assert len(choices) >= 2 and payloads(reply)[-1] == "/ask_human", reply
    answered = live_bot.say(sender, choices[0])
    assert "ordine" in answered[0]["text"] and "1 ora" in answered[0]["text"]
    [choice] = logged(live_bot, sender, EventKind.CHOICE)
    assert f'"{choice.entry_id}"' in choices[0]


def tickets_of(live_bot, sender: str) -> list[Ticket]:
    with session_scope(live_bot.settings.resolved_database_url) as session:
        return session.query(Ticket).filter_by(conversation_id=sender).order_by(Ticket.id).all()


def operator_mails(live_bot, ticket_id: int) -> list[OutboxMessage]:
    with session_scope(live_bot.settings.resolved_database_url) as session:
        return session.query(OutboxMessage).filter_by(ticket_id=ticket_id,
                                                      kind="escalation").all()


def test_an_escalation_that_goes_silent_has_its_ticket_and_operator_mail(live_bot):
    """The customer never answers the email question: the promise stands all the same."""
    sender = new_sender()
    reply = live_bot.say(sender, "Posso portare il mio cane in negozio?")
    assert payloads(reply) == ["/affirm", "/deny"]  # the email question, left unanswered
    [ticket] = tickets_of(live_bot, sender)
    assert f"richiesta n. {ticket.id}" in reply[0]["text"]
    assert (ticket.status, ticket.reason, ticket.customer_email) == ("open", "kb_escalate", "")
    [mail] = operator_mails(live_bot, ticket.id)
    assert "Posso portare il mio cane in negozio?" in mail.text_body


def test_unknown_question_escalates_and_collects_the_email(live_bot):
    sender = new_sender()
    reply = live_bot.say(sender, "Posso portare il mio cane in negozio?")
    assert re.search(r"ti risponderà (oggi entro le|domani entro le|entro \w+ \d+ \w+ alle) "
                     r"\d\d:\d\d \(ora italiana\)", reply[0]["text"])
    assert payloads(reply) == ["/affirm", "/deny"]  # consent to be answered by email
    assert "Qual è il tuo indirizzo email?" in texts(live_bot.say(sender, "/affirm"))
    invalid = live_bot.say(sender, "mario at example")
    assert "non sembra valido" in invalid[0]["text"]
    done = live_bot.say(sender, "mario.rossi@example.com")
    assert "per email all'indirizzo che ci hai dato" in done[0]["text"]
    assert not any("mario" in t for t in texts(done))  # the address is never echoed
    [ticket] = tickets_of(live_bot, sender)
    assert ticket.question == "Posso portare il mio cane in negozio?"
    assert ticket.customer_email == "mario.rossi@example.com" and ticket.contact_consent
    assert ticket.reason == "kb_escalate" and ticket.language == "it" and ticket.considered
    assert ticket.transcript[0] == {"role": "customer",
                                    "text": "Posso portare il mio cane in negozio?"}
    # Another unknown question is a ticket of its own, with the contact, without asking again.
    again = live_bot.say(sender, "Organizzate corsi di cucito per bambini il sabato?")
    first, second = tickets_of(live_bot, sender)
    assert f"richiesta n. {second.id}" in again[0]["text"] and payloads(again) == []
    assert second.customer_email == "mario.rossi@example.com"
    assert operator_mails(live_bot, second.id)
    assert not any("mario" in t for t in texts(again))


def test_asking_for_a_human_up_front_goes_to_a_person_at_once(live_bot):
    sender = new_sender()
    reply = live_bot.say(sender, "voglio parlare con un operatore")
    assert any("di cosa hai bisogno" in t for t in texts(reply)), reply
    assert not any("problema tecnico" in t for t in texts(reply)), reply
    assert tickets_of(live_bot, sender) == []  # nothing promised yet: no question
    consent = live_bot.say(sender, "ho ricevuto un pacco danneggiato e voglio sapere cosa fare")
    assert payloads(consent) == ["/affirm", "/deny"]
    [ticket] = tickets_of(live_bot, sender)  # the promise came with the ticket
    assert any(f"richiesta n. {ticket.id}" in t for t in texts(consent)), consent
    assert ticket.reason == "customer_request" and ticket.customer_email == ""
    assert ticket.question.startswith("ho ricevuto un pacco danneggiato")
    done = live_bot.say(sender, "/deny")
    assert "questa chat" in done[0]["text"]
    assert len(tickets_of(live_bot, sender)) == 1 and operator_mails(live_bot, ticket.id)


def test_asking_for_a_human_in_english_after_a_question(live_bot):
    sender = new_sender()
    live_bot.say(sender, "Can I bring my dog into your shop?")
    live_bot.say(sender, "/deny")  # no email: the ticket is for the chat only
    reply = live_bot.say(new_sender(), "I want to talk to a real person please")
    assert any("what do you need help with" in t for t in texts(reply)), reply


def test_a_question_typed_where_the_email_was_asked_is_not_swallowed(live_bot):
    sender = new_sender()
    live_bot.say(sender, "Posso portare il mio cane in negozio?")
    assert "Qual è il tuo indirizzo email?" in texts(live_bot.say(sender, "/affirm"))
    reply = live_bot.say(sender, "Organizzate corsi di cucito per bambini il sabato?")
    first, second = tickets_of(live_bot, sender)  # the new question reached a person too
    assert any(f"richiesta n. {second.id}" in t for t in texts(reply)), reply
    assert not any("non sembra valido" in t for t in texts(reply)), reply
    assert second.question == "Organizzate corsi di cucito per bambini il sabato?"
    assert operator_mails(live_bot, second.id)


def test_only_a_signed_identity_skips_the_email_question(live_bot, monkeypatch):
    from bot.conversation.identity import sign_email

    secret = "the-shop-backend-secret"
    monkeypatch.setattr(live_bot.assistant, "settings", live_bot.settings.model_copy(
        update={"shop_identity_secret": secret}))
    question = "Posso portare il mio cane in negozio?"
    unsigned = new_sender()
    reply = live_bot.say(unsigned, question, {"customer_email": "victim@example.com"})
    assert payloads(reply) == ["/affirm", "/deny"]  # asked, like anybody
    forged = new_sender()
    reply = live_bot.say(forged, question, {"customer_email": "victim@example.com",
                                            "customer_email_sig": sign_email("x@y.z", secret)})
    assert payloads(reply) == ["/affirm", "/deny"]
    assert [t.customer_email for t in tickets_of(live_bot, unsigned) + tickets_of(
        live_bot, forged)] == ["", ""]
    signed = new_sender()
    reply = live_bot.say(signed, question, {"customer_email": "anna@example.com",
                                            "customer_email_sig": sign_email(
                                                "anna@example.com", secret)})
    assert payloads(reply) == [] and not any("anna" in t for t in texts(reply))
    assert [t.customer_email for t in tickets_of(live_bot, signed)] == ["anna@example.com"]


def test_replaying_a_conversation_id_reveals_no_address(live_bot):
    sender = new_sender()
    live_bot.say(sender, "Posso portare il mio cane in negozio?")
    live_bot.say(sender, "/affirm")
    live_bot.say(sender, "alice@example.com")
    # Someone else, holding only the conversation id, talks on.
    replies = [live_bot.say(sender, text) for text in (
        "Organizzate corsi di cucito per bambini il sabato?", "voglio parlare con un operatore",
        "qual è la mia email?", "/affirm", "Posso portare il mio cane in negozio?")]
    assert not any("alice" in t for reply in replies for t in texts(reply)), replies


def test_feedback_buttons_are_recorded(live_bot):
    sender = new_sender()
    answer = live_bot.say(sender, "How much is shipping?")
    thumbs_up = next(p for p in payloads(answer) if p.startswith("/feedback_helpful"))
    assert texts(live_bot.say(sender, thumbs_up)) == ["Thanks for the feedback!"]
    thumbs_down = next(p for p in payloads(answer) if p.startswith("/feedback_unhelpful"))
    down = live_bot.say(sender, thumbs_down)
    assert payloads(down) == ["/ask_human", "/deny"]
    feedback = logged(live_bot, sender, EventKind.FEEDBACK)
    assert [e.data["helpful"] for e in feedback] == [True, False]
    assert {e.entry_id
            for e in feedback} == {logged(live_bot, sender, EventKind.MESSAGE)[0].entry_id}


@pytest.mark.parametrize("question, goodbye, language, farewell", [
    ("Quanto costa la spedizione?", "arrivederci e buona giornata", "it", "A presto"),
    ("How much is shipping?", "bye bye", "en", "Goodbye"),
])
def test_goodbye_asks_for_the_rating_which_the_app_records(live_bot, question, goodbye, language,
                                                           farewell):
    sender = new_sender()
    live_bot.say(sender, question)
    reply = live_bot.say(sender, goodbye)
    assert texts(reply)[0].startswith(farewell), reply
    # Rasa's REST channel wraps the custom payload; socket.io emits its `data` (browser test).
    assert [m["custom"] for m in reply if "custom" in m] == [
        {"data": {"ask_rating": True, "language": language}}]
    rated = httpx.post(f"{live_bot.app_url}/chat/rating", timeout=30,
                       json={"conversation_id": sender, "rating": 5, "comment": "👍"})
    assert rated.status_code == 201, rated.text
    [rating] = logged(live_bot, sender, EventKind.RATING)
    assert (rating.data, rating.language, rating.channel) == (
        {"rating": 5, "comment": "👍"}, language, "rest")
    assert logged(live_bot, sender, EventKind.CONVERSATION_END)


@pytest.mark.parametrize("question, goodbye, language", [
    ("Quanto costa la spedizione?", "ok grazie, ciao!", "it"),
    ("Quanto costa la spedizione?", "grazie mille, buona giornata", "it"),
    ("How much is shipping?", "thanks, bye!", "en"),
    ("Quanto costa la spedizione?", "perfetto grazie arrivederci", "it"),
])
def test_a_thanks_with_a_goodbye_ends_the_conversation_with_the_rating(live_bot, question,
                                                                       goodbye, language):
    sender = new_sender()
    live_bot.say(sender, question)
    reply = live_bot.say(sender, goodbye)
    assert [m["custom"] for m in reply if "custom" in m] == [
        {"data": {"ask_rating": True, "language": language}}], reply
    assert tickets_of(live_bot, sender) == []


def test_a_shop_question_is_never_declined_as_small_talk(live_bot):
    sender = new_sender()
    reply = live_bot.say(sender, "Can I rent a dress for a wedding?")
    assert not any("only know about Bottega Aurora" in t for t in texts(reply)), reply
    [ticket] = tickets_of(live_bot, sender)  # the demo FAQ does not know: a person answers
    assert any(f"#{ticket.id}" in t for t in texts(reply)), reply
    assert re.search(r"by \d{1,2}(:\d\d)? [ap]m Italian time", reply[0]["text"]), reply


def test_an_address_in_a_sentence_is_taken_and_a_wrong_one_explained_in_italian(live_bot):
    sender = new_sender()
    live_bot.say(sender, "Posso portare il mio cane in negozio?")
    live_bot.say(sender, "/affirm")
    wrong = texts(live_bot.say(sender, "mario.rossi@gmail"))
    assert any("dopo la @ ci vuole un dominio" in t for t in wrong), wrong
    assert not any("@-sign" in t or "not valid" in t for t in wrong), wrong
    done = live_bot.say(sender, "la mia mail è mario.rossi@gmail.com grazie")
    assert "per email all'indirizzo che ci hai dato" in done[0]["text"], done
    [ticket] = tickets_of(live_bot, sender)
    assert ticket.customer_email == "mario.rossi@gmail.com" and ticket.contact_consent


def test_small_talk_in_the_customers_language(live_bot):
    assert "Bottega Aurora assistant" in live_bot.say(new_sender(), "hello")[0]["text"]
    assert "assistente di Bottega Aurora" in live_bot.say(new_sender(), "ciao")[0]["text"]
    declined = live_bot.say(new_sender(), "raccontami una barzelletta")
    assert "so rispondere solo su Bottega Aurora" in declined[0]["text"]


def test_conversation_start_and_language_are_kept(live_bot):
    sender = new_sender()
    live_bot.say(sender, "How much is shipping?")
    live_bot.say(sender, "ok")  # ambiguous: the conversation stays English
    assert live_bot.tracker(sender)["slots"]["language"] == "en"
    assert logged(live_bot, sender, EventKind.CONVERSATION_START)


@pytest.mark.parametrize("message", [
    # Longer than 1000 characters is refused by the channel (test_rasa_boundary_live).
    "", "   ", "spedizione " * 90, "\x00\x07 ciao \x1b[31m", "<script>alert('x')</script>",
    "<img src=x onerror=alert(1)>", "'; DROP TABLE kb_entries; --", "🚚📦❓", "\ud800\udfff?",
])
def test_bad_messages_get_a_reply_and_break_nothing(live_bot, message):
    sender = new_sender()
    reply = live_bot.say(sender, message.encode("utf-8", "replace").decode("utf-8"))
    assert isinstance(reply, list)
    after = live_bot.say(sender, "Quanto costa la spedizione?")
    assert "59 €" in after[0]["text"]  # the conversation still works


def test_a_flood_from_one_sender_is_rate_limited_politely(live_bot):
    sender = new_sender()
    replies = [live_bot.say(sender, f"quanto costa la spedizione {i}?") for i in range(24)]
    limited = [r for r in replies if any("molto velocemente" in t for t in texts(r))]
    assert limited and len(limited) <= 24 - 20
    assert "59 €" in live_bot.say(new_sender(), "Quanto costa la spedizione?")[0]["text"]


def test_a_failing_action_gets_a_fallback_reply_and_an_error_log(live_bot, monkeypatch, caplog):
    def broken(*_args, **_kwargs):
        raise RuntimeError("database unreachable")

    monkeypatch.setattr(live_bot.assistant.kb, "search", broken)
    sender = new_sender()
    reply = live_bot.say(sender, "Quanto costa la spedizione?")
    said = reply[0]["text"]
    assert "problema tecnico" in said and live_bot.settings.support_email in said
    assert any(sender in r.getMessage() for r in caplog.records if r.levelname == "ERROR")
    assert logged(live_bot, sender, EventKind.ERROR)[0].data == {"error": "RuntimeError"}


def test_yes_and_no_keep_the_conversation_language(live_bot):
    sender = new_sender()
    live_bot.say(sender, "How much is shipping?")
    assert texts(live_bot.say(sender, "no thanks")) == [
        "All right. Is there anything else I can help you with?"]


def test_action_endpoint_down_gets_a_fallback_utterance_and_a_logged_id(live_bot, tmp_path):
    rasa = RasaServer(live_bot.settings, model=live_bot.rasa.model, port=free_port(),
                      action_url=f"http://127.0.0.1:{free_port()}/webhook",  # nobody listens
                      log_path=tmp_path / "rasa.log")
    rasa.start()
    try:
        rasa.wait_ready(300)
        sender = new_sender()
        reply = httpx.post(f"{rasa.url}/webhooks/rest/webhook", timeout=60,
                           json={"sender": sender, "message": "Quanto costa la spedizione?"}).json()
        assert [m["text"] for m in reply] == [
            "Scusa, ho un problema tecnico in questo momento. Riprova tra poco oppure scrivici "
            "ad assistenza@bottega-aurora.example."]
        again = httpx.post(f"{rasa.url}/webhooks/rest/webhook", timeout=60,
                           json={"sender": sender, "message": "buongiorno"}).json()
        assert "Ciao!" in again[0]["text"]  # the conversation goes on
    finally:
        rasa.stop()
    logged_failure = [line for line in (tmp_path / "rasa.log").read_text().splitlines()
                      if sender in line and "failed" in line]
    assert logged_failure


def test_terminal_chat_talks_to_the_running_bot(live_bot):
    import subprocess
    import sys
    from pathlib import Path

    supportbot = Path(sys.executable).parent / "supportbot"
    result = subprocess.run([str(supportbot), "chat", "--url", live_bot.rasa_url],
                            input="Quanto costa la spedizione?\n1\n\n", capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "bot: La spedizione standard" in result.stdout
    assert "[1] 👍 Sì" in result.stdout and "bot: Grazie del riscontro!" in result.stdout
