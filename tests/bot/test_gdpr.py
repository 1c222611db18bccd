"""Export and erasure of one customer's data, and retention, on real databases."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine, select, text

from analytics.models import InteractionEvent, QuestionInsight, QuestionTopic
from bot.conversation.rasa_tracker import TrackerStore
from bot.gdpr import (
    ERASED,
    UnknownCustomer,
    erase_customer,
    export_customer,
    find_customer,
    purge_before,
)
from core import Settings, session_scope, utcnow
from escalation.models import OutboxMessage, Ticket
from knowledge import repository as repo
from knowledge.models import CandidateVariant, CandidateVote
from tests.bot.test_cli_report import run
from tests.conftest import PG_URL


def event(session, conversation: str, text: str, at: datetime | None = None) -> None:
    """A question, labelled for the dashboard as analytics.insights would."""
    logged = InteractionEvent(kind="message", conversation_id=conversation, text=text,
                              occurred_at=at or utcnow())
    session.add(logged)
    session.flush()
    session.add(QuestionInsight(event_id=logged.id, occurred_at=logged.occurred_at,
                                day=logged.occurred_at.date(), stage="other",
                                stage_confidence=1.0))


def labelled(session) -> list[int]:
    return sorted(session.scalars(select(QuestionInsight.event_id)))


@pytest.fixture
def stored(database_url, add_entry):
    now = utcnow()
    with session_scope(database_url) as session:
        for conversation, email in (("conv-anna", "anna@example.com"), ("conv-bob", "")):
            event(session, conversation, f"question of {conversation}")
            ticket = Ticket(conversation_id=conversation, question=f"help {conversation}",
                            transcript=[{"role": "customer", "text": "hi"}], language="it",
                            customer_email=email, contact_consent=bool(email), opened_at=now,
                            due_at=now, answer="an answer")
            session.add(ticket)
            session.flush()
            session.add(OutboxMessage(dedupe_key=f"answer-{ticket.id}", kind="answer",
                                      ticket_id=ticket.id, to_addrs=[email or "x@y.z"],
                                      subject="Re", text_body="an answer",
                                      message_id=f"<{ticket.id}@x>"))
        anna = session.query(Ticket).filter_by(conversation_id="conv-anna").one().id
    add_entry("Learned answer.", "A learned question?", key="learned", source="operator",
              ticket_id=anna)
    return database_url, anna


# Rasa 3.6's SQLTrackerStore creates exactly this on SQLite (its SQLEvent model).
RASA_EVENTS_DDL = """
CREATE TABLE events (
    id INTEGER NOT NULL, sender_id VARCHAR(255) NOT NULL, type_name VARCHAR(255) NOT NULL,
    timestamp FLOAT, intent_name VARCHAR(255), action_name VARCHAR(255), data TEXT,
    PRIMARY KEY (id));
CREATE INDEX ix_events_sender_id ON events (sender_id);
"""
TRACKER_AT = datetime(2026, 11, 20, 10, 0, tzinfo=UTC).timestamp()


def write_tracker(path, rows) -> TrackerStore:
    """rows: (sender, type_name, seconds after TRACKER_AT, intent, action, data)."""
    with sqlite3.connect(path) as db:
        db.executescript(RASA_EVENTS_DDL)
        db.executemany(
            "INSERT INTO events (sender_id, type_name, timestamp, intent_name, action_name, data)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [(sender, kind, TRACKER_AT + offset, intent, action, json.dumps(data))
             for sender, kind, offset, intent, action, data in rows])
    db.close()
    return TrackerStore(path)


@pytest.fixture
def tracker(tmp_path):
    """Rasa's own copy: Anna's conversation (3 events), Bob's (2), one from 2020."""
    return write_tracker(tmp_path / "rasa-tracker.db", [
        ("conv-anna", "action", 0, None, "action_session_start",
         {"event": "action", "name": "action_session_start"}),
        ("conv-bob", "action", 0.5, None, "action_session_start",
         {"event": "action", "name": "action_session_start"}),
        ("conv-anna", "user", 1, "ask_question", None,
         {"event": "user", "text": "Sono Anna, spedite in Svizzera?"}),
        ("conv-bob", "user", 2, "greet", None, {"event": "user", "text": "ciao"}),
        ("conv-anna", "bot", 3, None, None, {"event": "bot", "text": "Sì, in 5 giorni."}),
        ("old-conv", "user", datetime(2020, 1, 1, tzinfo=UTC).timestamp() - TRACKER_AT, "greet",
         None, {"event": "user", "text": "old"}),
    ])


