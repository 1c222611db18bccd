"""Compare personal-data recognisers on the scrubber's test sentences.

    python benchmarks/pii_scrubbers.py             # the product's rules
    python benchmarks/pii_scrubbers.py --presidio  # Presidio instead, in an environment with
                                                   # presidio-analyzer (and for NER a spaCy
                                                   # English model)

Prints recall and precision per kind, the start time and the time per sentence, on
tests/knowledge/data/pii_sentences.yaml and the held-out pii_sentences_holdout.yaml.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.knowledge.pii_eval import SENTENCES, evaluate, load_cases  # noqa: E402 (after sys.path)

PRESIDIO_KINDS = {"EMAIL_ADDRESS": "email", "PHONE_NUMBER": "phone", "IBAN_CODE": "iban",
                  "CREDIT_CARD": "card", "IT_FISCAL_CODE": "fiscal_code", "PERSON": "person",
                  "LOCATION": "address"}


def rules():
    from knowledge.privacy import find_personal
    return lambda text, lang: find_personal(text, "IT" if lang == "it" else "GB")


def presidio(model: str | None):
    """Presidio's predefined recognisers for en and it; `model` is a spaCy package for
    NER (PERSON, LOCATION), or None for a blank pipeline (patterns only)."""
    import spacy
    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
    from presidio_analyzer.nlp_engine import NlpEngineProvider

    if model is None:
        model = str(Path(tempfile.mkdtemp(prefix="presidio-blank-")) / "en")
        spacy.blank("en").to_disk(model)
    provider = NlpEngineProvider(nlp_configuration={
        "nlp_engine_name": "spacy",
        "models": [{"lang_code": "en", "model_name": model},
                   {"lang_code": "it", "model_name": model}]})
    registry = RecognizerRegistry(supported_languages=["en", "it"])
    registry.load_predefined_recognizers(languages=["en", "it"])
    engine = AnalyzerEngine(nlp_engine=provider.create_engine(), registry=registry,
                            supported_languages=["en", "it"])

    def find(text, lang):
        hits = engine.analyze(text, language="en") + engine.analyze(text, language="it")
        return [(h.start, h.end, PRESIDIO_KINDS.get(h.entity_type, h.entity_type.lower()))
                for h in hits]
    return find


def measure(name, build):
    started = time.perf_counter()
    find = build()
    cases = load_cases()
    find("warm up", "en")
    load = time.perf_counter() - started
    for path in (SENTENCES, SENTENCES.with_name("pii_sentences_holdout.yaml")):
        cases = load_cases(path)
        began = time.perf_counter()
        score = evaluate(find, cases)
        per_call = (time.perf_counter() - began) / len(cases) * 1000
        print(f"\n== {name} on {path.name} ({len(cases)} sentences): start {load:.2f} s, "
              f"{per_call:.2f} ms per sentence")
        print(score.table())
        print("leaks:", score.leaks)
        print("damaged:", score.damaged)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--presidio", action="store_true")
    parser.add_argument("--spacy-model", default="en_core_web_sm")
    args = parser.parse_args()
    if not args.presidio:
        measure("rules (knowledge.privacy)", rules)
    else:
        measure("presidio, patterns only", lambda: presidio(None))
        measure(f"presidio + spaCy {args.spacy_model}", lambda: presidio(args.spacy_model))


if __name__ == "__main__":
    main()
