"""The demo traffic command fills a database with figures that look like a shop's."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, or_, select

from analytics import (
    EventKind,
    Filters,
    InteractionEvent,
    Period,
    rating_comments,
    ratings_by_score,
    rollup,
    summary,
)
from analytics.dashboard import key_figures
from analytics.models import QuestionInsight
from analytics.period import report_zone
from bot.demo_traffic import simulate
from bot.jobs.insights_job import InsightsRefresher
from core import session_scope, utcnow
from escalation.models import Ticket
from knowledge.embedders import HashingEmbedder
from knowledge.importer import import_file
from tests.bot.test_cli_report import run
from tests.conftest import DEMO_KB

END = datetime(2026, 11, 20, 0, 0, tzinfo=UTC)


def test_a_simulated_fortnight_has_plausible_figures(database_url):
    with session_scope(database_url) as session:
        import_file(DEMO_KB, session=session, author="demo")
    with session_scope(database_url) as session:
        counts = simulate(session, days=14, per_day=20, seed=3, end=END)
    assert counts["conversations"] > 150 and counts["tickets"] > 10
    with session_scope(database_url) as session:
        s = summary(Period(date(2026, 11, 6), date(2026, 11, 19)), Filters(), session=session)
        italian = summary(Period(date(2026, 11, 6), date(2026, 11, 19)), Filters(language="it"),
                          session=session)
    assert s.questions == counts["questions"]
    assert 0.6 < s.deflection_rate < 0.9 and 0.08 < s.escalation_rate < 0.3
    assert 0.5 < italian.questions / s.questions < 0.9
    assert s.sla_compliance is not None and s.thumbs_up > s.thumbs_down


def test_a_quarter_of_the_conversations_end_with_a_rating(database_url):
    with session_scope(database_url) as session:
        import_file(DEMO_KB, session=session, author="demo")
    with session_scope(database_url) as session:
        counts = simulate(session, days=28, per_day=30, seed=3, end=END)
    period = Period(date(2026, 10, 20), date(2026, 11, 21))  # ratings may follow an answer
    with session_scope(database_url) as session:
        s = summary(period, Filters(), session=session)
        by_score = ratings_by_score(period, Filters(), session=session)
        comments = rating_comments(period, Filters(), session=session, limit=500)
        ends = session.scalar(select(func.count()).where(
            InteractionEvent.kind == EventKind.CONVERSATION_END))
        late = _average_after_late_answers(session)
    assert s.ratings == counts["ratings"] == ends
    assert 0.2 < s.ratings / s.conversations < 0.3
    assert 3.7 < s.rating_average < 4.5 and by_score[5] > by_score[4] > by_score[1]  # positive
    assert late < s.rating_average - 0.8  # a late (or missing) answer costs stars
    assert 0.25 < len(comments) / s.ratings < 0.45
    assert {c.language for c in comments} == {"it", "en"}


def _average_after_late_answers(session) -> float:
    late = select(Ticket.conversation_id).where(
        or_(Ticket.answered_at.is_(None), Ticket.answered_at > Ticket.due_at))
    score = InteractionEvent.data["rating"].as_integer()
    return float(session.scalar(select(func.avg(score)).where(
        InteractionEvent.kind == EventKind.RATING, InteractionEvent.conversation_id.in_(late))))


def test_the_command_fills_the_database_and_refuses_bad_arguments(database_url, tmp_path):
    done = run(tmp_path, database_url, "demo-traffic", "--days", "3", "--per-day", "5")
    assert done.returncode == 0 and "simulated" in done.stdout, done.stderr
    assert run(tmp_path, database_url, "demo-traffic", "--days", "0").returncode == 2
    assert run(tmp_path, database_url, "report").returncode == 0


def test_the_dashboard_is_alive_as_soon_as_the_command_returns(database_url, tmp_path):
    """A question asked a minute ago (the walk-through tried the chat first) used to hold
    every simulated question back until it had settled, 30 minutes later: the command now
    labels all it wrote, and says so."""
    with session_scope(database_url) as session:
        session.add(InteractionEvent(kind=EventKind.MESSAGE, conversation_id="live",
                                     text="Quanto costa la spedizione?", decision="answer",
                                     language="it", channel="socketio"))
    done = run(tmp_path, database_url, "demo-traffic", "--days", "3", "--per-day", "5")
    assert done.returncode == 0, done.stderr
    with session_scope(database_url) as session:
        logged = session.scalar(select(func.count()).where(
            InteractionEvent.kind == EventKind.MESSAGE))
        labelled = session.scalar(select(func.count()).select_from(QuestionInsight))
        today = utcnow().astimezone(report_zone()).date()
        figures = key_figures(Period(today - timedelta(days=5), today), Filters(),
                              session=session)
    assert labelled == logged > 1 and f"{logged} questions labelled" in done.stdout
    assert figures.questions == logged
    again = run(tmp_path, database_url, "analytics", "refresh")
    assert "0 questions labelled" in again.stdout
    assert "nothing new since the last refresh" in again.stdout


def test_simulated_history_reopens_days_already_rolled_up(database_url, tmp_path):
    """Days the product had summed before the demo are summed again with its traffic."""
    end = datetime(2026, 11, 20, 0, 0, tzinfo=UTC)
    with session_scope(database_url) as session:
        import_file(DEMO_KB, session=session, author="demo")
        session.add(InteractionEvent(kind=EventKind.MESSAGE, conversation_id="before",
                                     occurred_at=end - timedelta(days=2), text="Ciao?",
                                     decision="answer", language="it", channel="socketio"))
    refresher = InsightsRefresher(database_url, HashingEmbedder(), tmp_path)
    refresher.run_once()
    with session_scope(database_url) as session:
        counts = simulate(session, days=3, per_day=5, seed=3, end=end)
    refresher.run_once(settle=timedelta(0))
    period = Period(date(2026, 11, 16), date(2026, 11, 19))
    with session_scope(database_url) as session:
        assert rollup.rolled_days(session, period)  # summed again, not left out
        assert key_figures(period, Filters(), session=session).questions == counts["questions"] + 1


def test_the_demo_logs_product_questions_as_the_product_path_reads_them(database_url):
    """The dashboard's demo must show what the real path would log: a question the path
    leaves to the FAQ ("veste regolare?": size advice) is no product question there."""
    from pathlib import Path

    from bot.demo_traffic import PRODUCT_QUESTIONS, TREND, UNKNOWN
    from bot.product import import_demo_catalogue
    from catalogue.service import ProductDesk

    import_demo_catalogue(database_url, Path(__file__).parents[2] / "data" / "demo_catalogue.csv")
    desk = ProductDesk(database_url)
    english = set(UNKNOWN["en"]) | set(TREND["en"])
    for question, about in PRODUCT_QUESTIONS.items():
        language = "en" if question in english else "it"
        answer = desk.consult(question, language, f"product:{about.slug}", date(2026, 11, 30))
        assert answer is not None, question
        assert (answer.slug, answer.attribute, answer.answered_by == "catalogue",
                answer.question.named) == (about.slug, about.attribute, about.answered,
                                           about.named), question
