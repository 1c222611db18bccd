"""The three ways the bot can meet a question. Knowledge makes the decision, the
interaction log stores it and analytics counts it, so the names live here, below both."""

from enum import StrEnum


class DecisionKind(StrEnum):
    """Stored in the log as the plain value, so SQL and exports read "answer", not a class name."""

    ANSWER = "answer"
    CLARIFY = "clarify"
    ESCALATE = "escalate"
