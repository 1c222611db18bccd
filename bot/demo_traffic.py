"""A simulated quarter of traffic for the demo shop, so a new user sees living figures:
conversations in Italian and English on product pages, the cart and order pages; FAQ
questions answered (some clarified, some thumbed), unknown ones escalated to tickets that
operators answer within or after the SLA; about a quarter of the conversations end with a
1-5 rating (lower after a late answer or a thumbs-down), some with a comment; in the last two
weeks a new coat draws more and more questions (an emerging topic). Questions about a product
are logged as the product path logs them (`data["product"]`: slug, attribute, who answered):
those the demo catalogue (data/demo_catalogue.csv) answers are answered, those it cannot
(a product without care notes, a bag without its inner size, how a coat fits) go to a
person, so the before-buying page shows which product pages lack information.
Deterministic for a given seed.

The history is written into days the dashboard may already have summed (a shop that ran
before the demo): those days' roll-ups are reopened, and the command then labels all of it
at once (`supportbot demo-traffic` refreshes with no settling time), so the dashboard is
alive the moment it returns.

Unlike the rest of `bot/`, it writes analytics' and escalation's models (and reads
knowledge's entries) directly: it fabricates a past that no product path produces (events
and answered tickets dated weeks ago), so as a demo data generator it stands in for
those packages' own writers rather than calling across their seams."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from analytics import rollup
from analytics.models import EventKind, InteractionEvent
from core import DecisionKind
from escalation.models import DeliveryChannel, Ticket, TicketStatus
from knowledge.models import Category, Entry, Status

PAGES = {"pre_purchase": ["product:sciarpa-merino", "product:borsa-aurora", "product:stivali",
                          "product:foulard-seta", "category:sciarpe", "category:borse", "cart"],
         "post_purchase": ["order:status", "account:orders", "home"],
         "general": ["home", "contatti"]}
UNKNOWN = {"it": ["Posso portare il cane in negozio?", "Fate corsi di cucito?",
                  "Avete la sciarpa in verde petrolio?", "Spedite alle Canarie?",
                  "Posso pagare con buoni pasto?", "La borsa entra un portatile da 15 pollici?",
                  "Come si pulisce la borsa a secchiello Lucia?",
                  "Nella borsa a tracolla Nina entra un tablet da 11 pollici?"],
           "en": ["Do you ship to the Canary Islands?", "Can I rent a dress?",
                  "Is the Aurora bag big enough for a 15 inch laptop?", "Do you sell gift boxes?",
                  "How do I clean the felt hat?"]}
# A new product people start asking about in the last two weeks: the dashboard's
# "in crescita" topic and the top product before buying.
TREND_DAYS = 14
TREND = {"it": ["Quando torna disponibile il cappotto Aurora color cammello?",
                "Il cappotto Aurora cammello veste regolare?",
                "Avete il cappotto cammello in taglia 42?"],
         "en": ["When is the camel Aurora coat back in stock?",
                "Does the camel Aurora coat run true to size?"]}
TREND_PAGE = "product:cappotto-aurora-cammello"
COAT = TREND_PAGE.partition(":")[2]


@dataclass(frozen=True)
class ProductAsk:
    """What the product path makes of a question (the slugs are the demo catalogue's)."""

    slug: str
    attribute: str  # catalogue.records.Attribute value
    answered: bool  # the catalogue answers it; else a person does
    named: bool = False  # the question names the product (else the page does)


PRODUCT_QUESTIONS = {
    "Avete la sciarpa in verde petrolio?":
        ProductAsk("sciarpa-merino", "availability", True, named=True),
    "La borsa entra un portatile da 15 pollici?": ProductAsk("borsa-aurora", "fits", True,
                                                             named=True),
    "Is the Aurora bag big enough for a 15 inch laptop?":
        ProductAsk("borsa-aurora", "fits", True, named=True),
    # no care notes, no inner size in the catalogue: a person answers
    "Come si pulisce la borsa a secchiello Lucia?":
        ProductAsk("borsa-secchiello", "care", False, named=True),
    "Nella borsa a tracolla Nina entra un tablet da 11 pollici?":
        ProductAsk("borsa-tracolla-nina", "fits", False, named=True),
    "How do I clean the felt hat?": ProductAsk("cappello-feltro", "care", False, named=True),
    # the coat: out of stock in camel with a restock date; how it fits is size advice, which
    # the product path leaves to the FAQ (logged as no product question: see TREND)
    "Quando torna disponibile il cappotto Aurora color cammello?":
        ProductAsk(COAT, "restock", True, named=True),
    "Avete il cappotto cammello in taglia 42?": ProductAsk(COAT, "availability", True, named=True),
    "When is the camel Aurora coat back in stock?": ProductAsk(COAT, "restock", True, named=True),
}
RATED_SHARE = 0.25  # conversations that end with a rating
COMMENTED_SHARE = 0.35  # ratings that come with a comment
# Weights of the scores 1..5 by how the conversation went.
SCORE_WEIGHTS = {"answered": (2, 3, 8, 32, 55), "escalated": (4, 6, 15, 35, 40),
                 "disliked": (15, 20, 30, 20, 15), "late": (25, 25, 25, 15, 10)}
COMMENTS = {
    "it": {"low": ["Ho aspettato troppo la risposta.", "Non ha capito la mia domanda.",
                   "Preferivo parlare subito con una persona."],
           "mid": ["Utile, ma la risposta era un po' generica.", "Ok, niente di speciale."],
           "high": ["Velocissimi, grazie!", "Risposta chiara e immediata.",
                    "Mi ha aiutato a scegliere la taglia.", "Ottimo servizio"]},
    "en": {"low": ["I waited too long for an answer.", "It didn't understand my question."],
           "mid": ["Useful, but a bit generic.", "Fine."],
           "high": ["Quick and clear, thanks!", "Great service", "Helped me pick the right size."]},
}


def simulate(session: Session, *, days: int = 90, per_day: int = 60, seed: int = 1,
             end: datetime | None = None) -> dict:
    """Insert `days` of traffic ending at `end`; returns what was written."""
    rng = random.Random(seed)
    rater = random.Random(f"ratings-{seed}")  # its own stream: the rest stays as it was
    trend = random.Random(f"trend-{seed}")
    entries = [e for e in session.query(Entry).filter(Entry.status == Status.PUBLISHED)]
    if not entries:
        raise ValueError("the knowledge base is empty: import data/demo_kb.yaml first")
    end = (end or datetime.now(UTC)).replace(minute=0, second=0, microsecond=0)
    counts = {"conversations": 0, "questions": 0, "tickets": 0, "ratings": 0}
    for day in range(days):
        date = end - timedelta(days=days - day)
        volume = per_day * (0.7 if date.weekday() >= 5 else 1.0) * (0.8 + 0.4 * day / days)
        for _ in range(int(rng.gauss(volume, volume * 0.15))):
            at = date + timedelta(hours=rng.choice(range(8, 23)), minutes=rng.randrange(60))
            _conversation(session, rng, rater, entries, at, counts)
        if days - day <= TREND_DAYS:  # a few a day at first, a dozen at the end
            surge = TREND_DAYS - (days - day) + 1
            for _ in range(max(0, round(trend.gauss(surge * 0.9, 1)))):
                at = date + timedelta(hours=trend.choice(range(8, 23)),
                                      minutes=trend.randrange(60))
                _trend_conversation(session, trend, entries, at, counts)
    session.flush()
    rollup.reopen(session, end - timedelta(days=days), end)
    return counts


def _trend_conversation(session: Session, rng: random.Random, entries: list[Entry],
                        at: datetime, counts: dict) -> None:
    """A question about the new coat: the catalogue says when it is back and in which
    sizes; how it fits goes to a person."""
    language = "it" if rng.random() < 0.75 else "en"
    conversation = f"demo-{counts['conversations']:06d}"
    counts["conversations"] += 1
    counts["questions"] += 1
    common = {"conversation_id": conversation, "language": language, "channel": "socketio",
              "page": TREND_PAGE}
    question = rng.choice(TREND[language])
    about = PRODUCT_QUESTIONS.get(question)  # None: size advice, the FAQ's question
    asked = at + timedelta(seconds=15)
    message = (_product_message(rng, asked, question, about, common) if about else
               InteractionEvent(kind=EventKind.MESSAGE, occurred_at=asked, text=question,
                                decision=DecisionKind.ESCALATE, score=round(rng.uniform(.4, .7), 3),
                                latency_ms=round(rng.uniform(4, 12), 1), **common))
    events = [InteractionEvent(kind=EventKind.CONVERSATION_START, occurred_at=at, **common),
              message]
    if about is None or not about.answered:
        pre = [e for e in entries if e.category == Category.PRE_PURCHASE] or entries
        ticket = _ticket(session, rng, conversation, question, language, pre[0], at, about)
        counts["tickets"] += 1
        events.append(InteractionEvent(kind=EventKind.ESCALATION, occurred_at=asked,
                                       data={"ticket_id": ticket.id, "joined": False}, **common))
    session.add_all(events)


def _product_message(rng: random.Random, at: datetime, question: str, about: ProductAsk,
                     common: dict) -> InteractionEvent:
    """A product question as the product path logs it: on its product's page, answered
    from the catalogue or passed to a person."""
    data = {"product": {"slug": about.slug, "attribute": about.attribute,
                        "answered_by": "catalogue" if about.answered else "",
                        "named": about.named}}
    return InteractionEvent(kind=EventKind.MESSAGE, occurred_at=at, text=question,
                            decision=(DecisionKind.ANSWER if about.answered
                                      else DecisionKind.ESCALATE),
                            score=round(rng.uniform(.4, .7), 3),
                            latency_ms=round(rng.uniform(4, 12), 1), data=data,
                            **{**common, "page": f"product:{about.slug}"})


def _conversation(session: Session, rng: random.Random, rater: random.Random,
                  entries: list[Entry], at: datetime, counts: dict) -> None:
    language = "it" if rng.random() < 0.72 else "en"
    pool = [e for e in entries if e.language == language] or entries
    first = rng.choice(pool)
    page = rng.choice(PAGES[first.category.value])
    conversation = f"demo-{counts['conversations']:06d}"
    counts["conversations"] += 1
    channel = "socketio" if rng.random() < 0.9 else "rest"
    common = {"conversation_id": conversation, "language": language, "channel": channel,
              "page": page}
    events = [InteractionEvent(kind=EventKind.CONVERSATION_START, occurred_at=at, **common)]
    mood, ended = "answered", at
    for turn in range(rng.choice((1, 1, 1, 2, 2, 3))):
        at += timedelta(seconds=rng.randrange(10, 90))
        entry = first if turn == 0 else rng.choice(pool)
        roll = rng.random()
        counts["questions"] += 1
        if roll < 0.16:  # the KB has no answer: the catalogue may, else a person takes over
            question = rng.choice(UNKNOWN[language])
            about = PRODUCT_QUESTIONS.get(question)
            if about is not None:
                events.append(_product_message(rng, at, question, about, common))
                if about.answered:
                    ended = at + timedelta(seconds=20)
                    continue
            else:
                events.append(InteractionEvent(
                    kind=EventKind.MESSAGE, occurred_at=at, text=question,
                    decision=DecisionKind.ESCALATE,
                    score=round(rng.uniform(.4, .7), 3), latency_ms=round(rng.uniform(4, 12), 1),
                    **common))
            ticket = _ticket(session, rng, conversation, question, language, entry, at, about)
            events.append(InteractionEvent(kind=EventKind.ESCALATION, occurred_at=at,
                                           data={"ticket_id": ticket.id, "joined": False},
                                           **common))
            counts["tickets"] += 1
            late = ticket.answered_at is None or ticket.answered_at > ticket.due_at
            mood = "late" if late else "escalated"
            ended = ticket.answered_at or at
            break
        answered, helpful = _answered_turn(rng, at, entry, roll < 0.24, common)
        events += answered
        mood = "disliked" if helpful is False else mood
        ended = at + timedelta(seconds=20)
    if rater.random() < RATED_SHARE:
        events += _rating(rater, ended + timedelta(seconds=rater.randrange(20, 600)), mood, common)
        counts["ratings"] += 1
    session.add_all(events)


def _answered_turn(rng: random.Random, at: datetime, entry: Entry, clarified: bool,
                   common: dict) -> tuple[list[InteractionEvent], bool | None]:
    """A question the KB answered (after a clarify pick when `clarified`), and the customer's
    thumb on it when they gave one (None: no thumb)."""
    decision = DecisionKind.CLARIFY if clarified else DecisionKind.ANSWER
    events = [InteractionEvent(
        kind=EventKind.MESSAGE, occurred_at=at, text=rng.choice(entry.questions).text,
        decision=decision, entry_id=entry.id, score=round(rng.uniform(.78, 1.1), 3),
        latency_ms=round(rng.uniform(3, 10), 1), **common)]
    if clarified:
        events.append(InteractionEvent(kind=EventKind.CHOICE, decision=DecisionKind.ANSWER,
                                       entry_id=entry.id,
                                       occurred_at=at + timedelta(seconds=8), **common))
    helpful = None
    if rng.random() < 0.3:
        helpful = rng.random() < 0.86
        events.append(InteractionEvent(kind=EventKind.FEEDBACK, entry_id=entry.id,
                                       occurred_at=at + timedelta(seconds=20),
                                       data={"helpful": helpful}, **common))
    return events, helpful


def _rating(rng: random.Random, at: datetime, mood: str, common: dict) -> list[InteractionEvent]:
    """The end-of-chat rating as the widget's POST /chat/rating logs it, with the end."""
    score = rng.choices(range(1, 6), weights=SCORE_WEIGHTS[mood])[0]
    comment = ""
    if rng.random() < COMMENTED_SHARE:
        band = "low" if score <= 2 else "mid" if score == 3 else "high"
        comment = rng.choice(COMMENTS[common["language"]][band])
    return [InteractionEvent(kind=EventKind.RATING, occurred_at=at,
                             data={"rating": score, "comment": comment}, **common),
            InteractionEvent(kind=EventKind.CONVERSATION_END, occurred_at=at,
                             data={"via": "rating"}, **common)]


def _ticket(session: Session, rng: random.Random, conversation: str, question: str,
            language: str, entry: Entry, at: datetime, about: ProductAsk | None = None
            ) -> Ticket:
    due = at + timedelta(hours=2 if entry.category == Category.PRE_PURCHASE else 4)
    answered = at + timedelta(minutes=rng.randrange(20, 400)) if rng.random() < 0.93 else None
    ticket = Ticket(conversation_id=conversation, question=question, language=language,
                    category=entry.category.value, reason="kb_escalate", opened_at=at, due_at=due,
                    sla_policy="demo",
                    status=TicketStatus.CLOSED if answered else TicketStatus.OPEN,
                    breached=bool(answered and answered > due), answered_at=answered,
                    answer="(demo answer)" if answered else "", answered_by="operatore@demo",
                    delivery_channel=DeliveryChannel.CHAT if answered else DeliveryChannel.PENDING,
                    delivered_at=answered,
                    product_slug=about.slug if about else "",
                    product_attribute=about.attribute if about else "")
    session.add(ticket)
    session.flush()
    return ticket