def tracker_rows(store: TrackerStore) -> list[tuple[str, str]]:
    with sqlite3.connect(store.path) as db:
        rows = db.execute("SELECT sender_id, type_name FROM events ORDER BY sender_id, id"
                          ).fetchall()
    db.close()
    return rows


def test_a_customer_is_found_by_email_or_conversation(stored):
    url, anna = stored
    with session_scope(url) as session:
        by_email = find_customer("ANNA@example.com", session=session)
        assert by_email.conversations == ("conv-anna",) and by_email.ticket_ids == (anna,)
        assert find_customer("conv-anna", session=session) == by_email
        for unknown in ("nobody@example.com", "conv-nobody", "", "x" * 400):
            with pytest.raises(UnknownCustomer):
                find_customer(unknown, session=session)


def test_export_holds_everything_about_the_customer_and_nothing_else(stored, tracker):
    url, anna = stored
    with session_scope(url) as session:
        data = export_customer(find_customer("conv-anna", session=session), session=session,
                               tracker=tracker)
    assert [i["text"] for i in data["interactions"]] == ["question of conv-anna"]
    assert [(t["id"], t["email"]) for t in data["tickets"]] == [(anna, "anna@example.com")]
    assert [(e["type"], e["intent"], e["action"]) for e in data["rasa_tracker_events"]] == [
        ("action", None, "action_session_start"), ("user", "ask_question", None),
        ("bot", None, None)]
    assert data["rasa_tracker_events"][1]["data"]["text"] == "Sono Anna, spedite in Svizzera?"
    assert data["rasa_tracker_events"][1]["at"] == "2026-11-20T10:00:01+00:00"
    assert "rasa_tracker" not in data and "conv-bob" not in json.dumps(data)


def test_erase_removes_the_customer_and_keeps_everyone_else(stored, tracker):
    url, anna = stored
    with session_scope(url) as session:  # a topic shows Anna's question as an example
        session.add(QuestionTopic(run=1, embedder="e", keywords=["question"], size=2,
                                  examples=["question of conv-anna", "question of conv-bob"],
                                  name="question of conv-anna",  # named by her question too
                                  centroid=b"\0" * 4, ready=True))
        # Candidate questions from clarify picks: one only Anna voted for, one Bob voted too.
        learned = repo.get_entry("learned", session=session).id
        hers, shared = (CandidateVariant(entry_id=learned, question=q, fingerprint=q,
                                         language="it") for q in ("sua", "comune"))
        session.add_all([hers, shared])
        session.flush()
        session.add_all([CandidateVote(candidate_id=hers.id, conversation_id="conv-anna",
                                       kind="confirm"),
                         CandidateVote(candidate_id=shared.id, conversation_id="conv-anna",
                                       kind="confirm"),
                         CandidateVote(candidate_id=shared.id, conversation_id="conv-bob",
                                       kind="confirm")])
    with session_scope(url) as session:
        result = erase_customer(find_customer("anna@example.com", session=session), session=session,
                                by="dpo@shop.example", tracker=tracker)
    assert result == {"interactions_deleted": 1, "question_labels_deleted": 1,
                      "topic_examples_removed": 1, "tickets_blanked": 1,
                      "mails_deleted": 1, "inbound_mails_blanked": 0,
                      "entries_unlinked": 1, "candidate_questions_deleted": 1,
                      "rasa_tracker_events_deleted": 3}
    with session_scope(url) as session:
        assert [c.question for c in session.query(CandidateVariant)] == ["comune"]
        assert [v.conversation_id for v in session.query(CandidateVote)] == ["conv-bob"]
    assert tracker_rows(tracker) == [("conv-bob", "action"), ("conv-bob", "user"),
                                     ("old-conv", "user")]
    with session_scope(url) as session:
        assert [e.conversation_id for e in session.query(InteractionEvent)] == ["conv-bob"]
        assert labelled(session) == [e.id for e in session.query(InteractionEvent)]
        topic = session.query(QuestionTopic).one()
        assert topic.examples == ["question of conv-bob"] and topic.name == ""
        ticket = session.get(Ticket, anna)
        assert (ticket.question, ticket.transcript, ticket.customer_email) == (ERASED, [], "")
        assert ticket.events[-1].kind == "customer_erased"
        assert session.query(OutboxMessage).count() == 1
        entry = repo.get_entry("learned", session=session)
        assert entry.ticket_id is None and entry.answer == "Learned answer."
        with pytest.raises(UnknownCustomer):
            find_customer("anna@example.com", session=session)


