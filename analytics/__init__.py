"""The append-only interaction log and the figures computed from it (metrics, and next,
trends and the dashboard)."""

from analytics.log import Interaction, events_of, has_events, record
from analytics.metrics import (
    RatingComment,
    Summary,
    knowledge_gaps,
    rating_comments,
    ratings_by_score,
    stale_entries,
    summary,
    top_questions,
    unhelpful_entries,
)
from analytics.models import AppendOnlyViolation, EventKind, InteractionEvent
from analytics.period import AnalyticsError, Filters, Period

__all__ = [
    "AnalyticsError",
    "Filters",
    "Period",
    "RatingComment",
    "Summary",
    "knowledge_gaps",
    "rating_comments",
    "ratings_by_score",
    "stale_entries",
    "summary",
    "top_questions",
    "unhelpful_entries",
    "AppendOnlyViolation",
    "EventKind",
    "Interaction",
    "InteractionEvent",
    "events_of",
    "has_events",
    "record",
]
