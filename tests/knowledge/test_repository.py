from datetime import date

import pytest
from sqlalchemy import func, select

from core import session_scope
from knowledge import repository as repo
from knowledge.errors import EntryNotFound, InvalidEntry
from knowledge.models import KBChange, Status
from knowledge.repository import EntryDraft


def _changes(session):
    return session.scalar(select(func.count()).select_from(KBChange))


def test_create_makes_version_one_and_a_change(database_url):
    with session_scope(database_url) as s:
        e = repo.create_entry(EntryDraft(answer="Free over 59 EUR.",
                                         questions=("How much is shipping?",),
                                         language="en", key="en-ship", category="pre_purchase",
                                         topic="Shipping", author="alice"), session=s)
        eid = e.id
    with session_scope(database_url) as s:
        e = repo.get_entry("en-ship", session=s)
        assert e.id == eid and e.version == 1 and e.status is Status.PUBLISHED
        assert e.topic == "shipping" and e.category.value == "pre_purchase"
        assert [q.text for q in e.questions] == ["How much is shipping?"]
        versions = repo.versions_of(eid, session=s)
        assert [(v.version, v.answer, v.questions, v.changed_by) for v in versions] == [
            (1, "Free over 59 EUR.", ["How much is shipping?"], "alice")]
        assert _changes(s) == 1
        assert repo.kb_version(session=s) >= 1
        assert repo.get_entry(eid, session=s).key == "en-ship"
        assert repo.get_entry(str(eid), session=s).key == "en-ship"


def test_generated_key_is_language_prefixed(database_url):
    with session_scope(database_url) as s:
        e = repo.create_entry(EntryDraft(answer="a", questions=("Dov'è il mio ordine?",),
                                         language="it"), session=s)
        assert e.key.startswith("it-dov-e-il-mio-ordine-")


def test_update_answer_makes_version_two_keeping_history(database_url, add_entry):
    eid = add_entry("Old answer.", "Where is my order?")
    with session_scope(database_url) as s:
        e = repo.get_entry(eid, session=s)
        assert repo.update_entry(e, session=s, by="bob", reason="fix", answer="New answer.") is True
    with session_scope(database_url) as s:
        e = repo.get_entry(eid, session=s)
        assert e.version == 2 and e.answer == "New answer." and e.updated_by == "bob"
        versions = repo.versions_of(eid, session=s)
        assert [v.version for v in versions] == [1, 2]
        assert versions[0].answer == "Old answer."
        assert versions[1].answer == "New answer." and versions[1].reason == "fix"
        assert _changes(s) == 2


def test_update_with_identical_data_records_nothing(database_url, add_entry):
    eid = add_entry("Same answer.", "Where is my order?", category="post_purchase", topic="orders")
    with session_scope(database_url) as s:
        before = repo.kb_version(session=s)
        e = repo.get_entry(eid, session=s)
        changed = repo.update_entry(e, session=s, by="x", reason="noop", answer="  Same   answer. ",
                                    add_questions=("where is my order",), category="post_purchase",
                                    topic="orders", status="published")
        assert changed is False
    with session_scope(database_url) as s:
        assert repo.get_entry(eid, session=s).version == 1
        assert len(repo.versions_of(eid, session=s)) == 1
        assert repo.kb_version(session=s) == before


def test_duplicate_variants_are_stored_once(database_url):
    with session_scope(database_url) as s:
        e = repo.create_entry(EntryDraft(
            answer="a",
            questions=("How much is shipping?", "how much is shipping", "HOW MUCH IS SHIPPING!!",
                                   "  How   much is shipping? "), language="en"), session=s)
        assert [q.text for q in e.questions] == ["How much is shipping?"]
        assert repo.update_entry(e, session=s, by="x", reason="r",
                                 add_questions=("How much, is shipping?",)) is False
        assert repo.update_entry(e, session=s, by="x", reason="r",
                                 add_questions=("Shipping cost?",)) is True
        assert len(e.questions) == 2


def test_removing_last_question_raises(database_url, add_entry):
    eid = add_entry("a", "Only question?")
    with session_scope(database_url) as s:
        e = repo.get_entry(eid, session=s)
        with pytest.raises(InvalidEntry, match="at least one question"):
            repo.update_entry(e, session=s, by="x", reason="r", remove_questions=("only question",))


