"""The conversation service behind the custom actions: one call per customer turn.

It validates and rate-limits the message, picks the conversation's language, asks
the product catalogue (a question about a product's attribute: answered from the shop's
data or a note learned for that product, else passed to a person) and otherwise the
knowledge base, logs the turn for analytics and opens tickets. Everything here
is blocking (embedding, database); actions call it from a worker thread. It knows
nothing of Rasa: actions hand it a `Turn` and get a `Reply` back.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from datetime import date, timedelta

from limits import parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from analytics import EventKind, Interaction, events_of, record
from bot.conversation import language as lang
from bot.conversation.phrases import deadline, say
from bot.conversation.product_path import (
    answer_product,
    consult,
    last_product_answer,
    product_data,
    product_feedback_buttons,
    product_of_event,
    shop_today,
    ticket_product,
)
from bot.conversation.turns import Reply, ReplyKind, Turn
from catalogue.service import ProductAnswer, ProductDesk
from core import DecisionKind, Settings, as_utc, session_scope, utcnow
from escalation import (
    ConsideredEntry,
    EscalationError,
    SlaConfig,
    TicketRequest,
    TooManyOpenTickets,
    add_contact,
    answered_awaiting_delivery,
    contact_of,
    load_sla_config,
    mail_notifier,
    open_ticket,
    take_undelivered_answers,
)
from knowledge import Decision, EntryNotFound, InvalidQuestion, KnowledgeBase
from knowledge import repository as repo
from knowledge.models import Status
from knowledge.text import clean

log = logging.getLogger(__name__)

MAX_QUESTION = 4000
# A request for a person refers to the question asked within this time (Rasa's session).
RECENT_QUESTION = timedelta(hours=2)


def _kept_language(turn: Turn) -> str:
    """The conversation's language, for turns whose text says nothing (buttons)."""
    return turn.language if turn.language in lang.SERVED else lang.DEFAULT


def _category(considered: tuple[ConsideredEntry, ...]) -> str:
    """The ticket's category: that of the closest entry the bot considered."""
    return considered[0].category if considered else "general"


def feedback_buttons(language: str, entry_id: int) -> tuple[tuple[str, str], ...]:
    payload = f'{{"entry_id": "{entry_id:d}"}}'
    return ((say(language, "yes"), f"/feedback_helpful{payload}"),
            (say(language, "no"), f"/feedback_unhelpful{payload}"))


