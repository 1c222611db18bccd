"""`supportbot replay`: the self-learning loop measured end to end.

A shop goes live with an FAQ covering part of its topics, then a stream of real questions
arrives in a shuffled order. Each question is searched as the chat searches it; a clarify
offer counts as resolved when the right entry is among the buttons (the customer picks it);
every question the bot does not resolve goes to an operator through the product's own
ticket path (open the ticket with its SLA and notification, record the answer, finish it:
delivery by email to the outbox and learning), and the confidence model is trained again
when the product would (`bot.jobs.recalibration.due`). What this measures is the loop itself:
does the bot resolve the next customers' versions of a question a person answered once,
without starting to answer the wrong ones.

The operator picks the right entry when the bot considered it (the code in the escalation
mail); otherwise they write one consistent answer text per label (the KB file's `answer`
field when it has one, else three of the label's own questions, so that answers about one
topic say the same and answers about different topics differ); a question with no answer
in the shop (`oos`) gets a one-off answer, about that question only. A wrong answer is
counted and not followed up (a customer's thumbs-down is not simulated).

An `oos` question answered later with an operator's one-off answer to an earlier `oos`
question is counted apart, as `reused`: the sets leave such questions unlabelled, and many
of them are one topic the shop's FAQ lacks ("block my card", asked in ten ways), which the
earlier answer does answer; others are not. It is neither right nor wrong by the labels,
so the report shows it beside the wrong answers, never inside them."""

from __future__ import annotations

import json
import random
import statistics
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from core import (
    DecisionKind,
    Settings,
    SupportBotError,
    dispose_all,
    ensure_secret_key,
    session_scope,
)
from escalation.answers import finish_answer, record_answer
from escalation.notify import mail_notifier
from escalation.sla import load_sla_config
from escalation.tickets import ConsideredEntry, TicketRequest, open_ticket
from knowledge.embedders import Embedder
from knowledge.errors import CalibrationImpossible, ImportRejected
from knowledge.eval_curves import OOS
from knowledge.evaluation import Labelled, build_kb, read_lines
from knowledge.learning import resolve_conflict
from knowledge.models import Entry
from knowledge.service import KnowledgeBase

OPERATOR = "operator@example.com"
GROUPS = ("known", "unknown", "oos")
MAX_LISTED = 20


class ReplayError(SupportBotError):
    """The replay's files cannot be replayed; the message names the lines."""


@dataclass(frozen=True)
class Turn:
    """One question of the stream and what became of it."""
    group: str  # known: its topic was in the KB when asked; unknown: not yet; oos: no topic
    outcome: str  # right, wrong, reused (see below), clarify_hit, clarify_miss, escalated
    learned: str = ""  # created, merged, merged_elsewhere (joined another topic's entry), none
    learning_ms: float = 0.0

    @property
    def resolved(self) -> bool:
        return self.outcome in ("right", "clarify_hit")


