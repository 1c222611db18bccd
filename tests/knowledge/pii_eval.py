"""Scoring a personal-data recogniser on tests/knowledge/data/pii_sentences.yaml: recall
per kind of what must go, precision per kind of what was found, and what must stay."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

SENTENCES = Path(__file__).resolve().parent / "data" / "pii_sentences.yaml"
Spans = Iterable[tuple[int, int, str]]  # (start, end, kind)


@dataclass(frozen=True)
class Case:
    lang: str
    text: str
    pii: dict[str, tuple[str, ...]]
    keep: tuple[str, ...]

    def gold(self) -> list[tuple[int, int, str]]:
        return [(self.text.index(part), self.text.index(part) + len(part), kind)
                for kind, parts in self.pii.items() for part in parts]


@dataclass
class Score:
    found: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    right: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    gold: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    caught: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    leaks: list[tuple[str, str]] = field(default_factory=list)  # (kind, text)
    damaged: list[tuple[str, str]] = field(default_factory=list)  # (kept text, sentence)

    def recall(self, kind: str) -> float:
        return self.caught[kind] / self.gold[kind] if self.gold[kind] else 1.0

    def precision(self, kind: str) -> float:
        return self.right[kind] / self.found[kind] if self.found[kind] else 1.0

    def table(self) -> str:
        kinds = sorted(set(self.gold) | set(self.found))
        lines = ["kind          gold  recall  found  precision"]
        for kind in kinds:
            lines.append(f"{kind:<12} {self.gold[kind]:>5}  {self.recall(kind):>6.1%}  "
                         f"{self.found[kind]:>5}  {self.precision(kind):>9.1%}")
        lines.append(f"kept text damaged: {len(self.damaged)}")
        return "\n".join(lines)


def load_cases(path: Path = SENTENCES) -> list[Case]:
    cases = []
    for item in yaml.safe_load(path.read_text(encoding="utf-8")):
        pii = {kind: tuple(str(p) for p in parts)
               for kind, parts in (item.get("pii") or {}).items()}
        cases.append(Case(item["lang"], item["text"], pii,
                          tuple(str(k) for k in item.get("keep", []))))
    return cases


def evaluate(find: Callable[[str, str], Spans], cases: list[Case]) -> Score:
    """`find(text, lang)` gives the spans it would scrub. A gold span is caught when every
    character of it lies in found spans; a found span is right when it overlaps a gold
    one; kept text is damaged when a found span overlaps it."""
    score = Score()
    for case in cases:
        found = list(find(case.text, case.lang))
        covered = set()
        for start, end, _kind in found:
            covered.update(range(start, end))
        gold = case.gold()
        for start, end, kind in gold:
            score.gold[kind] += 1
            if all(i in covered for i in range(start, end)):
                score.caught[kind] += 1
            else:
                score.leaks.append((kind, case.text[start:end]))
        for start, end, kind in found:
            score.found[kind] += 1
            score.right[kind] += any(start < g_end and g_start < end
                                     for g_start, g_end, _ in gold)
        for kept in case.keep:
            k_start = case.text.index(kept)
            if any(start < k_start + len(kept) and k_start < end for start, end, _ in found):
                score.damaged.append((kept, case.text))
    return score