def test_a_conversation_only_rasa_remembers_is_found_and_erased(database_url, tracker):
    with session_scope(database_url) as session:
        with pytest.raises(UnknownCustomer):
            find_customer("old-conv", session=session)  # without the tracker store
        found = find_customer("old-conv", session=session, tracker=tracker)
        assert found.conversations == ("old-conv",) and found.ticket_ids == ()
        result = erase_customer(found, session=session, by="dpo", tracker=tracker)
    assert result["rasa_tracker_events_deleted"] == 1 and result["interactions_deleted"] == 0
    assert ("old-conv", "user") not in tracker_rows(tracker)


def test_a_missing_tracker_store_is_said_not_an_error(stored, tmp_path):
    url, _ = stored
    nothing = TrackerStore(tmp_path / "no-such-dir" / "rasa-tracker.db")
    with session_scope(url) as session:
        customer = find_customer("conv-anna", session=session, tracker=nothing)
        data = export_customer(customer, session=session, tracker=nothing)
        result = erase_customer(customer, session=session, by="dpo", tracker=nothing)
    assert data["rasa_tracker_events"] == [] and "no Rasa tracker store" in data["rasa_tracker"]
    assert result["rasa_tracker_events_deleted"] == 0
    assert result["rasa_tracker"] == f"no Rasa tracker store at {nothing.path}"
    assert not nothing.path.parent.exists()  # looking did not create it
    assert nothing.purge_before(utcnow()) == 0
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).close()
    assert "no events table" in TrackerStore(empty).missing


def test_tracker_retention_by_age(tracker):
    cutoff = datetime(2026, 11, 20, 10, 0, 1, tzinfo=UTC)  # one second after the first events
    assert tracker.purge_before(datetime(2020, 1, 1, tzinfo=UTC)) == 0  # not older than itself
    assert tracker.purge_before(datetime(2021, 1, 1, tzinfo=UTC)) == 1  # the 2020 one
    assert tracker.purge_before(cutoff) == 2
    assert tracker_rows(tracker) == [("conv-anna", "user"), ("conv-anna", "bot"),
                                     ("conv-bob", "user")]


def test_retention_purges_only_old_events(database_url):
    with session_scope(database_url) as session:
        event(session, "old", "old", datetime(2020, 1, 1, tzinfo=UTC))
        event(session, "new", "new")
    with session_scope(database_url) as session:
        purged = purge_before(utcnow() - timedelta(days=730), session=session)
        assert (purged.interaction_events, purged.candidate_votes) == (1, 0)
        assert [e.conversation_id for e in session.query(InteractionEvent)] == ["new"]
        assert labelled(session) == [e.id for e in session.query(InteractionEvent)]


