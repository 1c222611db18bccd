"""What the catalogue keeps about one customer, for the GDPR orchestration in `bot.gdpr`:
product notes learned from a ticket link to it. Works inside the caller's session, so an
erasure across packages stays one transaction (tests/catalogue/test_gdpr_contract.py)."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import update
from sqlalchemy.orm import Session

from catalogue.models import ProductNote

__all__ = ["unlink_notes"]


def unlink_notes(ticket_ids: Collection[int], *, session: Session) -> int:
    """Unlink product notes from the tickets (their text was scrubbed when learned)."""
    return session.execute(update(ProductNote).where(ProductNote.ticket_id.in_(ticket_ids))
                           .values(ticket_id=None)).rowcount
