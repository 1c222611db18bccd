"""The SLA's notifications as outbox mail: what `open_ticket` and the timers call."""

from __future__ import annotations

from sqlalchemy.orm import Session

from core import Settings, utcnow
from escalation.mail_out import enqueue_ticket_mail
from escalation.models import Ticket
from escalation.tickets import Notify


def mail_notifier(settings: Settings) -> Notify:
    def notify(ticket: Ticket, kind: str, recipients: list[str], session: Session) -> None:
        enqueue_ticket_mail(ticket, kind, recipients, session=session, settings=settings,
                            now=utcnow())

    return notify