@pytest.fixture
def rasa_store_of(tracker):
    """Rasa's events where `supportbot run` puts them for a database: on SQLite the tracker
    file in the var dir (the `tracker` fixture's), on PostgreSQL the schema `rasa`."""
    made = []

    def place(url: str) -> None:
        if not url.startswith("postgresql"):
            return
        with sqlite3.connect(tracker.path) as db:
            rows = db.execute("SELECT sender_id, type_name, timestamp, intent_name, "
                              "action_name, data FROM events ORDER BY id").fetchall()
        db.close()
        engine = create_engine(url, isolation_level="AUTOCOMMIT")
        made.append(engine)
        with engine.connect() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS rasa CASCADE"))
            conn.execute(text("CREATE SCHEMA rasa"))
            conn.execute(text(RASA_EVENTS_DDL.replace("events", "rasa.events").replace(
                "id INTEGER NOT NULL", "id SERIAL NOT NULL").replace(
                "ix_rasa.events_sender_id", "ix_events_sender_id")))
            for row in rows:
                conn.execute(text(
                    "INSERT INTO rasa.events (sender_id, type_name, timestamp, intent_name,"
                    " action_name, data) VALUES (:s, :t, :ts, :i, :a, :d)"),
                    dict(zip(("s", "t", "ts", "i", "a", "d"), row, strict=True)))

    yield place
    for engine in made:
        with engine.connect() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS rasa CASCADE"))
        engine.dispose()


def test_the_cli_confirms_and_answers_clearly(stored, rasa_store_of, tmp_path):
    url, _ = stored  # the tracker store lies where `supportbot run` puts it for this database
    rasa_store_of(url)
    refused = run(tmp_path, url, "gdpr", "erase", "anna@example.com")
    assert refused.returncode == 2 and "--yes" in refused.stderr
    unknown = run(tmp_path, url, "gdpr", "erase", "nobody@example.com", "--yes")
    assert unknown.returncode == 2 and "nothing is stored" in unknown.stderr
    exported = json.loads(run(tmp_path, url, "gdpr", "export", "conv-anna").stdout)
    assert exported["conversations"] == ["conv-anna"] and len(exported["rasa_tracker_events"]) == 3
    erased = run(tmp_path, url, "gdpr", "erase", "anna@example.com", "--yes")
    assert erased.returncode == 0, erased.stderr
    assert json.loads(erased.stdout)["interactions_deleted"] == 1
    assert json.loads(erased.stdout)["rasa_tracker_events_deleted"] == 3
    purged = run(tmp_path, url, "gdpr", "purge")
    assert purged.returncode == 0 and "0 interaction events" in purged.stdout
    assert "1 Rasa tracker events older than 24 months deleted" in purged.stdout  # the 2020 one
    store = TrackerStore.of(Settings(var_dir=tmp_path, database_url=url))
    left = store.events_of(["conv-anna", "conv-bob", "old-conv"])
    assert [(e["conversation"], e["type"]) for e in left] == [("conv-bob", "action"),
                                                              ("conv-bob", "user")]
    assert run(tmp_path, url, "gdpr", "purge", "--months", "0").returncode == 2
    if not store.url:  # a var dir without Rasa's file: said, not an error
        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir()
        purged = run(elsewhere, url, "gdpr", "purge")
        assert purged.returncode == 0 and "no Rasa tracker store at" in purged.stdout


# -- every store --------------------------------------------------------------------------
CARLA, CARLA_PHONE = "carla.neri@example.com", "347 765 4321"
DARIO, DARIO_PHONE = "dario@example.net", "333 999 8888"


def test_every_table_with_text_is_classified():
    """A new table with text must be added to PERSONAL_TABLES (and erased) or to
    OTHER_TABLES (with the reason it holds nothing of a customer's)."""
    from sqlalchemy import JSON, String, Text

    import bot.app  # noqa: F401  (every model registered)
    from bot.gdpr import OTHER_TABLES, PERSONAL_TABLES
    from core import Base

    with_text = {table.name for table in Base.metadata.sorted_tables
                 if any(isinstance(c.type, String | Text | JSON) for c in table.columns)}
    classified = set(PERSONAL_TABLES) | set(OTHER_TABLES)
    assert not set(PERSONAL_TABLES) & set(OTHER_TABLES)
    assert with_text - classified == set(), "classify these tables in bot/gdpr.py"
    assert classified - set(Base.metadata.tables) == set(), "no such tables any more"


