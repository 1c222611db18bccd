"""The functions the knowledge base exports for GDPR erasure (`knowledge.gdpr`, called by
`bot.gdpr` inside its one transaction): the columns they touch exist, and they unlink
learned entries and forget candidate votes on a real, migrated database."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from core import session_scope
from knowledge import gdpr
from knowledge.models import CandidateStatus, CandidateVariant, CandidateVote, Entry

READS = {Entry: {"ticket_id", "source_ref"},
         CandidateVote: {"candidate_id", "conversation_id", "seen_at"},
         CandidateVariant: {"id", "status", "last_seen"}}
CUTOFF = datetime(2024, 1, 1, tzinfo=UTC)


def test_the_columns_the_functions_touch_exist():
    for model, columns in READS.items():
        assert columns <= set(model.__table__.c.keys()), model.__tablename__


def test_entries_unlinked_on_a_real_database(database_url):
    with session_scope(database_url) as session:
        session.add_all([Entry(key="learned", answer="Sì", language="it", ticket_id=7,
                               source_ref="ticket 7"),
                         Entry(key="other", answer="No", language="it", ticket_id=8,
                               source_ref="ticket 8")])
    with session_scope(database_url) as session:
        assert gdpr.unlink_entries([7], placeholder="[gone]", session=session) == 1
    with session_scope(database_url) as session:
        rows = {e.key: (e.ticket_id, e.source_ref) for e in session.scalars(select(Entry))}
    assert rows == {"learned": (None, "[gone]"), "other": (8, "ticket 8")}


def _candidate(session, entry_id: int, question: str, status=CandidateStatus.PENDING) -> int:
    candidate = CandidateVariant(entry_id=entry_id, question=question, fingerprint=question,
                                 language="it", status=status)
    session.add(candidate)
    session.flush()
    return candidate.id


def test_candidate_votes_forgotten_on_a_real_database(database_url):
    with session_scope(database_url) as session:
        entry = Entry(key="shipping", answer="Sì", language="it")
        session.add(entry)
        session.flush()
        alone = _candidate(session, entry.id, "solo loro")
        shared = _candidate(session, entry.id, "anche altri")
        published = _candidate(session, entry.id, "pubblicata", CandidateStatus.PUBLISHED)
        session.add_all([
            CandidateVote(candidate_id=alone, conversation_id="c1", kind="confirm"),
            CandidateVote(candidate_id=shared, conversation_id="c1", kind="confirm"),
            CandidateVote(candidate_id=shared, conversation_id="c2", kind="deny"),
            CandidateVote(candidate_id=published, conversation_id="c1", kind="confirm"),
        ])
    with session_scope(database_url) as session:
        assert gdpr.forget_candidate_votes(["c1"], session=session) == 1
    with session_scope(database_url) as session:
        assert set(session.scalars(select(CandidateVariant.id))) == {shared, published}
        assert session.scalars(select(CandidateVote.conversation_id)).all() == ["c2"]


def test_retention_forgets_old_votes_and_stale_pending_questions(database_url):
    old, recent = datetime(2020, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC)
    with session_scope(database_url) as session:
        entry = Entry(key="shipping", answer="Sì", language="it")
        session.add(entry)
        session.flush()
        stale = _candidate(session, entry.id, "vecchia")
        alive = _candidate(session, entry.id, "ancora chiesta")
        published = _candidate(session, entry.id, "pubblicata", CandidateStatus.PUBLISHED)
        rejected = _candidate(session, entry.id, "rifiutata", CandidateStatus.REJECTED)
        for candidate, at in ((stale, old), (alive, recent), (published, old),
                              (rejected, old)):
            session.get(CandidateVariant, candidate).last_seen = at
        session.add_all([
            CandidateVote(candidate_id=stale, conversation_id="c1", kind="confirm", seen_at=old),
            CandidateVote(candidate_id=alive, conversation_id="c1", kind="confirm", seen_at=old),
            CandidateVote(candidate_id=alive, conversation_id="c2", kind="confirm",
                          seen_at=recent),
            CandidateVote(candidate_id=published, conversation_id="c3", kind="confirm",
                          seen_at=old),
        ])
    with session_scope(database_url) as session:
        purged = gdpr.purge_candidates_before(CUTOFF, session=session)
    assert (purged.votes, purged.questions) == (3, 1)
    with session_scope(database_url) as session:
        # the operator's decisions and the KB's own questions stay; the customers' words go
        assert set(session.scalars(select(CandidateVariant.id))) == {alive, published, rejected}
        assert session.scalars(select(CandidateVote.conversation_id)).all() == ["c2"]