def test_remove_one_of_two_questions(database_url, add_entry):
    eid = add_entry("a", "First question?", "Second question?")
    with session_scope(database_url) as s:
        e = repo.get_entry(eid, session=s)
        assert repo.update_entry(e, session=s, by="x", reason="r",
                                 remove_questions=("FIRST question",))
    with session_scope(database_url) as s:
        e = repo.get_entry(eid, session=s)
        assert [q.text for q in e.questions] == ["Second question?"] and e.version == 2
        assert repo.versions_of(eid, session=s)[-1].questions == ["Second question?"]


@pytest.mark.parametrize("draft, message", [
    (EntryDraft(answer="a", questions=("q?",), language="xx"), "unknown language 'xx'"),
    (EntryDraft(answer="   ", questions=("q?",), language="en"), "the answer is empty"),
    (EntryDraft(answer="a", questions=("  ", ""), language="en"), "no questions"),
    (EntryDraft(answer="a", questions=("q?",), language=""), "language is missing"),
    (EntryDraft(answer="a", questions=("q?",), language="en", category="misc"), "unknown category"),
    (EntryDraft(answer="a", questions=("q?",), language="en", status="live"), "unknown status"),
    (EntryDraft(answer="a" * 20_001, questions=("q?",), language="en"), "longer than"),
    (EntryDraft(answer="a", questions=("q" * 1001,), language="en"), "longer than"),
])
def test_invalid_drafts_rejected_with_clear_message(database_url, draft, message):
    with session_scope(database_url) as s:
        with pytest.raises(InvalidEntry, match=message):
            repo.create_entry(draft, session=s)
    with session_scope(database_url) as s:
        assert repo.stats(session=s)["entries"] == 0


def test_update_rejects_empty_answer_and_bad_status(database_url, add_entry):
    eid = add_entry("a", "q?")
    with session_scope(database_url) as s:
        e = repo.get_entry(eid, session=s)
        with pytest.raises(InvalidEntry, match="empty"):
            repo.update_entry(e, session=s, by="x", reason="r", answer="   ")
        with pytest.raises(InvalidEntry, match="unknown status"):
            repo.update_entry(e, session=s, by="x", reason="r", status="gone")


def test_status_change_and_listing_filters(database_url, add_entry):
    a = add_entry("a", "Question A?", language="en")
    b = add_entry("b", "Domanda B?", language="it")
    with session_scope(database_url) as s:
        assert repo.update_entry(repo.get_entry(a, session=s), session=s, by="x", reason="retire",
                                 status="retired")
    with session_scope(database_url) as s:
        assert [e.id for e in repo.list_entries(session=s)] == [a, b]
        assert [e.id for e in repo.list_entries(session=s, status="published")] == [b]
        assert [e.id for e in repo.list_entries(session=s, status="retired")] == [a]
        assert [e.id for e in repo.list_entries(session=s, language="it")] == [b]
        assert [e.id for e in repo.list_entries(session=s, limit=1, offset=1)] == [b]
        assert repo.versions_of(a, session=s)[-1].status == "retired"
        variants = repo.searchable_variants(session=s)
        assert {r[1] for r in variants} == {b}


def test_get_entry_unknown(database_url):
    with session_scope(database_url) as s:
        with pytest.raises(EntryNotFound):
            repo.get_entry("no-such-key", session=s)
        with pytest.raises(EntryNotFound):
            repo.get_entry(424242, session=s)


def test_stats_and_changed_since(database_url, add_entry):
    a = add_entry("a", "q1?", language="en", category="pre_purchase", review_by=date(2000, 1, 1))
    with session_scope(database_url) as s:
        v1 = repo.kb_version(session=s)
    b = add_entry("b", "q2?", "q3?", language="it")
    with session_scope(database_url) as s:
        st = repo.stats(session=s)
        assert st["entries"] == 2 and st["questions"] == 3
        assert st["by_language"] == {"en": 1, "it": 1}
        assert st["by_category"] == {"pre_purchase": 1, "general": 1}
        assert st["by_status"] == {"published": 2}
        assert st["overdue_reviews"] == 1
        assert repo.changed_since(v1, session=s) == {b}
        assert repo.changed_since(0, session=s) == {a, b}


def test_settings_roundtrip(database_url):
    with session_scope(database_url) as s:
        assert repo.get_setting("x", session=s) is None
        repo.put_setting("x", {"a": 1}, session=s)
    with session_scope(database_url) as s:
        repo.put_setting("x", {"a": 2}, session=s)
    with session_scope(database_url) as s:
        assert repo.get_setting("x", session=s) == {"a": 2}