def _customer_everywhere(settings, email: str, phone: str, conversation: str) -> int:
    """The customer's data in every store, written by the product's own code where it has
    one: a ticket that notifies the operators (outbox), the answer mailed to them, a
    reply to the ticket and a mail they sent the support address themselves (inbound
    rows and raw files), the sink's copies of sent mail, Rasa's tracker, the log."""
    from email.message import EmailMessage

    from escalation.inbound import receive
    from escalation.mail_out import enqueue_customer_answer, enqueue_ticket_mail
    from escalation.models import InboundMessage
    from escalation.tickets import TicketRequest, open_ticket
    from tests.bot.console_fixtures import SLA

    question = f"Sono Carla, il mio numero è {phone}: dov'è l'ordine? Scrivete a {email}"
    with session_scope(settings.resolved_database_url) as session:
        event(session, conversation, question)
        info = open_ticket(
            TicketRequest(conversation_id=conversation, question=question, language="it",
                          reason="kb_escalate", transcript=(("customer", question),),
                          customer_email=email, contact_consent=True),
            session=session, sla=SLA, now=utcnow(),
            notify=lambda ticket, kind, to, s: enqueue_ticket_mail(
                ticket, kind, to, session=s, settings=settings, now=utcnow()))
        ticket = session.get(Ticket, info.id)
        ticket.answer = f"Gentile Carla, la richiamiamo al {phone}."
        enqueue_customer_answer(ticket, ticket.answer, session=session, settings=settings,
                                now=utcnow())
        reply = InboundMessage(message_id=f"<reply-{info.id}@op>", source="smtp",
                               from_addr="op@shop.example", subject=f"Re: {question[:60]}",
                               ticket_id=info.id, status="accepted",
                               answer_text=f"La richiamiamo al {phone}.")
        session.add(reply)
        session.flush()
        raw_reply = settings.var_dir / "mail" / "inbound" / f"{reply.id}.eml"
        raw_reply.parent.mkdir(parents=True, exist_ok=True)
        raw_reply.write_bytes(f"Subject: Re\n\nLa richiamiamo al {phone}.\n".encode())
        reply.raw_path = str(raw_reply)
        own = EmailMessage()  # the customer writes to the support address themselves
        own["From"], own["To"], own["Subject"] = email, "assistenza@shop.example", "Ordine"
        own["Message-ID"] = f"<own-{info.id}@example.com>"
        own.set_content(f"Richiamatemi al {phone}, grazie.", cte="base64")
        receive(own.as_bytes(), source="smtp", session=session, settings=settings,
                now=utcnow())
        sent = list(session.scalars(select(OutboxMessage).where(
            OutboxMessage.ticket_id == info.id)))
    _sink_copies(settings, sent)
    return info.id


def _sink_copies(settings, rows) -> None:
    """The local sink's Maildir, filed by its own handler as `supportbot run` delivers."""
    import asyncio
    from email.message import EmailMessage

    from aiosmtpd.smtp import Envelope

    from escalation.mail_sink import MaildirHandler, sink_dir

    handler = MaildirHandler(sink_dir(settings))
    for row in rows:
        message = EmailMessage()
        message["Subject"], message["To"] = row.subject, ", ".join(row.to_addrs)
        message["From"], message["Message-ID"] = "bot@shop.example", row.message_id
        message.set_content(row.text_body, cte="quoted-printable")
        envelope = Envelope()
        envelope.mail_from, envelope.rcpt_tos = "bot@shop.example", list(row.to_addrs)
        envelope.content = message.as_bytes()
        asyncio.run(handler.handle_DATA(None, None, envelope))


def _traces(root, *needles: str) -> list[str]:
    """Files under `root` whose bytes hold any of the needles."""
    found = []
    for path in sorted(root.rglob("*")):
        if path.is_file():
            data = path.read_bytes().lower()
            found += [f"{path.relative_to(root)}: {n}" for n in needles
                      if n.lower().encode() in data]
    return found


def _rows_mentioning(url, *needles: str) -> list[str]:
    """Every text column of every table, searched for the needles."""
    from sqlalchemy import inspect, text

    from core import get_engine

    found = []
    engine = get_engine(url)
    with engine.connect() as connection:
        for table in inspect(engine).get_table_names():
            for row in connection.execute(text(f'SELECT * FROM "{table}"')):
                flat = " ".join(str(value) for value in row).lower()
                found += [f"{table}: {n}" for n in needles if n.lower() in flat]
    return found


