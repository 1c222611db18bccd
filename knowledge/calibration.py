"""Probes for the confidence model: searches of the knowledge base whose truth is known.

- Hidden questions: each fold hides a few questions of every entry and searches them against
  the rest (the right answer is their entry).
- Hidden entries: each fold also hides a fifth of the entries entirely; their questions stand
  for questions on topics the KB lacks, the hard, in-domain kind (the right decision is to
  escalate).
- The bank: several hundred questions in Italian and English that no shop FAQ answers (a
  parcel that never came, a product detail, the weather), searched against the whole KB.

Every probe runs the live scoring code (`score_entries`), so the model learns from exactly
what runs in production.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources

import numpy as np

from knowledge.classifier import NO_CLASSIFIER, EntryClassifier
from knowledge.confidence import Probes, QueryFacts, buttons, feature_vector
from knowledge.lexical import LexicalIndex, tokenize
from knowledge.scoring import score_entries

SEARCH_K = 64
FOLDS = 5
PER_ENTRY = 5  # at most this many hidden questions per entry and fold
HIDDEN_PROBES = 300  # questions of hidden entries searched per fold, at least (if there are)
MAX_FOLD_PROBES = 1500  # questions of hidden entries, and entries with a hidden question, per fold
BANK_NEAR_DUPLICATE = 0.92  # a bank question this close to a KB question is answered by it


@dataclass(frozen=True)
class BankQuestion:
    text: str
    language: str
    kind: str


def unanswerable_bank() -> list[BankQuestion]:
    """The bundled bank of questions no shop FAQ answers (knowledge/data/unanswerable.jsonl)."""
    raw = resources.files("knowledge").joinpath("data/unanswerable.jsonl").read_text("utf-8")
    return [BankQuestion(**json.loads(line)) for line in raw.splitlines() if line.strip()]


def parallel_questions() -> dict[str, list[str]]:
    """The bundled shop questions asked in both languages ({"en": [...], "it": [...]}, the same
    meanings in the same order; knowledge/data/paraphrases_it_en.jsonl)."""
    raw = resources.files("knowledge").joinpath("data/paraphrases_it_en.jsonl").read_text("utf-8")
    out: dict[str, list[str]] = {"en": [], "it": []}
    for line in raw.splitlines():
        if line.strip():
            record = json.loads(line)
            for language in out:
                out[language] += record[language]
    return out


def similarity_ratio(kb_vectors: np.ndarray, embed_many, parallel: dict[str, list[str]], *,
                     asked_in: str, kb_languages: set[str], sample: int = 20_000) -> float | None:
    """How much lower a question's best similarity to this KB is when asked in `asked_in`
    than in the KB's language: the same questions in both languages, searched against the
    KB, mean best cosine of one over the other (None when the bundle lacks a language)."""
    known = sorted(language for language in kb_languages if language in parallel)
    if asked_in not in parallel or not known or not len(kb_vectors):
        return None
    if len(kb_vectors) > sample:
        picked = np.random.default_rng(0).choice(len(kb_vectors), sample, replace=False)
        kb_vectors = kb_vectors[picked]
    best = {language: float((embed_many(parallel[language]) @ kb_vectors.T).max(axis=1).mean())
            for language in (asked_in, known[0])}
    if best[known[0]] <= 0:
        return None
    return float(min(1.0, max(0.5, best[asked_in] / best[known[0]])))


@dataclass(frozen=True)
class Signal:
    """An outcome the deployment logged: a question and what became of its entry.
    verdict: "helpful" / "unhelpful" (the customer's thumbs on the answer), "picked" (the
    customer chose the entry among clarify buttons), "learned" (nothing answered it: an
    operator's answer became this new entry)."""
    question: str
    entry_id: int
    verdict: str


VERDICTS = ("helpful", "unhelpful", "picked", "learned")


def signal_probe(signal: Signal, x: np.ndarray, scored) -> tuple | None:
    """(x, in scope, right, among, offerable) for a logged outcome, searched against the KB as
    it is now (a "learned" one without its own entry), or None when it says nothing now."""
    top = scored[0].entry_id if scored else None
    offer = buttons(scored)
    among = any(s.entry_id == signal.entry_id for s in offer)
    if signal.verdict == "learned":
        return x, False, False, False, bool(offer)
    if signal.verdict == "picked":
        return x, True, top == signal.entry_id, among, bool(offer)
    if top != signal.entry_id:  # a thumb on an entry the KB no longer ranks first
        return None
    helpful = signal.verdict == "helpful"  # unhelpful: nothing in the KB answered it right
    return x, helpful, helpful, helpful and among, bool(offer)


@dataclass(frozen=True)
class Query:
    vector: np.ndarray
    text: str
    truth: int | None  # the entry that answers it; None: nothing in the KB does
    source: str
    language: str = ""  # the asker's language: only entries in it are searched, as live
    group: int = -1  # a hidden entry's question: that entry (its topic); -1 otherwise


class FoldSearch:
    """Search over a subset of the KB's questions, as the live index would."""

    def __init__(self, visible: np.ndarray, entry_of_variant: np.ndarray, vectors: np.ndarray,
                 texts: list[str], lexical_weight: float, languages: np.ndarray | None = None,
                 classify: bool = False):
        self.visible, self.entry_of_variant = visible, entry_of_variant
        self.languages = languages
        self.has_language = set() if languages is None else set(languages[visible].tolist())
        self.kb_vectors, kb_entries = vectors[visible], entry_of_variant[visible]
        self.centroids, self.variants_of = {}, {}  # entry -> its visible questions (row ids)
        for e in np.unique(kb_entries).tolist():
            mine = kb_entries == e
            members = self.kb_vectors[mine]
            self.variants_of[e] = visible[mine].tolist()
            if len(members) > 1:
                c = members.mean(axis=0)
                self.centroids[e] = c / max(float(np.linalg.norm(c)), 1e-12)
        self.classifier = EntryClassifier.fit(self.kb_vectors, kb_entries) if classify else None
        self.lexical_weight = lexical_weight
        self.lexical = LexicalIndex()
        if lexical_weight:
            self.lexical.build(visible.tolist(), [texts[i] for i in visible])

    def _owner(self, language: str):
        """Variant -> entry, or -1 for an entry the live search would not consider: a KB that
        has the asker's language answers in it (or in "other") only."""
        if not language or language not in self.has_language:
            return lambda v: int(self.entry_of_variant[v])
        allowed = {language, "other"}
        return lambda v: int(self.entry_of_variant[v]) if self.languages[v] in allowed else -1

    def probes(self, queries: list[Query]) -> Probes:
        if not queries or not len(self.visible):
            return Probes.join([])
        sims = np.stack([q.vector for q in queries]) @ self.kb_vectors.T
        k = min(SEARCH_K, sims.shape[1])
        top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        rows = {f: [] for f in ("x", "in_scope", "right", "among", "offerable", "source",
                                "group")}
        for i, query in enumerate(queries):
            hits = [(int(self.visible[j]), float(sims[i, j])) for j in top[i]]
            scored = score_entries(
                hits,
                self._owner(query.language),
                lambda e, q=query.vector: None if e not in self.centroids
                else float(self.centroids[e] @ q),
                self.lexical.search(query.text, SEARCH_K) if self.lexical_weight else None,
                self.lexical_weight,
            )
            best = scored[0].entry_id if scored else None
            offer = buttons(scored)
            mine = self.variants_of.get(best, ())  # the best entry's questions, as live
            facts = QueryFacts(
                words=len(tokenize(query.text)), questions=len(mine),
                uncovered=self.lexical.uncovered_share(query.text, mine)
                if self.lexical_weight else 0.0,
                classified=self.classifier.features(query.vector, best,
                                                    offered=[s.entry_id for s in offer])
                if self.classifier else NO_CLASSIFIER)
            rows["x"].append(feature_vector(scored, facts))
            rows["in_scope"].append(query.truth is not None)
            rows["right"].append(query.truth is not None and bool(scored)
                                 and scored[0].entry_id == query.truth)
            rows["among"].append(query.truth is not None
                                 and any(s.entry_id == query.truth for s in offer))
            rows["offerable"].append(bool(offer))
            rows["source"].append(query.source)
            rows["group"].append(query.group)
        return Probes(np.array(rows["x"]), *(np.array(rows[f], dtype=bool)
                      for f in ("in_scope", "right", "among", "offerable")),
                      np.array(rows["source"]), np.array(rows["group"], dtype=int))


def collect_probes(
    entry_of_variant: np.ndarray,
    vectors: np.ndarray,
    texts: list[str],
    *,
    bank: tuple | None = None,
    languages: np.ndarray | None = None,
    folds: int = FOLDS,
    per_entry: int = PER_ENTRY,
    lexical_weight: float = 0.0,
    classify: bool = False,
    seed: int = 0,
) -> Probes:
    """Probes from hidden questions, hidden entries and (when given: vectors, texts and
    optionally languages) the bank. `languages`: each question's entry's language; each probe
    then searches as an asker of its language would. `classify`: with the features of an
    entry classifier fitted on each fold's visible questions, as the live KB has one
    (`EntryClassifier.suits` the whole KB)."""
    rng = np.random.default_rng(seed)
    entries = np.unique(entry_of_variant)
    bank_queries = _bank_queries(bank, vectors) if bank is not None and len(entries) else []
    if len(entries) < 3:  # no folds: the bank alone, against the whole KB
        whole = FoldSearch(np.arange(len(entry_of_variant)), entry_of_variant, vectors, texts,
                           lexical_weight, languages, classify)
        return whole.probes(bank_queries)
    # The bank is searched inside the folds too, so that every probe meets a KB of the same
    # shape (a KB with one question fewer per entry must not tell bank probes apart).
    folds = min(folds, len(entries))
    fold_of_entry = dict(zip(rng.permutation(entries).tolist(), np.arange(len(entries)) % folds,
                             strict=True))
    by_entry = {e: np.flatnonzero(entry_of_variant == e) for e in entries.tolist()}
    # A KB of few entries hides few per fold: each then gives more of its questions, so the
    # unanswerable side of every fold has about HIDDEN_PROBES probes.
    per_hidden = max(per_entry, HIDDEN_PROBES * folds // len(entries))
    parts = []
    for fold in range(folds):
        hidden = np.zeros(len(entry_of_variant), dtype=bool)
        queries: list[Query] = bank_queries[fold::folds]
        gone = [e for e, f in fold_of_entry.items() if f == fold]
        for e in gone:
            hidden[by_entry[e]] = True
        asked = np.concatenate([rng.permutation(by_entry[e])[:per_hidden] for e in gone])
        queries += [Query(vectors[r], texts[r], None, "entry", _language(languages, r),
                          int(entry_of_variant[r]))
                    for r in rng.permutation(asked)[:MAX_FOLD_PROBES].tolist()]
        # A large KB is sampled: a few thousand probes per fold tell as much as all of them.
        kept = [e for e, f in fold_of_entry.items() if f != fold and len(by_entry[e]) > 1]
        for e in rng.permutation(kept)[:MAX_FOLD_PROBES].tolist():
            rows = by_entry[e]
            take = max(1, min(per_entry, len(rows) // 5))
            for r in rng.permutation(rows)[:take].tolist():
                hidden[r] = True
                queries.append(Query(vectors[r], texts[r], e, "variant", _language(languages, r)))
        search = FoldSearch(np.flatnonzero(~hidden), entry_of_variant, vectors, texts,
                            lexical_weight, languages, classify)
        parts.append(search.probes(queries))
    return Probes.join(parts)


def _bank_queries(bank: tuple, vectors: np.ndarray) -> list[Query]:
    """The bank's questions as probes (vectors, texts and optionally languages), but those
    nearly a KB question: this KB answers them."""
    bank_vectors, bank_texts = bank[0], bank[1]
    bank_languages = bank[2] if len(bank) > 2 else [""] * len(bank_texts)
    nearest = (bank_vectors @ vectors.T).max(axis=1)
    return [Query(v, t, None, "bank", language)
            for v, t, language, n in zip(bank_vectors, bank_texts, bank_languages, nearest,
                                         strict=True)
            if n < BANK_NEAR_DUPLICATE]


def _language(languages: np.ndarray | None, row: int) -> str:
    return "" if languages is None else str(languages[row])
