"""The dashboard's filter bar: the period, language, channel and purchase stage a page
shows, read from the query string and checked once, and the Italian names and error
messages the marketing reader sees (analytics reports errors in English, with a code)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import Request

from analytics import dashboard as data
from analytics.period import CHANNELS, MAX_DAYS, AnalyticsError, ErrorCode, Filters, Period
from bot.console.errors import ConsoleError
from bot.console.web import config
from core import LANGUAGES, DecisionKind, utcnow

DEFAULT_DAYS = 28
STAGE_NAMES = {"pre_purchase": "Prima dell'acquisto", "post_purchase": "Dopo l'acquisto",
               "other": "Altro"}
DECISION_NAMES = {DecisionKind.ANSWER: "Risposte", DecisionKind.CLARIFY: "Chiarimenti",
                  DecisionKind.ESCALATE: "A un operatore"}
LANGUAGE_NAMES = {"it": "Italiano", "en": "Inglese"}
CHANNEL_NAMES = {"socketio": "Widget (socket.io)", "rest": "Widget (REST)", "cmdline": "Terminale"}


class BadFilter(ConsoleError):
    status = 400
    title = "Filtro non valido"


@dataclass(frozen=True)
class View:
    """What the filter bar says, validated: the period and filters every query takes."""

    period: Period
    filters: Filters
    stage: str | None
    query: dict[str, str]  # the filter values as they go back into links

    def link(self, path: str, **extra: Any) -> str:
        params = {**self.query, **{k: str(v) for k, v in extra.items() if v not in (None, "")}}
        return f"{path}?{urlencode(params)}" if params else path


def view_of(request: Request, *, stage_filter: bool = False) -> View:
    """The filter bar of the request's query string; BadFilter, in Italian, when it is wrong.
    The stage filter applies only to the pages that offer it (`stage_filter`)."""
    params = request.query_params
    known = {"from", "to", "language", "channel", "stage", "before", "offset", "subject", "kind"}
    unknown = sorted(set(params) - known)
    if unknown:
        raise BadFilter(f"Filtro sconosciuto: {', '.join(unknown)[:200]}. "
                        f"Filtri possibili: periodo (from, to), lingua, canale, fase.")
    today = utcnow().astimezone(config(request).settings.zone).date()
    try:
        end = _date(params.get("to"), "to") or today
        start = _date(params.get("from"), "from") or end - timedelta(days=DEFAULT_DAYS - 1)
        language, channel = params.get("language") or None, params.get("channel") or None
        stage = data.check_stage(params["stage"]) if params.get("stage") else None
        if stage and not stage_filter:
            stage = None
        period, filters = Period(start, end), Filters(language, channel)
    except AnalyticsError as exc:
        raise BadFilter(_italian(exc)) from exc
    query = {"from": start.isoformat(), "to": end.isoformat()}
    query.update({k: v for k, v in (("language", language), ("channel", channel),
                                    ("stage", stage)) if v})
    return View(period, filters, stage, query)


_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _date(text: str | None, name: str) -> date | None:
    if not text:
        return None
    try:
        if not _DATE.fullmatch(text):  # fromisoformat also takes "2026W471" and the like
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError as exc:
        raise AnalyticsError(f"{name} must be a date as YYYY-MM-DD, not {text[:40]!r}",
                             ErrorCode.NOT_A_DATE) from exc


_ITALIAN = {
    ErrorCode.PERIOD_REVERSED:
        "Il periodo finisce prima di cominciare: scambia le date «dal» e «al».",
    ErrorCode.PERIOD_TOO_LONG: f"Il periodo può coprire al massimo 5 anni ({MAX_DAYS} giorni).",
    ErrorCode.DATE_OUT_OF_RANGE: "Una data è fuori dall'intervallo ammesso (anni 2000-2100).",
    ErrorCode.NOT_A_DATE: "Le date vanno scritte come AAAA-MM-GG.",
    ErrorCode.UNKNOWN_LANGUAGE: f"Lingua sconosciuta: usa {', '.join(LANGUAGES)}.",
    ErrorCode.UNKNOWN_CHANNEL: f"Canale sconosciuto: usa {', '.join(CHANNELS)}.",
    ErrorCode.UNKNOWN_STAGE: f"Fase sconosciuta: usa {', '.join(STAGE_NAMES)}.",
}


def _italian(error: AnalyticsError) -> str:
    """Analytics speaks English to developers; the dashboard reader gets Italian, by code."""
    return _ITALIAN.get(error.code, str(error))
