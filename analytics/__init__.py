"""The append-only interaction log (and, next, metrics, trends and the dashboard)."""

from analytics.log import Interaction, events_of, has_events, record
from analytics.models import AppendOnlyViolation, EventKind, InteractionEvent

__all__ = [
    "AppendOnlyViolation",
    "EventKind",
    "Interaction",
    "InteractionEvent",
    "events_of",
    "has_events",
    "record",
]