def test_erase_leaves_no_copy_in_any_table_or_file(settings):
    from bot.conversation.rasa_runtime import tracker_db_path
    from bot.gdpr import VAR_STORES, wipe_deleted
    from core import dispose_all

    url = settings.resolved_database_url
    carla = _customer_everywhere(settings, CARLA, CARLA_PHONE, "conv-carla")
    _customer_everywhere(settings, DARIO, DARIO_PHONE, "conv-dario")
    tracker = write_tracker(tracker_db_path(settings), [
        ("conv-carla", "user", 1, "ask", None, {"event": "user", "text": f"mail {CARLA}"}),
        ("conv-dario", "user", 2, "ask", None, {"event": "user", "text": f"mail {DARIO}"})])
    needles = (CARLA, CARLA_PHONE, CARLA_PHONE.replace(" ", ""))
    assert _rows_mentioning(url, *needles) and _traces(settings.var_dir, CARLA)  # all seeded
    with session_scope(url) as session:
        result = erase_customer(find_customer(CARLA, session=session, tracker=tracker),
                                session=session, by="dpo", tracker=tracker,
                                var_dir=settings.var_dir)
    wipe_deleted(url)
    dispose_all()
    assert result["mails_deleted"] == 2 and result["inbound_mails_blanked"] == 2
    assert result["inbound_files_deleted"] == 2 and result["sink_mails_deleted"] == 2
    assert _rows_mentioning(url, *needles) == []
    assert _traces(settings.var_dir, *needles) == []  # the .db, -wal, .eml and Maildir files
    # Dario, who asked for nothing, is all still there.
    assert _rows_mentioning(url, DARIO) and _traces(settings.var_dir / "mail", DARIO)
    assert len(list((settings.var_dir / "mail" / "sink" / "new").iterdir())) == 2
    with session_scope(url) as session:
        assert session.get(Ticket, carla).customer_email == ""
    top = {p.name for p in settings.var_dir.iterdir()} - {"test.db", "test.db-wal", "test.db-shm"}
    assert top <= {name.split("/")[0] for name in VAR_STORES}, "classify in bot/gdpr.py"


@pytest.mark.skipif(not PG_URL, reason="needs SUPPORTBOT_TEST_DATABASE_URL (PostgreSQL)")
def test_erasure_reaches_rasas_tracker_in_its_postgresql_schema(tmp_path):
    """With several Rasa processes the tracker lives in the schema `rasa` of the product's
    PostgreSQL database (bot.conversation.rasa_stores): export, erasure and retention must reach
    it there, not look for a SQLite file that does not exist and report nothing to erase."""
    engine = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS rasa CASCADE"))
        conn.execute(text("CREATE SCHEMA rasa"))
        conn.execute(text(
            "CREATE TABLE rasa.events (id SERIAL PRIMARY KEY, sender_id VARCHAR(255) NOT NULL,"
            " type_name VARCHAR(255) NOT NULL, timestamp FLOAT, intent_name VARCHAR(255),"
            " action_name VARCHAR(255), data TEXT)"))
        conn.execute(text(
            "INSERT INTO rasa.events (sender_id, type_name, timestamp, data) VALUES"
            " ('conv-anna', 'user', 1.0, '{\"text\": \"Sono Anna\"}'),"
            " ('conv-bob', 'user', 2.0, '{\"text\": \"ciao\"}')"))
    try:
        store = TrackerStore.of(Settings(var_dir=tmp_path, database_url=PG_URL))
        assert store.url and store.missing == ""
        assert [e["data"]["text"] for e in store.events_of(["conv-anna"])] == ["Sono Anna"]
        assert store.has_sender("conv-bob")
        assert store.erase(["conv-anna"]) == 1
        assert store.purge_before(datetime(1970, 1, 1, 0, 0, 1, 500000, tzinfo=UTC)) == 0
        with engine.connect() as conn:
            assert conn.execute(text("SELECT sender_id FROM rasa.events")).scalars().all() == [
                "conv-bob"]
    finally:
        with engine.connect() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS rasa CASCADE"))
        engine.dispose()
