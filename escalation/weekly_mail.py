"""The weekly report as mail to the marketing list: rendered (HTML with inline styles and
a plain-text alternative, in Italian), queued in the outbox once per ISO week, and a
loop that queues last week's report when it is due.

Once per week, also with several replicas or after a restart: the outbox's unique
`dedupe_key` ("weekly-report:2026-W47") turns a second queueing into a no-op, and the
sender delivers the row with its usual retries.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from analytics.weekly import (
    Figure,
    TrendItem,
    WeeklyReport,
    build_weekly_report,
    due_week,
    iso_week,
)
from core import Settings, session_scope, utcnow
from escalation.mail_out import _domain, _enqueue, _env
from escalation.models import OutboxMessage

log = logging.getLogger(__name__)

KIND = "weekly_report"
CHECK_INTERVAL_S = 300.0
_MONTHS = ("gennaio", "febbraio", "marzo", "aprile", "maggio", "giugno", "luglio", "agosto",
           "settembre", "ottobre", "novembre", "dicembre")
_LABELS = {
    "conversations": "Conversazioni",
    "questions": "Domande dei clienti",
    "deflection_rate": "Risolte dal bot",
    "escalation_rate": "Passate a un operatore",
    "clarify_rate": "Con richiesta di chiarimento",
    "helpful_share": "Risposte giudicate utili",
    "sla_compliance": "Ticket risposti entro lo SLA",
    "first_response_p50_min": "Prima risposta dell'operatore (mediana)",
    "learned_reuse": "Risposte apprese riutilizzate",
    "rating_average": "Voto medio di fine chat",
}
_COLOURS = {1: "#1a7f37", -1: "#b42318", 0: "#555555"}


@dataclass(frozen=True)
class RenderedMail:
    subject: str
    text: str
    html: str


def dedupe_key(week_start: date) -> str:
    return f"weekly-report:{iso_week(week_start)}"


# -- rendering --------------------------------------------------------------------------------
def render_weekly_report(report: WeeklyReport, *, settings: Settings) -> RenderedMail:
    week = report.week
    context = {
        "shop_name": settings.shop_name,
        "iso_week": report.iso_week,
        "days": day_range(week.start, week.end),
        "empty": report.empty,
        "figures": [_figure_row(f) for f in report.figures],
        "sections": _sections(report),
        "unhelpful": [{"key": e.key or f"#{e.entry_id}", "down": e.thumbs_down, "up": e.thumbs_up}
                      for e in report.unhelpful],
        "dashboard": f"{settings.public_url.rstrip('/')}/dashboard" if settings.public_url else "",
        "generated": report.generated_at.astimezone(settings.zone).strftime("%d/%m/%Y %H:%M"),
    }
    context["label_width"] = max(len(row["label"]) for row in context["figures"])
    return RenderedMail(
        subject=f"Report settimanale {settings.shop_name}: settimana {report.iso_week} "
                f"({context['days']})",
        text=_env.get_template("weekly_report.txt").render(context),
        html=_env.get_template("weekly_report.html").render(context),
    )


def _sections(report: WeeklyReport) -> list[dict]:
    """The ranked sections in order; empty ones are left out."""
    sections = [
        ("Argomenti di tendenza questa settimana", "argomento", report.topics),
        ("Prodotti e categorie più chiesti prima dell'acquisto", "prodotto o categoria",
         report.products),
        ("Domande più frequenti", "domanda", report.top_questions),
        ("Lacune della base di conoscenza (domande non risolte dal bot)", "domanda", report.gaps),
    ]
    return [{"title": title, "column": column, "items": [_item(i) for i in items]}
            for title, column, items in sections if items]


def _item(item: TrendItem) -> dict:
    change = "" if item.change is None else f"{_arrow(item.change)} {_signed(item.change, _count)}"
    return {"label": item.label, "count": _count(item.count), "change": change}


def _figure_row(figure: Figure) -> dict:
    value = _FORMATS[figure.unit](figure.value)
    detail = ""
    if figure.unit == "share" and figure.whole:
        detail = f"{_count(figure.part or 0)} su {_count(figure.whole)}"
    elif figure.unit == "rating" and figure.whole is not None:
        detail = f"{_count(figure.whole)} valutazion" + ("e" if figure.whole == 1 else "i")
    change, colour = _change(figure)
    return {"label": _LABELS.get(figure.key, figure.key), "value": value, "detail": detail,
            "previous": _FORMATS[figure.unit](figure.previous), "change": change,
            "colour": colour}


def _change(figure: Figure) -> tuple[str, str]:
    delta = figure.change
    if delta is None:
        return "—", _COLOURS[0]
    if abs(delta) < 1e-9:
        return "= invariato", _COLOURS[0]
    colour = _COLOURS[figure.good if delta > 0 else -figure.good]
    if figure.unit == "share":
        text = _signed(delta * 100, lambda v: _decimal(v, 1)) + " pp"
    elif figure.unit == "minutes":
        text = _signed(delta, lambda v: f"{v:.0f}") + " min"
    elif figure.unit == "rating":
        text = _signed(delta, lambda v: _decimal(v, 1))
    else:
        text = _signed(delta, _count)
        if figure.previous:
            text += f" ({_signed(delta / figure.previous * 100, lambda v: f'{v:.0f}')}%)"
    return f"{_arrow(delta)} {text}", colour


def _arrow(delta: float) -> str:
    return "▲" if delta > 0 else "▼" if delta < 0 else "="


def _signed(value: float, fmt) -> str:
    return ("+" if value > 0 else "−" if value < 0 else "") + fmt(abs(value))


def _count(value: float | None) -> str:
    return "—" if value is None else f"{round(value):,}".replace(",", ".")


def _decimal(value: float, digits: int) -> str:
    return f"{value:.{digits}f}".replace(".", ",")


def _share(value: float | None) -> str:
    return "—" if value is None else _decimal(value * 100, 1) + "%"


def _minutes(value: float | None) -> str:
    if value is None:
        return "—"
    minutes = round(value)
    return f"{minutes} min" if minutes < 120 else f"{minutes // 60} h {minutes % 60:02d} min"


def _rating(value: float | None) -> str:
    return "—" if value is None else f"{_decimal(value, 1)} / 5"


_FORMATS = {"count": _count, "share": _share, "minutes": _minutes, "rating": _rating}


def day_range(start: date, end: date) -> str:
    """"16–22 novembre 2026", "30 novembre – 6 dicembre 2026", across years in full."""
    if start.year != end.year:
        return f"{_day(start, True)} – {_day(end, True)}"
    if start.month != end.month:
        return f"{_day(start, False)} – {_day(end, True)}"
    return f"{start.day}–{_day(end, True)}"


def _day(day: date, year: bool) -> str:
    return f"{day.day} {_MONTHS[day.month - 1]}" + (f" {day.year}" if year else "")


# -- queueing ---------------------------------------------------------------------------------
def queued_report(week_start: date, *, session: Session) -> OutboxMessage | None:
    return session.scalars(select(OutboxMessage).where(
        OutboxMessage.dedupe_key == dedupe_key(week_start))).first()


def enqueue_weekly_report(report: WeeklyReport, recipients: list[str], *, session: Session,
                          settings: Settings, now: datetime) -> OutboxMessage:
    """Queue the report for `recipients`; a week already queued keeps its first row."""
    if not recipients:
        raise ValueError("the weekly report needs at least one recipient")
    mail = render_weekly_report(report, settings=settings)
    return _enqueue(
        session, now=now, dedupe_key=dedupe_key(report.week.start), kind=KIND, ticket_id=None,
        to_addrs=list(recipients), subject=mail.subject, text_body=mail.text, html_body=mail.html,
        headers={"From": settings.mail_from, "Auto-Submitted": "auto-generated",
                 "X-Auto-Response-Suppress": "All"},
        message_id=f"<weekly-report.{report.iso_week}@{_domain(settings.reply_address)}>",
    )


def queue_due_report(url: str, settings: Settings, *, now: datetime | None = None
                     ) -> OutboxMessage | None:
    """Queue the newest due week's report unless it is queued already (or nobody is to
    receive it); returns the new row, else None."""
    if not settings.marketing_emails:
        return None
    now = now or utcnow()
    week = due_week(now, weekday=settings.weekly_report_weekday, hour=settings.weekly_report_hour,
                    zone=settings.zone)
    with session_scope(url) as session:
        if queued_report(week, session=session) is not None:  # the common case: cheap
            return None
        report = build_weekly_report(week, session=session,
                                     today=now.astimezone(settings.zone).date(), now=now)
        row = enqueue_weekly_report(report, settings.marketing_emails, session=session,
                                    settings=settings, now=now)
    log.info("weekly report %s queued for %d recipient(s)", report.iso_week,
             len(settings.marketing_emails))
    return row


def run_weekly_reporter(url: str, settings: Settings, stop: threading.Event, *,
                        interval_s: float = CHECK_INTERVAL_S) -> None:
    """Check every `interval_s` whether last week's report is due, until `stop` is set."""
    while not stop.is_set():
        try:
            queue_due_report(url, settings)
        except Exception:  # the loop must outlive a database hiccup
            log.exception("queueing the weekly report failed; retrying")
        stop.wait(interval_s)