def read_replay_file(path: Path) -> list[Labelled]:
    """Labelled lines; blank lines inside the file are errors (a truncated export), each
    problem named with its line number."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ReplayError(f"{path}: cannot read the file as UTF-8: {exc}") from exc
    while lines and not lines[-1].strip():
        lines.pop()
    blank = [f"line {n}: empty line" for n, line in enumerate(lines, 1) if not line.strip()]
    try:
        rows = read_lines(path)
    except ImportRejected as exc:
        raise ReplayError(_listed(path, blank + exc.problems)) from exc
    if blank:
        raise ReplayError(_listed(path, blank))
    return rows


def check_stream(kb_rows: list[Labelled], stream: list[Labelled], path: Path) -> None:
    labels = {r.label for r in kb_rows}
    unknown = [f"line {q.line}: label {q.label!r} is not in the KB file" for q in stream
               if q.label != OOS and q.label not in labels]
    if unknown:
        raise ReplayError(_listed(path, unknown))
    if not any(q.label in labels for q in stream):
        raise ReplayError(f"{path}: no question of the stream has a label of the KB file; "
                          "nothing could ever be answered")


def _listed(path: Path, problems: list[str]) -> str:
    more = f"\n  ... and {len(problems) - MAX_LISTED} more" if len(problems) > MAX_LISTED else ""
    return f"{path}: " + "\n  ".join(["cannot replay:", *problems[:MAX_LISTED]]) + more


def operator_answers(kb_path: Path, kb_rows: list[Labelled]) -> dict[str, str]:
    """label -> the one answer an operator gives to every question of that label."""
    given: dict[str, str] = {}
    for line in kb_path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            record = json.loads(line)
            if isinstance(record.get("answer"), str) and record["answer"].strip():
                given.setdefault(str(record["label"]).strip(), record["answer"].strip())
    questions: dict[str, list[str]] = defaultdict(list)
    for row in kb_rows:
        questions[row.label].append(row.text)
    return {label: given.get(label) or " ".join(texts[:3]) for label, texts in questions.items()}


def seed_rows(kb_rows: list[Labelled], *, share: float, per_label: int,
              rng: random.Random) -> list[tuple[str, str]]:
    """The FAQ the shop starts with: `share` of the labels, `per_label` questions each."""
    by_label: dict[str, list[str]] = defaultdict(list)
    for row in kb_rows:
        by_label[row.label].append(row.text)
    labels = sorted(by_label)
    chosen = rng.sample(labels, max(1, round(share * len(labels)))) if share > 0 else []
    rows = []
    for label in sorted(chosen):
        texts = by_label[label]
        rows += [(t, label) for t in rng.sample(texts, min(per_label, len(texts)))]
    return rows


def replay(kb_path: Path, stream_path: Path, *, embedder: str, language: str = "other",
           query_language: str | None = None, seed_share: float = 0.5, seed_per_label: int = 5,
           seed: int = 0, limit: int = 0, model: Embedder | None = None,
           work_dir: Path | None = None) -> dict:
    """Run the loop and return the report (see `summarise`)."""
    from bot.jobs.recalibration import due
    from migrations import upgrade

    kb_rows, stream = read_replay_file(kb_path), read_replay_file(stream_path)
    check_stream(kb_rows, stream, stream_path)
    rng = random.Random(seed)
    seeded = seed_rows(kb_rows, share=seed_share, per_label=seed_per_label, rng=rng)
    answers = operator_answers(kb_path, kb_rows)
    order = list(stream)
    rng.shuffle(order)
    order = order[:limit] if limit else order
    with tempfile.TemporaryDirectory(dir=work_dir) as tmp:
        languages = sorted({language, query_language or language} - {"other"}) or ["it", "en"]
        settings = Settings(var_dir=Path(tmp), database_url="", embedder=embedder,
                            max_question_chars=100_000, languages=languages)
        ensure_secret_key(settings)  # its own product in a throwaway folder: its own key
        upgrade(settings.resolved_database_url)
        build_kb(seeded, settings.resolved_database_url, language,
                 answers={label: answers[label] for _, label in seeded})
        kb = KnowledgeBase(settings, model)
        kb.warm_up()
        loop = _Loop(kb, settings, answers, query_language)
        try:
            loop.recalibrate()
            for number, question in enumerate(order):
                loop.ask(number, question)
                if loop.changed and due(kb, time.time()):
                    loop.recalibrate()
        finally:
            dispose_all()
    return summarise(loop.turns, seeded=seeded, stream=len(order), recalibrations=loop.calibrations,
                     settings={"seed_share": seed_share, "seed_per_label": seed_per_label,
                               "seed": seed, "embedder": embedder, "limit": limit})


class _Loop:
    """The shop during the replay: its KB, which label each entry answers, what was taught."""

    def __init__(self, kb: KnowledgeBase, settings: Settings, answers: dict[str, str],
                 query_language: str | None):
        self.kb, self.settings, self.answers = kb, settings, answers
        self.query_language = query_language
        self.sla = load_sla_config(settings.resolved_sla_policies_file)
        self.notify = mail_notifier(settings)
        with session_scope(kb.url) as session:
            self.label_of = dict(session.execute(select(Entry.id, Entry.key)).all())
        self.known = set(self.label_of.values())
        self.asked: list[str] = []
        self.turns: list[Turn] = []
        self.calibrations = 0
        self.changed = False

    def recalibrate(self) -> None:
        asked = [(q, self.query_language or "") for q in self.asked]
        try:
            self.kb.calibrate(recent_questions=asked[-2000:])
        except CalibrationImpossible:
            pass  # the strict defaults decide until the KB can be calibrated
        self.calibrations += 1
        self.changed = False

    def ask(self, number: int, question: Labelled) -> None:
        self.asked.append(question.text)
        group = "oos" if question.label == OOS else (
            "known" if question.label in self.known else "unknown")
        decision = self.kb.search(question.text, language=self.query_language)
        labels = [self.label_of.get(c.entry_id) for c in decision.candidates]
        if decision.kind is DecisionKind.ANSWER:
            self.turns.append(Turn(group, _judged(question.label, labels[0])))
            return
        if decision.kind is DecisionKind.CLARIFY and question.label in labels:
            self.turns.append(Turn(group, "clarify_hit"))
            return
        outcome = "clarify_miss" if decision.kind is DecisionKind.CLARIFY else "escalated"
        learned, spent = self.answer_as_operator(number, question, decision.candidates)
        self.turns.append(Turn(group, outcome, learned, spent))

    def answer_as_operator(self, number: int, question: Labelled, candidates) -> tuple[str, float]:
        """Through the product's ticket path; returns how it was learned and the time from
        the reply's arrival to the question being answerable (ms)."""
        # A one-off answer is about that question alone: its text stands for it (a shared
        # template would make every one-off answer "say the same" and merge them all).
        answer = self.answers.get(question.label) or question.text
        request = TicketRequest(
            conversation_id=f"replay-{number}", question=question.text,
            language=self.query_language or "en", reason="kb_escalate",
            customer_email=f"customer{number}@example.com", contact_consent=True,
            considered=tuple(ConsideredEntry(c.entry_id, c.key, c.score)
                             for c in candidates[:3]))
        with session_scope(self.kb.url) as session:
            ticket = open_ticket(request, session=session, sla=self.sla, notify=self.notify)
        # An operator who sees the right answer among the bot's candidates sends it (its
        # code in the mail, its button in the console) instead of writing it again.
        shown = next((c for c in candidates[:3]
                      if self.label_of.get(c.entry_id) == question.label), None)
        started = time.perf_counter()
        record_answer(ticket.id, shown.answer if shown else answer, OPERATOR, via="replay",
                      settings=self.settings, picked_entry_id=shown.entry_id if shown else None)
        result = finish_answer(ticket.id, settings=self.settings, kb=self.kb,
                               deliver_in_chat=lambda _ticket: False)
        spent = (time.perf_counter() - started) * 1000
        entry = result.learned_entry_id
        if entry is None:
            return "none", spent
        self.changed = True
        label = question.label if question.label != OOS else f"{OOS}#{number}"
        if result.learned_as_variant:
            joined = self.label_of.get(entry, "")
            if joined == label or (_one_off(joined) and _one_off(label)):
                return "merged", spent
            return "merged_elsewhere", spent
        self.label_of[entry] = label
        if question.label != OOS:
            self.known.add(question.label)
        return self.review_conflict(entry, label), spent

    def review_conflict(self, entry_id: int, label: str) -> str:
        """A learned answer that contradicts a published entry waits on the console's review
        page (knowledge.learning); the replay's operator decides it at once, as a shop's
        operator would there: the same topic's entry takes the question, another topic's
        stays apart and the new entry is published."""
        with session_scope(self.kb.url) as session:
            other = session.get(Entry, entry_id).conflict_with
            if other is None:
                return "created"
            same = self.label_of.get(other) == label and not _one_off(label)
            resolve_conflict(entry_id, "merge" if same else "publish", OPERATOR, session=session)
        self.kb.sync(force=True)
        return "merged" if same else "created"