class Assistant:
    def __init__(self, settings: Settings, knowledge_base: KnowledgeBase,
                 sla: SlaConfig | None = None, desk: ProductDesk | None = None):
        self.settings = settings
        self.kb = knowledge_base
        self.url = settings.resolved_database_url
        self.desk = desk if desk is not None else ProductDesk(
            self.url, settings.index_sync_interval_s)
        self.sla = sla or load_sla_config(settings.resolved_sla_policies_file)
        self.notify = mail_notifier(settings)
        self._limit = parse(settings.chat_rate_limit)
        self._limiter = MovingWindowRateLimiter(storage_from_string(settings.rate_limit_storage))

    def warm_up(self) -> None:
        lang.warm_up()
        try:
            self.desk.warm_up()
        except Exception:  # the FAQ still answers; the next product question retries
            log.exception("the product catalogue could not be loaded")

    # -- turns ---------------------------------------------------------------------------
    def answer(self, turn: Turn) -> Reply:
        """A customer question: answer, offer choices, or prepare the escalation."""
        language = lang.conversation_language(turn.text, turn.language, turn.hint)
        refused = self._refuse(turn, language)
        if refused:
            return refused
        product, product_ms = self._product(turn, language)
        if product is not None and (product.text or product.attribute):
            return self._product_reply(turn, language, product, product_ms)
        try:
            decision = self.kb.search(turn.text, language=language)
        except InvalidQuestion:
            return self._invalid(turn, language)
        return self._reply_for(turn, language, decision, product)

    def _product(self, turn: Turn, language: str) -> tuple[ProductAnswer | None, float]:
        """What the catalogue says (None: about no identified product) and how long it took,
        for a question the knowledge base would take (the same limits)."""
        text = clean(turn.text)
        if not 0 < len(text) <= self.settings.max_question_chars:
            return None, 0.0
        started = time.perf_counter()
        answer = consult(self.desk, text, language, turn.page, self.today())
        return answer, (time.perf_counter() - started) * 1000

    def today(self) -> date:
        return shop_today(self.sla.timezone, utcnow())

    def about_product(self, turn: Turn) -> bool:
        """Whether the message asks about a product's attribute (or is answered by a note):
        a question, whatever intent the NLU gave it."""
        product, _ = self._product(turn, lang.conversation_language(turn.text, turn.language,
                                                                    turn.hint))
        return product is not None and bool(product.text or product.attribute)

    def _product_reply(self, turn: Turn, language: str, product: ProductAnswer,
                       latency_ms: float) -> Reply:
        """Answered from the catalogue or a note; or the data cannot say: passed to a person
        with the honest sentence first, the ticket carrying the product."""
        question = clean(turn.text)
        self._log(turn, EventKind.MESSAGE, language, text=question,
                  decision=(DecisionKind.ANSWER if product.text else DecisionKind.ESCALATE).value,
                  latency_ms=latency_ms,
                  data={"product": product_data(product, product.answered_by),
                        "reason": product.reason, "note_id": product.note_id})
        if product.text:
            return Reply(ReplyKind.ANSWER, language, (product.text, say(language, "helpful?")),
                         product_feedback_buttons(language, product.slug), question=question)
        reply = self._escalate(turn, language, question, (), "product_escalate",
                               product=answer_product(product, turn.page))
        if reply.kind == ReplyKind.ESCALATE and product.cannot_say:
            reply = replace(reply, messages=(product.cannot_say, *reply.messages))
        return reply

    def _reply_for(self, turn: Turn, language: str, decision: Decision,
                   product: ProductAnswer | None = None) -> Reply:
        """The logged turn and the reply for a knowledge-base decision."""
        top = decision.candidates[0] if decision.candidates else None
        data = {"candidates": [c.entry_id for c in decision.candidates],
                "confidence": decision.confidence, "model_version": decision.model_version}
        if product is not None:  # identified, but no attribute: the FAQ's question
            data["product"] = product_data(
                product, "kb" if decision.kind is DecisionKind.ANSWER else "")
        self._log(turn, EventKind.MESSAGE, language, text=decision.question,
                  decision=decision.kind.value, entry_id=top.entry_id if top else None,
                  score=decision.score, latency_ms=decision.latency_ms, data=data)
        if decision.kind is DecisionKind.ANSWER:
            return Reply(ReplyKind.ANSWER, language, (top.answer, say(language, "helpful?")),
                         feedback_buttons(language, top.entry_id), top.entry_id, decision.question)
        considered = tuple(ConsideredEntry(c.entry_id, c.key, c.score, c.category)
                           for c in decision.candidates)
        if decision.kind is DecisionKind.CLARIFY:
            buttons = tuple((c.matched_question, f'/choose_entry{{"entry_id": "{c.entry_id:d}"}}')
                            for c in decision.candidates)
            buttons += ((say(language, "none_of_these"), "/ask_human"),)
            return Reply(ReplyKind.CLARIFY, language, (say(language, "clarify"),), buttons,
                         question=decision.question, considered=considered)
        return self._escalate(turn, language, decision.question, considered, "kb_escalate",
                              product=answer_product(product, turn.page))

    def small_talk(self, turn: Turn) -> Reply | None:
        """A message the NLU filed as small talk: answered like a question when the knowledge
        base is sure it knows it (the intent model changes with every training, the KB does
        not), else None and the bot declines politely. Nothing is logged or escalated then."""
        language = lang.conversation_language(turn.text, turn.language, turn.hint)
        try:
            decision = self.kb.search(turn.text, language=language)
        except InvalidQuestion:
            return None
        if decision.kind is not DecisionKind.ANSWER:
            return None
        return self._refuse(turn, language) or self._reply_for(turn, language, decision)

    def choose(self, turn: Turn, entry_id: int) -> Reply:
        """The customer clicked one of the clarify buttons."""
        language = _kept_language(turn)
        with session_scope(self.url) as session:
            try:
                entry = repo.get_entry(entry_id, session=session)
            except EntryNotFound:
                entry = None
            answer = entry.answer if entry and entry.status is Status.PUBLISHED else None
        self._log(turn, EventKind.CHOICE, language, entry_id=entry_id,
                  decision=DecisionKind.ANSWER.value if answer else "gone")  # gone: not a decision
        if answer is None:
            return Reply(ReplyKind.INVALID, language, (say(language, "entry_gone"),))
        return Reply(ReplyKind.ANSWER, language, (answer, say(language, "helpful?")),
                     feedback_buttons(language, entry_id), entry_id)

    def feedback(self, turn: Turn, entry_id: int | None, helpful: bool, product: str = ""
                 ) -> Reply:
        """A thumbs on an answer: a KB entry's (`entry_id`) or a product answer's (`product`,
        the slug its button named). A product verdict is logged with the product question
        this conversation was answered (from our log: a button names only a slug)."""
        language = _kept_language(turn)
        data: dict = {"helpful": helpful}
        if product:
            entry_id = None  # never counted as a verdict on some KB entry
            if (asked := self._recent_product(turn.conversation_id, product)) is not None:
                data["product"] = asked
        self._log(turn, EventKind.FEEDBACK, language, entry_id=entry_id, data=data)
        if helpful:
            return Reply(ReplyKind.FEEDBACK, language, (say(language, "thanks_feedback"),))
        return Reply(ReplyKind.FEEDBACK, language, (say(language, "sorry_feedback"),),
                     ((say(language, "handoff_yes"), "/ask_human"),
                      (say(language, "handoff_no"), "/deny")))

    def hand_off(self, turn: Turn, question: str | None = None) -> Reply:
        """The customer asked for a person. Their question is the one they asked last in
        this chat (from our own log, not from the tracker); without one the bot first asks
        what it is about and promises nothing yet: a ticket without a question would leave
        the operator nothing to answer (see `hand_off_question`)."""
        language = lang.conversation_language(turn.text, turn.language, turn.hint)
        self._log(turn, EventKind.HANDOFF, language, text=turn.text)
        product = ("", "")
        if not (question := clean(question or "")):
            question, asked, page = self._recent_question(turn.conversation_id)
            if asked:  # the last question was about a product: so may be the ticket
                product = ticket_product(asked["slug"], asked["attribute"], asked["named"], page)
        if not question:
            return Reply(ReplyKind.ASK_QUESTION, language, (), needs_contact=True)
        return self._escalate(turn, language, question, (), "customer_request", product=product)

    def hand_off_question(self, turn: Turn, question: str) -> Reply:
        """The question typed after asking for a person: the ticket opens now."""
        language = _kept_language(turn)
        question = clean(question)[:MAX_QUESTION]
        if not question:
            return Reply(ReplyKind.INVALID, language, (say(language, "empty"),))
        # About a product, the answer is learned for that product only (as for any ticket).
        product, _ = self._product(replace(turn, text=question), language)
        return self._escalate(turn, language, question, (), "customer_request",
                              product=answer_product(product, turn.page))

    def open_ticket(self, turn: Turn, question: str, *, reason: str, email: str, consent: bool,
                    transcript: tuple[tuple[str, str], ...],
                    considered: tuple[ConsideredEntry, ...] = ()) -> Reply:
        """Open a ticket with a contact the caller has checked (the shop's own tools)."""
        turn = replace(turn, transcript=transcript, customer_email=email if consent else "")
        return self._escalate(turn, _kept_language(turn), question, considered,
                              reason or "customer_request")

    def add_contact(self, turn: Turn, email: str) -> Reply:
        """The customer typed their address after agreeing to be answered by email: it is
        added to every open ticket of the conversation that has none. The reply never
        repeats the address: whoever holds a conversation id sees this chat."""
        language = _kept_language(turn)
        with session_scope(self.url) as session:
            try:
                added = add_contact(turn.conversation_id, email, session=session)
            except EscalationError:
                return Reply(ReplyKind.CONTACT, language, (say(language, "contact_refused"),))
        return Reply(ReplyKind.CONTACT, language,
                     (say(language, "contact_added" if added else "contact_unused"),))

    def contact_declined(self, turn: Turn) -> Reply:
        language = _kept_language(turn)
        return Reply(ReplyKind.CONTACT, language, (say(language, "contact_declined"),))

    def has_contact(self, conversation_id: str) -> bool:
        """Whether an email may already be used for this conversation's answers."""
        with session_scope(self.url) as session:
            return bool(contact_of(conversation_id, session=session))

    # -- helpers -------------------------------------------------------------------------
    def _escalate(self, turn: Turn, language: str, question: str,
                  considered: tuple[ConsideredEntry, ...], reason: str,
                  product: tuple[str, str] = ("", "")) -> Reply:
        """The moment the bot promises a person, the ticket exists (delivery in the chat);
        asking for an email afterwards only adds a contact to it."""
        request = TicketRequest(
            conversation_id=turn.conversation_id, question=clean(question)[:MAX_QUESTION],
            language=language, reason=reason, transcript=turn.transcript,
            customer_email=turn.customer_email, contact_consent=bool(turn.customer_email),
            category=_category(considered), considered=considered,
            product_slug=product[0], product_attribute=product[1])
        try:
            with session_scope(self.url) as session:
                info = open_ticket(request, session=session, sla=self.sla, notify=self.notify)
        except TooManyOpenTickets:  # no ticket, so no promise: the customer is told so
            log.warning("conversation %s: too many open tickets, no new one", turn.conversation_id)
            return Reply(ReplyKind.TOO_MANY_OPEN, language, (
                say(language, "too_many_open", email=self.settings.support_email),))
        self._log(turn, EventKind.ESCALATION, language, text=request.question,
                  data={"ticket_id": info.id, "reason": reason, "joined": info.joined_existing,
                        "email_given": info.has_contact})
        key = ("already_open" if info.joined_existing
               else "escalated" if reason == "kb_escalate" else "handed_off")
        text = say(language, key, ticket=info.id,
                   sla=deadline(language, info.due_at, utcnow(), self.sla.timezone),
                   delivery=say(language, "delivery_email" if info.has_contact
                                else "delivery_chat"))
        return Reply(ReplyKind.ESCALATE, language, (text,), question=request.question,
                     considered=considered, needs_contact=not info.has_contact,
                     ticket_id=info.id)

    def _recent_question(self, conversation_id: str) -> tuple[str, dict | None, str]:
        """The last question this conversation asked, if recent, the product it was about
        (None when none) and the page it was asked on."""
        since = utcnow() - RECENT_QUESTION
        with session_scope(self.url) as session:
            recent = [(e.text, product_of_event(e.data), e.page)
                      for e in events_of(conversation_id, session=session, kind=EventKind.MESSAGE)
                      if e.text and as_utc(e.occurred_at) >= since]
        return recent[-1] if recent else ("", None, "")

    def _recent_product(self, conversation_id: str, slug: str) -> dict | None:
        with session_scope(self.url) as session:
            return last_product_answer(events_of(conversation_id, session=session,
                                                 kind=EventKind.MESSAGE), slug)

    def _refuse(self, turn: Turn, language: str) -> Reply | None:
        if not self._limiter.hit(self._limit, "chat", turn.conversation_id):
            self._log(turn, EventKind.RATE_LIMITED, language, text=turn.text)
            return Reply(ReplyKind.RATE_LIMITED, language, (say(language, "rate_limited"),))
        return None

    def _invalid(self, turn: Turn, language: str) -> Reply:
        limit = self.settings.max_question_chars
        key = "empty" if not clean(turn.text) else "too_long"
        self._log(turn, EventKind.INVALID, language, text=turn.text, data={"reason": key})
        return Reply(ReplyKind.INVALID, language, (say(language, key, limit=limit),))

    def error(self, turn: Turn, exc: BaseException) -> Reply:
        """What the customer sees when handling their message failed; logged with the id."""
        language = _kept_language(turn)
        log.error("conversation %s: %s: %s", turn.conversation_id, type(exc).__name__, exc)
        try:
            self._log(turn, EventKind.ERROR, language, text=turn.text,
                      data={"error": type(exc).__name__})
        except Exception:  # the database may be what failed
            log.exception("conversation %s: could not log the error", turn.conversation_id)
        return Reply(ReplyKind.ERROR, language,
                     (say(language, "error", email=self.settings.support_email),))

    def _log(self, turn: Turn, kind: EventKind, language: str, **fields) -> None:
        with session_scope(self.url) as session:
            record(Interaction(kind, turn.conversation_id, channel=turn.channel,
                               language=language, page=turn.page, **fields), session=session)

    def operator_answer(self, conversation_id: str) -> Reply | None:
        """The answer waiting to be pushed into this conversation's chat, if any."""
        with session_scope(self.url) as session:
            ticket = answered_awaiting_delivery(conversation_id, session=session)
            if ticket is None:
                return None
            language = ticket.language if ticket.language in lang.SERVED else lang.DEFAULT
            intro = say(language, "operator_answer", ticket=ticket.id)
            return Reply(ReplyKind.OPERATOR_ANSWER, language, (intro, ticket.answer))

    def answers_waiting(self, conversation_id: str) -> list[Reply]:
        """Operators' answers the customer has not seen yet (they left the chat and gave no
        email); the widget asks for them when the chat opens again on the same device."""
        with session_scope(self.url) as session:
            tickets = take_undelivered_answers(conversation_id[:128], session=session)
            return [Reply(ReplyKind.OPERATOR_ANSWER, ticket.language,
                          (say(ticket.language, "operator_answer", ticket=ticket.id),
                           ticket.answer))
                    for ticket in tickets]

    def start_conversation(self, conversation_id: str, *, channel: str, page: str,
                           hint: str | None) -> str:
        language = (hint or "")[:2].lower()
        language = language if language in lang.SERVED else lang.DEFAULT
        with session_scope(self.url) as session:
            record(Interaction(EventKind.CONVERSATION_START, conversation_id, channel=channel,
                               language=language, page=page), session=session)
        return language
