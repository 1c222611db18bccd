"""Dashboard pages on a million logged interactions, on SQLite and on PostgreSQL.

A year of synthetic traffic ending today (about 250k conversations: starts, questions with
their decisions, clarify choices, thumbs, escalations with tickets, ratings, ends; 1,000,000
events in all) is written straight into the tables, with each question's dashboard labels
(stage, topic, product page, outcome) as analytics.insights would store them (embedding a
million questions is timed elsewhere: analytics_models); the finished days are then rolled
up by the product's own analytics.rollup, timed. Then every dashboard page is requested
through the real app (routing, queries and template rendering, signed in as marketing),
each `--runs` times after one warm-up; p50 and p95 per page.

  python -m benchmarks.dashboard [--events 1000000] [--runs 15] [--postgres URL]

Without --postgres only SQLite runs. Results go to benchmarks/results/dashboard.json.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
from sqlalchemy import Engine, create_engine, insert, text

from analytics.insights import text_key
from analytics.models import InteractionEvent, QuestionInsight, QuestionTopic
from analytics.period import report_zone
from analytics.rollup import roll_up
from benchmarks.analytics_models import CITIES, PRODUCTS, SIZES, TEMPLATES
from core import Settings, dispose_all, ensure_secret_key, session_scope
from escalation.models import Ticket

RESULTS = Path(__file__).resolve().parent / "results"
ROOT = Path(__file__).resolve().parent.parent
PAGES = ["product:sciarpa-merino", "product:borsa-aurora", "product:stivali", "product:cappotto",
         "product:foulard-seta", "product:cintura", "category:sciarpe", "category:borse",
         "category:scarpe", "cart", "checkout", "order:status", "account:orders", "home"]
PRE = {"shipping_cost", "delivery_time", "size", "material", "payment", "discount"}
CHUNK = 20_000


def generate(url: str, events: int, *, seed: int = 0, today: date | None = None) -> dict:
    """Write `events` interaction events (and their tickets and labels) ending `today`."""
    rng = random.Random(seed)
    today = today or datetime.now(report_zone()).date()
    start = datetime.combine(today - timedelta(days=364), datetime.min.time(), tzinfo=UTC)
    topics = list(TEMPLATES)
    engine = create_engine(url)
    with session_scope(url) as session:
        rows = [QuestionTopic(run=1, embedder="bench", keywords=[t.replace("_", " ")],
                              examples=[], size=0, centroid=b"\0" * 4, ready=True) for t in topics]
        session.add_all(rows)
        session.flush()
        topic_ids = {name: row.id for name, row in zip(topics, rows, strict=True)}
    texts = {name: [t.format(p=rng.choice(PRODUCTS), c=rng.choice(CITIES), s=rng.choice(SIZES))
                    for t in its + ens for _ in range(12)]
             for name, (its, ens) in TEMPLATES.items()}
    keys = {question: text_key(question) for questions in texts.values() for question in questions}
    traffic = _Traffic(engine, rng, topics, topic_ids, texts, keys)
    while traffic.counts["events"] < events:
        traffic.conversation(start)
    traffic.flush(final=True)
    with engine.begin() as conn:
        if url.startswith("postgresql"):  # explicit ids were written: move the sequences on
            for table in ("interaction_events", "tickets"):
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                  f"(SELECT max(id) FROM {table}))"))
        conn.execute(text("ANALYZE"))
    engine.dispose()
    return traffic.counts


@dataclass
class _Traffic:
    """The synthetic year, one conversation at a time, written in chunks of CHUNK events.
    Every draw from `rng` happens in a fixed order, so one seed gives the same rows."""

    engine: Engine
    rng: random.Random
    topics: list[str]
    topic_ids: dict[str, int]
    texts: dict[str, list[str]]
    keys: dict[str, str]
    counts: dict[str, int] = field(default_factory=lambda: {
        "events": 0, "conversations": 0, "questions": 0, "tickets": 0})
    event_rows: list[dict] = field(default_factory=list)
    label_rows: list[dict] = field(default_factory=list)
    ticket_rows: list[dict] = field(default_factory=list)
    next_id: int = 1

    def add(self, common: dict, kind: str, when: datetime, **fields) -> int:
        self.event_rows.append({**common, "id": self.next_id, "kind": kind, "occurred_at": when,
                                **fields})
        self.next_id += 1
        self.counts["events"] += 1
        return self.next_id - 1

    def flush(self, final: bool = False) -> None:
        if len(self.event_rows) >= CHUNK or (final and self.event_rows):
            with self.engine.begin() as conn:
                conn.execute(insert(InteractionEvent.__table__), self.event_rows)
                if self.label_rows:
                    conn.execute(insert(QuestionInsight.__table__), self.label_rows)
                if self.ticket_rows:
                    conn.execute(insert(Ticket.__table__), self.ticket_rows)
            self.event_rows.clear(), self.label_rows.clear(), self.ticket_rows.clear()

    def conversation(self, start: datetime) -> None:
        rng = self.rng
        # more traffic later in the year, and in the last weeks a surge of size questions
        day = int(365 * rng.random() ** 0.8)
        at = start + timedelta(days=day, hours=rng.uniform(7, 23))
        conversation = f"bench-{self.counts['conversations']:07d}"
        self.counts["conversations"] += 1
        language = "it" if rng.random() < 0.72 else "en"
        page = rng.choice(PAGES)
        channel = "socketio" if rng.random() < 0.9 else "rest"
        common = {"conversation_id": conversation, "language": language, "channel": channel,
                  "page": page, "data": {}, "text": "", "decision": "", "entry_id": None,
                  "score": None, "latency_ms": None}
        self.add(common, "conversation_start", at)
        escalated = False
        for _ in range(rng.choice((1, 1, 1, 2, 2, 3))):
            at += timedelta(seconds=rng.randrange(5, 90))
            if self.question(common, at, day):
                escalated = True
                break
        if rng.random() < 0.25:
            self.add(common, "rating", at + timedelta(seconds=40),
                     data={"rating": rng.choice((5, 5, 4, 4, 3, 2, 1) if not escalated
                                                else (4, 3, 2, 1)),
                           "comment": rng.choice(("", "", "Grazie!", "Risposta veloce",
                                                  "Non ho trovato quello che cercavo"))})
        if rng.random() < 0.4:
            self.add(common, "conversation_end", at + timedelta(seconds=45))
        self.flush()

    def question(self, common: dict, at: datetime, day: int) -> bool:
        """One question with its decision, label, clarify choice and thumbs; True when it
        was escalated (the conversation's last question then)."""
        rng = self.rng
        surge = day > 340 and rng.random() < 0.3
        topic = "size" if surge else rng.choice(self.topics)
        roll = rng.random()
        decision = "escalate" if roll < 0.15 else "clarify" if roll < 0.23 else "answer"
        entry = None if decision == "escalate" else rng.randrange(1, 200)
        question = rng.choice(self.texts[topic])
        event_id = self.add(common, "message", at, text=question, decision=decision,
                            entry_id=entry, score=round(rng.uniform(.5, 1), 3),
                            latency_ms=round(rng.uniform(3, 9), 1))
        self.counts["questions"] += 1
        kind, _, subject = common["page"].partition(":")
        stage = ("pre_purchase" if topic in PRE else "post_purchase") if rng.random() < 0.85 \
            else "other"
        helpful = rng.random() < 0.85 if decision != "escalate" and rng.random() < 0.25 \
            else None
        self.label_rows.append({
            "event_id": event_id, "occurred_at": at, "day": at.astimezone(report_zone()).date(),
            "language": common["language"], "channel": common["channel"], "decision": decision,
            "entry_id": entry, "answered": decision != "escalate",
            "escalated": decision == "escalate", "disliked": helpful is False,
            "text_key": self.keys[question], "stage": stage, "stage_confidence": 0.9,
            "topic_id": self.topic_ids[topic], "subject_kind": kind,
            "subject": subject if kind in ("product", "category") else ""})
        if decision == "clarify":
            self.add(common, "choice", at + timedelta(seconds=5), decision="answer",
                     entry_id=entry)
        if helpful is not None:
            self.add(common, "feedback", at + timedelta(seconds=20), entry_id=entry,
                     data={"helpful": helpful})
        if decision == "escalate":
            self.ticket(common, at, question)
        return decision == "escalate"

    def ticket(self, common: dict, at: datetime, question: str) -> None:
        self.counts["tickets"] += 1
        answered = at + timedelta(minutes=self.rng.randrange(15, 600)) \
            if self.rng.random() < 0.95 else None
        self.ticket_rows.append({
            "id": self.counts["tickets"], "conversation_id": common["conversation_id"],
            "question": question, "transcript": [], "language": common["language"],
            "customer_email": "", "contact_consent": False, "category": "",
            "priority": "normal", "reason": "kb_escalate", "sla_policy": "standard",
            "opened_at": at, "due_at": at + timedelta(hours=4),
            "status": "closed" if answered else "open", "answered_at": answered,
            "answer": "answer" if answered else "", "answered_by": "op@bench" if answered else "",
            "level": 0, "considered": [], "breached": False, "delivery_channel": "",
            "delivered_at": None, "learned_entry_id": None, "closed_at": answered})
        self.add(common, "escalation", at, data={"ticket_id": self.counts["tickets"],
                                                 "joined": False})


def measure(url: str, var_dir: Path, runs: int, today: date) -> dict:
    from fastapi.testclient import TestClient

    from bot.app import create_app
    from bot.console.auth import set_account, users_file
    from bot.conversation.assistant import Assistant
    from knowledge.embedders import HashingEmbedder
    from knowledge.service import KnowledgeBase

    settings = Settings(var_dir=var_dir, database_url=url, embedder="hashing",
                        index_sync_interval_s=0)
    ensure_secret_key(settings)  # as the product's start does: the console signs its cookies
    set_account(users_file(settings), "mk@bench.example", "benchmark-pass", "marketing")
    kb = KnowledgeBase(settings, HashingEmbedder())
    app = create_app(Assistant(settings, kb))
    year = f"from={today - timedelta(days=364)}&to={today}"
    quarter = f"from={today - timedelta(days=89)}&to={today}"
    with session_scope(url) as session:
        size_topic = session.execute(text("SELECT id FROM question_topics WHERE CAST(keywords AS "
                                          "TEXT) LIKE '%size%' ORDER BY id LIMIT 1")).scalar()
        deep_day, deep_id = session.execute(text(
            "SELECT day, event_id FROM question_insights ORDER BY day DESC, event_id DESC "
            "LIMIT 1 OFFSET 5000")).one()
        deep = f"{deep_day}_{deep_id}"  # a bookmark 100 pages down (analytics.dashboard)
    pages = {
        "overview, last 28 days": "/dashboard",
        "overview, whole year": f"/dashboard?{year}",
        "topics, quarter": f"/dashboard/topics?{quarter}",
        "topics, whole year": f"/dashboard/topics?{year}",
        "topic drill-down, quarter": f"/dashboard/topics/{size_topic}?{quarter}",
        "before buying, quarter": f"/dashboard/purchase?{quarter}",
        "before buying, whole year": f"/dashboard/purchase?{year}",
        "satisfaction and gaps, quarter": f"/dashboard/quality?{quarter}",
        "satisfaction and gaps, whole year": f"/dashboard/quality?{year}",
        "questions, page 1, year": f"/dashboard/questions?{year}",
        "questions, page 100, year": f"/dashboard/questions?{year}&before={deep}",
    }
    out = {}
    with TestClient(app) as client:
        login = client.get("/console/login").text
        token = login.split('name="csrf_token" value="')[1].split('"')[0]
        client.post("/console/login", data={"email": "mk@bench.example",
                                             "password": "benchmark-pass", "csrf_token": token})
        for name, path in pages.items():
            assert client.get(path).status_code == 200, path  # warm-up
            times = []
            for _ in range(runs):
                began = time.perf_counter()
                response = client.get(path)
                times.append((time.perf_counter() - began) * 1000)
                assert response.status_code == 200, (path, response.status_code)
            out[name] = {"p50_ms": round(float(np.median(times)), 1),
                         "p95_ms": round(float(np.percentile(times, 95)), 1),
                         "max_ms": round(max(times), 1)}
            print(f"  {name}: {out[name]}", flush=True)
    kb.close()
    return out


def run_backend(url: str, events: int, runs: int, var_dir: Path) -> dict:
    from migrations import upgrade

    upgrade(url)
    today = datetime.now(report_zone()).date()
    began = time.perf_counter()
    counts = generate(url, events, today=today)
    generated_s = round(time.perf_counter() - began, 1)
    print(f"{url.split(':')[0]}: {counts} written in {generated_s} s", flush=True)
    began = time.perf_counter()
    with session_scope(url) as session:  # what the running product's refresher does
        days = roll_up(session, now=datetime.now(UTC))
    rolled_s = round(time.perf_counter() - began, 1)
    print(f"  {days} finished days rolled up in {rolled_s} s", flush=True)
    pages = measure(url, var_dir, runs, today)
    dispose_all()
    return {"data": counts, "generate_s": generated_s, "days_rolled_up": days,
            "roll_up_s": rolled_s, "pages": pages}


def _reset_postgres(url: str) -> None:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--postgres", default="", help="a database URL whose schema may be "
                        "dropped (everything in it is deleted)")
    args = parser.parse_args()
    result = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        result["sqlite"] = run_backend(f"sqlite:///{work / 'bench.db'}", args.events, args.runs,
                                       work)
        if args.postgres:
            _reset_postgres(args.postgres)
            result["postgresql"] = run_backend(args.postgres, args.events, args.runs, work)
    from benchmarks.run import machine

    record = {"date": date.today().isoformat(), "machine": machine(),
              "command": f"python -m benchmarks.dashboard --events {args.events} --runs {args.runs}"
                         + (" --postgres URL" if args.postgres else ""),
              "commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                                       capture_output=True, text=True).stdout.strip(),
              "result": result}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "dashboard.json").write_text(json.dumps(record, indent=2))
    print(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