def _one_off(label: str | None) -> bool:
    return bool(label) and label.startswith(f"{OOS}#")


def _judged(label: str, answered_with: str | None) -> str:
    if answered_with == label:
        return "right"
    return "reused" if label == OOS and _one_off(answered_with) else "wrong"


def rates(turns: list[Turn]) -> dict:
    """The outcome figures of some turns: resolved of the answerable ones, the rest of all."""
    n = len(turns)
    answerable = [t for t in turns if t.group != "oos"]
    offered = [t for t in turns if t.outcome.startswith("clarify")]
    count = Counter(t.outcome for t in turns)
    share = (lambda k: round(k / n, 4)) if n else (lambda k: 0.0)
    return {
        "questions": n,
        "resolved": round(sum(t.resolved for t in answerable) / len(answerable), 4)
        if answerable else None,
        "wrong": share(count["wrong"]),
        "reused_one_off": share(count["reused"]),
        "escalated": share(count["escalated"] + count["clarify_miss"]),
        "clarify_offered": share(len(offered)),
        "clarify_hit": round(count["clarify_hit"] / len(offered), 4) if offered else None,
    }


def summarise(turns: list[Turn], *, seeded: list[tuple[str, str]], stream: int,
              recalibrations: int, settings: dict) -> dict:
    quarters = [turns[i * len(turns) // 4:(i + 1) * len(turns) // 4] for i in range(4)]
    taught = [t for t in turns if t.learned]
    learned = Counter(t.learned for t in taught)
    on_known = [t for t in taught if t.group == "known"]
    times = sorted(t.learning_ms for t in taught)
    return {
        "settings": settings,
        "seed": {"labels": len({label for _, label in seeded}), "questions": len(seeded)},
        "stream": stream,
        "overall": {"all": rates(turns), **{g: rates([t for t in turns if t.group == g])
                                           for g in GROUPS}},
        "quarters": [{"all": rates(q), **{g: rates([t for t in q if t.group == g])
                                          for g in GROUPS}} for q in quarters],
        "learning": {
            "operator_answers": len(taught),
            "entries_created": learned["created"],
            "merged_into_its_entry": learned["merged"],
            "merged_into_another_topic": learned["merged_elsewhere"],
            "not_learned": learned["none"],
            "known_topic_answers_merged": round(sum(t.learned == "merged" for t in on_known)
                                                / len(on_known), 4) if on_known else None,
            "answerable_ms_p50": round(statistics.median(times), 1) if times else None,
            "answerable_ms_p95": round(times[int(0.95 * (len(times) - 1))], 1) if times else None,
        },
        "recalibrations": recalibrations,
    }


def format_report(report: dict) -> list[str]:
    """The report as a few readable lines."""
    def row(name: str, r: dict) -> str:
        resolved = "-" if r["resolved"] is None else f"{100 * r['resolved']:.1f} %"
        hit = "-" if r["clarify_hit"] is None else f"{100 * r['clarify_hit']:.0f} %"
        return (f"  {name:<10} {r['questions']:>6}  resolved {resolved:>7}  wrong "
                f"{100 * r['wrong']:5.1f} %  reused {100 * r['reused_one_off']:4.1f} %  "
                f"escalated {100 * r['escalated']:5.1f} %  "
                f"clarify {100 * r['clarify_offered']:4.1f} % (hit {hit})")
    lines = [f"seeded {report['seed']['labels']} topics, {report['seed']['questions']} questions; "
             f"stream of {report['stream']}; {report['recalibrations']} calibrations", "overall:"]
    lines += [row(g, report["overall"][g]) for g in ("all", *GROUPS)]
    for i, quarter in enumerate(report["quarters"], 1):
        lines.append(f"quarter {i}:")
        lines += [row(g, quarter[g]) for g in ("all", *GROUPS)]
    learning = report["learning"]
    lines.append("learning: " + ", ".join(f"{k} {v}" for k, v in learning.items()))
    return lines
