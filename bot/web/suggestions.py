"""The questions the chat widget suggests when it opens, so a customer sees at once what the
assistant can answer and can ask with one tap.

They are the questions the knowledge base answered most in the last 30 days, in the
customer's language, phrased as the knowledge base phrases them (an entry's first question,
never a customer's own words: those may hold personal data). A new shop, with nothing in
the log yet, gets the first published entries instead.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from sqlalchemy import select
from sqlalchemy.orm import Session

from analytics.log import most_answered_entries
from bot.conversation.language import SERVED
from bot.web.deps import database_session
from core import Settings, utcnow
from knowledge.models import Entry, Question, Status

RECENT = timedelta(days=30)
DEFAULT_COUNT = 3
MAX_COUNT = 5  # a few buttons, not a menu
# Entries answered lately may have been withdrawn since: look a little further down the list.
SPARE = 4


def _first_questions(session: Session, language: str, entry_ids: list[int] | None,
                     limit: int) -> dict[int, str]:
    """Each published entry's first question in `language` (all of them, or those of
    `entry_ids`), at most `limit` entries by id."""
    query = (select(Question.entry_id, Question.text).join(Entry)
             .where(Entry.status == Status.PUBLISHED, Entry.language == language)
             .order_by(Question.entry_id, Question.id))
    if entry_ids is not None:
        query = query.where(Entry.id.in_(entry_ids))
    first: dict[int, str] = {}
    for entry_id, text in session.execute(query):
        if entry_id not in first:
            if len(first) == limit:
                break
            first[entry_id] = text
    return first


def suggested_questions(language: str, count: int, *, session: Session,
                        now: datetime | None = None) -> list[str]:
    """Up to `count` distinct questions: the most answered lately first, then the knowledge
    base's own until there are enough."""
    since = (now or utcnow()) - RECENT
    ranked = most_answered_entries(language, since, session=session, limit=count * SPARE)
    asked = _first_questions(session, language, ranked, len(ranked)) if ranked else {}
    questions = [asked[entry_id] for entry_id in ranked if entry_id in asked]
    if len(questions) < count:
        fallback = _first_questions(session, language, None, count + len(questions))
        questions += [q for q in fallback.values() if q not in questions]
    return questions[:count]


def suggestions_router(settings: Settings) -> APIRouter:
    """GET /chat/suggestions?language=it&count=3 -> {language, questions}."""
    router = APIRouter(include_in_schema=False)
    sessions = database_session(settings.resolved_database_url)
    known = [code for code in settings.languages if code in SERVED] or ["it"]

    @router.get("/chat/suggestions")
    def suggestions(
        language: Annotated[str, Query(min_length=2, max_length=8)] = known[0],
        count: Annotated[int, Query(ge=1, le=MAX_COUNT)] = DEFAULT_COUNT,
        session: Session = sessions,
    ) -> dict:
        if language not in known:
            raise HTTPException(422, f"unknown language {language!r} (use one of "
                                     f"{', '.join(known)})")
        return {"language": language,
                "questions": suggested_questions(language, count, session=session)}

    return router
