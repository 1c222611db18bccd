"""The quality page's "L'apprendimento rende?" section: the learning curve by week, its
partial weeks, and an empty state that says why it is empty."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from analytics.models import EventKind, InteractionEvent
from bot.console.auth import set_account, users_file
from core import session_scope
from knowledge.models import Entry, Source

MARKETING, PASSWORD = "mk@shop.example", "marketing password"
LEARNED_AT = datetime(2026, 10, 21, 10, 0, tzinfo=UTC)  # Wednesday of 2026-W43
ROW = re.compile(r'<tr data-week="(?P<week>[^"]+)"(?P<partial> data-partial="1")?>'
                 r'(?P<cells>.*?)</tr>', re.S)


@pytest.fixture
def marketing(console):
    set_account(users_file(console.settings), MARKETING, PASSWORD, "marketing")
    assert console.login(MARKETING, PASSWORD).status_code == 303
    return console


def _learned_entry(url: str) -> int:
    with session_scope(url) as session:
        entry = Entry(key="it-reso-appreso", answer="Il reso è gratuito.", language="it",
                      source=Source.OPERATOR, created_at=LEARNED_AT)
        session.add(entry)
        session.flush()
        return entry.id


def _ask(session, conversation: str, at: datetime, decision: str, entry: int | None) -> None:
    common = dict(conversation_id=conversation, language="it", channel="socketio")
    session.add(InteractionEvent(kind=EventKind.MESSAGE.value, occurred_at=at, text="Reso?",
                                 decision=decision, entry_id=entry, **common))
    if decision == "escalate":
        session.add(InteractionEvent(kind=EventKind.ESCALATION.value, occurred_at=at,
                                     data={"ticket_id": 1, "joined": False}, **common))
    session.flush()


def rows(page: str) -> dict[str, tuple[bool, list[str]]]:
    section = page[page.index('data-testid="learning"'):]
    section = section[:section.index("</section>")]
    out = {}
    for match in ROW.finditer(section):
        cells = [" ".join(re.sub(r"<[^>]+>", " ", c).split())  # text only, spaces folded
                 for c in re.findall(r"<td>(.*?)</td>", match["cells"], re.S)]
        out[match["week"]] = (bool(match["partial"]), cells)
    return out


def test_the_quality_page_shows_the_learning_curve_by_week(marketing):
    learned = _learned_entry(marketing.url)
    with session_scope(marketing.url) as session:
        # W43: an escalation, an answer by the entry before it was learned, one after
        _ask(session, "a", LEARNED_AT - timedelta(days=1), "escalate", None)
        _ask(session, "b", LEARNED_AT - timedelta(hours=1), "answer", learned)
        _ask(session, "c", LEARNED_AT + timedelta(hours=1), "answer", learned)
        # W44: two learned answers and a clarify
        for i, hours in enumerate((24 * 6, 24 * 7, 24 * 8)):
            _ask(session, f"d{i}", LEARNED_AT + timedelta(hours=hours),
                 "clarify" if i == 2 else "answer", learned)
    page = marketing.client.get("/dashboard/quality?from=2026-10-19&to=2026-11-01")
    assert page.status_code == 200
    assert "L'apprendimento rende?" in page.text and 'data-testid="learning-empty"' not in page.text
    weeks = rows(page.text)
    assert list(weeks) == ["2026-W43", "2026-W44"]
    partial, cells = weeks["2026-W43"]
    assert not partial
    assert cells == ["sett. 19/10", "3", "1 (33,3%)", "50,0%", "33,3 (1)", "1", "1"]
    partial, cells = weeks["2026-W44"]
    assert cells == ["sett. 26/10", "3", "2 (66,7%)", "100,0%", "0,0 (0)", "2", "3"]
    assert "Come si conta" in page.text and "per difetto" in page.text
    assert 'data-testid="learning-nothing-yet"' not in page.text


def test_a_week_cut_by_the_period_is_marked_partial(marketing):
    _learned_entry(marketing.url)
    with session_scope(marketing.url) as session:
        _ask(session, "a", LEARNED_AT, "escalate", None)
    weeks = rows(marketing.client.get("/dashboard/quality?from=2026-10-21&to=2026-10-27").text)
    assert [(week, partial) for week, (partial, _) in weeks.items()] == [
        ("2026-W43", True), ("2026-W44", True)]
    assert weeks["2026-W43"][1][0] == "sett. 19/10 (parziale)"
    assert weeks["2026-W43"][1][4] == "100,0 (1)"


def test_an_empty_curve_says_nothing_was_learned_yet(marketing):
    page = marketing.client.get("/dashboard/quality?from=2026-10-19&to=2026-11-01").text
    assert 'data-testid="learning-empty"' in page
    assert "Il bot non ha ancora imparato nulla" in page
    assert 'data-testid="learning-weeks"' not in page


def test_an_empty_period_after_learning_asks_for_other_dates(marketing):
    _learned_entry(marketing.url)
    page = marketing.client.get("/dashboard/quality?from=2026-11-02&to=2026-11-08").text
    assert "Nessuna domanda in questo periodo" in page
    assert "non ha ancora imparato" not in page


def test_questions_without_learned_knowledge_say_so_above_the_table(marketing):
    with session_scope(marketing.url) as session:
        _ask(session, "a", LEARNED_AT, "escalate", None)
    page = marketing.client.get("/dashboard/quality?from=2026-10-19&to=2026-10-25").text
    assert 'data-testid="learning-nothing-yet"' in page
    assert rows(page)["2026-W43"][1][1:3] == ["1", "0 (0,0%)"]


def test_the_section_follows_the_filters(marketing):
    learned = _learned_entry(marketing.url)
    with session_scope(marketing.url) as session:
        _ask(session, "c", LEARNED_AT + timedelta(hours=1), "answer", learned)
    english = marketing.client.get("/dashboard/quality?from=2026-10-19&to=2026-10-25"
                                   "&language=en").text
    assert "Nessuna domanda in questo periodo" in english
