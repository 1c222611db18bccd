"""Which language a conversation is in.

A conversation starts in the browser's language (or Italian) and switches only
when a message is clearly written in another one: one-word messages such as "ok"
or "no" are ambiguous and must not flip the conversation.
"""

from __future__ import annotations

import re
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


# -- what a message is made of ------------------------------------------------------------
# The NLU model changes with every training; these word lists do not. The actions use
# them so that two turns come out right whatever intent the model guessed.
_THANKS = {"grazie", "ringrazio", "thanks", "thank", "thx", "ty", "cheers"}
_FAREWELLS = {"ciao", "arrivederci", "arrivederla", "addio", "salutoni", "saluti", "buonanotte",
              "bye", "goodbye", "goodnight", "farewell"}
_FAREWELL_PHRASES = ("a presto", "buona giornata", "buona serata", "buon weekend",
                     "alla prossima", "see you", "have a nice day", "have a good day",
                     "good night", "take care")
_COURTESY = {  # may stand beside thanks and goodbye without making it a question
    "ok", "okay", "oki", "perfetto", "perfetta", "perfect", "great", "bene", "benissimo",
    "ottimo", "va", "allora", "e", "and", "then", "mille", "tante", "tantissime", "infinite",
    "molte", "so", "much", "very", "you", "a", "for", "the", "your", "help", "per", "l", "aiuto",
    "tutto", "di", "nuovo", "again", "ancora", "all", "right", "alright", "cool", "fine", "nice",
    "good", "day", "have", "see", "presto", "buona", "buon", "giornata", "serata", "weekend",
    "prossima", "alla", "later", "soon", "take", "care", "lovely", "super", "gentilissimo",
    "gentilissima", "gentile", "kind", "molto", "davvero", "really", "capito", "got", "it",
    "sì", "si", "yes", "now", "ora", "everything", "that's", "that", "lot", "many",
}
# A message the NLU filed as small talk is a shop question when it asks (a question mark or
# a question's first word) about shop things: these word beginnings, Italian and English.
_QUESTION_OPENERS = {
    "posso", "possiamo", "potete", "puoi", "può", "come", "quanto", "quanta", "quanti",
    "quante", "quando", "dove", "qual", "quale", "quali", "cosa", "avete", "fate", "vendete",
    "vorrei", "cerco", "esiste", "c'è", "si", "can", "could", "do", "does", "is", "are", "will",
    "would", "how", "what", "when", "where", "which", "may", "have", "has", "should", "any",
}
_SHOP_WORDS = (
    "compra", "compro", "compri", "compre", "acquist", "ordin", "noleggi", "affitt", "tagli",
    "misur", "prezz", "cost", "scont", "saldi", "vend", "disponib", "prodott", "articol",
    "vestit", "camici", "scarp", "giacc", "cappott", "sciarp", "borsa", "borse", "maglion",
    "gonn", "pantalon", "regal", "sped", "consegn", "rimbors", "pagament", "pagare", "fattur",
    "garanzi", "tessut", "material", "negozi", "collezion", "indoss", "reso", "resi",
    "restitu", "buy", "bought", "purchas", "order", "rent", "hire", "borrow", "size", "price",
    "cost", "cheap", "discount", "sell", "stock", "availab", "product", "item", "dress",
    "shirt", "shoe", "jacket", "coat", "scarf", "scarves", "handbag", "sweater", "skirt",
    "trouser", "jeans", "gift", "shipping", "deliver", "return", "refund", "exchang", "pay",
    "invoice", "warrant", "fabric", "tailor", "shop", "collection",
    "wear", "voucher", "coupon", "parcel", "checkout",
)


def _words(text: str) -> list[str]:
    return re.findall(r"[^\W\d_]+(?:'[^\W\d_]+)?", clean(text)[:500].casefold())


def thanks_and_goodbye(text: str) -> bool:
    """'ok grazie, ciao!', 'grazie mille, buona giornata', 'thanks, bye!': a thanks that
    ends the conversation. Only courtesy words, no question: 'grazie, ciao, ma la taglia?'
    is not one."""
    words = _words(text)
    if not words or len(words) > 12 or "?" in text:
        return False
    joined = " ".join(words)
    farewell = any(w in _FAREWELLS for w in words) or any(p in joined for p in _FAREWELL_PHRASES)
    known = _THANKS | _FAREWELLS | _COURTESY
    return farewell and any(w in _THANKS for w in words) and all(w in known for w in words)


def shop_question(text: str) -> bool:
    """'Can I rent a dress for a wedding?', 'posso noleggiare un abito?': asks (a question
    mark or a question's first word) and names shop things (buying, renting, sizes...)."""
    words = _words(text)
    asks = "?" in text or bool(words and words[0] in _QUESTION_OPENERS)
    return asks and any(w.startswith(_SHOP_WORDS) for w in words)
