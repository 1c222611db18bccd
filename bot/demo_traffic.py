"""A simulated quarter of traffic for the demo shop, so a new user sees living figures:
conversations in Italian and English on product pages, the cart and order pages; FAQ
questions answered (some clarified, some thumbed), unknown ones escalated to tickets that
operators answer within or after the SLA. Deterministic for a given seed."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from analytics.models import EventKind, InteractionEvent
from escalation.models import Ticket
from knowledge.models import Entry, Status

PAGES = {"pre_purchase": ["product:sciarpa-merino", "product:borsa-aurora", "product:stivali",
                          "category:sciarpe", "cart"],
         "post_purchase": ["order:status", "account:orders", "home"], "general": ["home", "contatti"]}
UNKNOWN = {"it": ["Posso portare il cane in negozio?", "Fate corsi di cucito?",
                  "Avete la sciarpa in verde petrolio?", "Spedite alle Canarie?",
                  "Posso pagare con buoni pasto?", "La borsa entra un portatile da 15 pollici?"],
           "en": ["Do you ship to the Canary Islands?", "Can I rent a dress?",
                  "Is the Aurora bag big enough for a 15 inch laptop?", "Do you sell gift boxes?"]}


def simulate(session: Session, *, days: int = 90, per_day: int = 60, seed: int = 1,
             end: datetime | None = None) -> dict:
    """Insert `days` of traffic ending at `end`; returns what was written."""
    rng = random.Random(seed)
    entries = [e for e in session.query(Entry).filter(Entry.status == Status.PUBLISHED)]
    if not entries:
        raise ValueError("the knowledge base is empty: import data/demo_kb.yaml first")
    end = (end or datetime.now(UTC)).replace(minute=0, second=0, microsecond=0)
    counts = {"conversations": 0, "questions": 0, "tickets": 0}
    for day in range(days):
        date = end - timedelta(days=days - day)
        volume = per_day * (0.7 if date.weekday() >= 5 else 1.0) * (0.8 + 0.4 * day / days)
        for _ in range(int(rng.gauss(volume, volume * 0.15))):
            at = date + timedelta(hours=rng.choice(range(8, 23)), minutes=rng.randrange(60))
            _conversation(session, rng, entries, at, counts)
    session.flush()
    return counts


def _conversation(session: Session, rng: random.Random, entries: list[Entry], at: datetime,
                  counts: dict) -> None:
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
    for turn in range(rng.choice((1, 1, 1, 2, 2, 3))):
        at += timedelta(seconds=rng.randrange(10, 90))
        entry = first if turn == 0 else rng.choice(pool)
        roll = rng.random()
        counts["questions"] += 1
        if roll < 0.16:  # the KB has no answer: a person takes over
            question = rng.choice(UNKNOWN[language])
            events.append(InteractionEvent(kind=EventKind.MESSAGE, occurred_at=at, text=question,
                                           decision="escalate", score=round(rng.uniform(.4, .7), 3),
                                           latency_ms=round(rng.uniform(4, 12), 1), **common))
            ticket = _ticket(session, rng, conversation, question, language, entry, at)
            events.append(InteractionEvent(kind=EventKind.ESCALATION, occurred_at=at,
                                           data={"ticket_id": ticket.id, "joined": False}, **common))
            counts["tickets"] += 1
            break
        decision = "clarify" if roll < 0.24 else "answer"
        events.append(InteractionEvent(
            kind=EventKind.MESSAGE, occurred_at=at, text=rng.choice(entry.questions).text,
            decision=decision, entry_id=entry.id, score=round(rng.uniform(.78, 1.1), 3),
            latency_ms=round(rng.uniform(3, 10), 1), **common))
        if decision == "clarify":
            events.append(InteractionEvent(kind=EventKind.CHOICE, decision="answer", entry_id=entry.id,
                                           occurred_at=at + timedelta(seconds=8), **common))
        if rng.random() < 0.3:
            events.append(InteractionEvent(kind=EventKind.FEEDBACK, entry_id=entry.id,
                                           occurred_at=at + timedelta(seconds=20),
                                           data={"helpful": rng.random() < 0.86}, **common))
    session.add_all(events)


def _ticket(session: Session, rng: random.Random, conversation: str, question: str,
            language: str, entry: Entry, at: datetime) -> Ticket:
    due = at + timedelta(hours=2 if entry.category.value == "pre_purchase" else 4)
    answered = at + timedelta(minutes=rng.randrange(20, 400)) if rng.random() < 0.93 else None
    ticket = Ticket(conversation_id=conversation, question=question, language=language,
                    category=entry.category.value, reason="kb_escalate", opened_at=at, due_at=due,
                    sla_policy="demo", status="closed" if answered else "open",
                    breached=bool(answered and answered > due), answered_at=answered,
                    answer="(demo answer)" if answered else "", answered_by="operatore@demo",
                    delivery_channel="chat" if answered else "", delivered_at=answered)
    session.add(ticket)
    session.flush()
    return ticket
