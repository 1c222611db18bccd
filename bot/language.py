"""Which language a conversation is in.

A conversation starts in the browser's language (or Italian) and switches only
when a message is clearly written in another one: one-word messages such as "ok"
or "no" are ambiguous and must not flip the conversation.
"""

from __future__ import annotations

from functools import lru_cache

from lingua import Language, LanguageDetector, LanguageDetectorBuilder

from knowledge.text import clean

SERVED = {"it", "en"}
DEFAULT = "it"
# Other languages are recognised so that a German question is not read as bad Italian;
# the bot then answers in English, the lingua franca of its two.
_KNOWN = (Language.ITALIAN, Language.ENGLISH, Language.FRENCH, Language.GERMAN, Language.SPANISH)
_CONFIDENT = 0.6  # ... and at least twice the runner-up
_CONFIDENT_SHORT = 0.9  # single words need more
_COMMON_SHORT = {  # frequent one-word openers lingua cannot place reliably
    "ciao": "it", "salve": "it", "grazie": "it", "buongiorno": "it", "buonasera": "it",
    "hello": "en", "hi": "en", "hey": "en", "thanks": "en", "thank": "en",
}


@lru_cache(maxsize=1)
def _detector() -> LanguageDetector:
    return LanguageDetectorBuilder.from_languages(*_KNOWN).with_preloaded_language_models().build()


def warm_up() -> None:
    _detector()


def detect(text: str) -> str | None:
    """'it', 'en' (also for other languages), or None when the text does not say."""
    text = clean(text)[:500]  # also drops lone surrogates, which the detector cannot encode
    words = text.split()
    if not words:
        return None
    if len(words) <= 2 and words[0].strip("!.,?").casefold() in _COMMON_SHORT:
        return _COMMON_SHORT[words[0].strip("!.,?").casefold()]
    values = _detector().compute_language_confidence_values(text)
    best, runner_up = values[0], values[1]
    needed = _CONFIDENT_SHORT if len(words) == 1 else _CONFIDENT
    if best.value < needed or best.value < 2 * runner_up.value:
        return None
    code = best.language.iso_code_639_1.name.lower()
    return code if code in SERVED else "en"


def conversation_language(text: str, current: str | None, hint: str | None = None) -> str:
    """The language to answer in: the message's when clear, else the conversation's so far,
    else the browser's hint, else Italian."""
    detected = detect(text)
    if detected:
        return detected
    if current in SERVED:
        return current
    hint = (hint or "")[:2].lower()
    return hint if hint in SERVED else DEFAULT
