"""Words a product question uses that no list understands.

The rules answer from cue words; a question that also carries a word they do not know
("il cappello di paglia", "la piega resta dopo il lavaggio", "a shop in florence",
"the model's size") may ask something else than the cue suggests: a product the shop
does not sell, a condition the data cannot check, a fact no feed column holds. Such a
question is not answered from the catalogue (a person or the FAQ takes it): a missed
answer costs a hand-over, a wrong one costs the customer's trust.

Understood are: the grammar words of Italian and English (articles, pronouns, auxiliaries,
question words, all-purpose verbs, greetings and chat fillers: `function_words`), every
word of the cue, product, colour, size, material and part lists, the words of the
product's own rows (titles, category, material), numbers and measures, and typos of any of
these (of the long harmless words too).
"""

from __future__ import annotations

import re
from functools import lru_cache

from catalogue import vocabulary as vocab
from catalogue.function_words import HARMLESS, HARMLESS_PHRASES
from catalogue.fuzzy import Lexicon
from catalogue.vocabulary import fold, phrases, stem

# Closed-class words and all-purpose verbs: they carry no condition of their own.
_GRAMMAR = frozenset("""
io tu lui lei noi voi loro me te se ce ve ne mi ti ci vi si gli lo la li le l
qual che chi cosa come dove quando quanto quanta quanti quante quale quali perche
sono sei siamo siete era erano sara saranno stato stata essere e ho hai ha abbiamo avete
hanno avere avrei posso puoi puo possiamo potete possono potrei potrebbe devo deve devono
dovrei vorrei voglio vuoi vuole volevo serve servono fa fanno fate fare faccio fai
trovo trovare trova compro comprare prendo prendere prenderei mettere metto mette
viene vengono venire va vanno andare esiste esce escono
del dal dai dagli dalle dallo nel nello nella nei negli nelle sul sullo sulla sui sugli
sulle col coi tra fra verso senza sopra sotto
anche ancora gia piu meno molto poco tanto troppo solo soltanto proprio davvero sempre
mai ora adesso oggi subito bene non no si ok cosi tutto tutta tutti tutte altro altra
qualche qualcosa ogni oppure quindi pero ma se o ed x ke nn cmq xke xo qnd qlc
sapere dire dirmi sapete saprebbe gentilmente cortesemente mio mia miei mie suo sua suoi
i me my mine you your yours we us our he she it its they them their this that these those
there here what which who whom whose when where why how is are was were be been being am
do does did doing done have has had having will would shall should can could may might
must get gets got make makes go goes come comes take takes find buy order want wanted need
like please thanks the a an of in on at by for from with without about into onto to up
out over under and or but if so than then too also only just very really still even any
some all both each every other another more most much many such same not no yes ok okay
put use
don doesn didn isn aren won wouldn cant dont doesnt isnt ll ve re d m s t u ur pls plz thx
whats wat wot pls sorry excuse tell know let look looking
""".split())
# Words that frame an attribute question without adding a condition: "care instructions",
# "restock date", "what kind of wool", "real leather", "the biggest size", "at home",
# "tumble dry", "size range", "se si macchia come si pulisce".
_FRAMES = frozenset("""
kind type tipo genere instructions istruzioni temperatura temperature gradi degrees home
casa date data vero vera veri vere real genuine biggest smallest largest massima minima max
min paper papers fogli foglio fino arriva arrivano machine mano articolo item items
prodotto product capo
hand dry range macchia macchie stain stains
""".split())
# "42", "15,6", "120cm", "90x90", "100%", and a size glued to its letter ("n37", "a15")
_MEASURE = re.compile(r"^(?:[a-z]{1,2})?\d+(?:[.,]\d+)?(?:cm|mm|m|in|x\d+(?:[.,]\d+)?|%)?$")


def _entries() -> tuple[set[str], set[str], tuple[str, ...]]:
    """(single words, multi-word phrases, prefixes) of every list."""
    entries: set[str] = set()
    prefixes = [c[:-1] for cues in vocab.CUES.values() for c in cues
                if c.endswith("*") and " " not in c]
    entries |= {c.rstrip("*") for cues in vocab.CUES.values() for c in cues}
    entries |= {n for names in vocab.HEADS.values() for n in names}
    entries |= {n for names in vocab.COLOURS.values() for n in names}
    entries |= {n for names in vocab.NAMED_SIZES.values() for n in names}
    entries |= set(vocab.NAMED_SIZES) | set(vocab.WORD_SIZES) | set(vocab.LETTER_SIZES)
    entries |= set(vocab.MATERIALS) | {w for ws in vocab.PARTS.values() for w in ws}
    entries |= set(vocab.LAPTOP_WORDS) | set(vocab.A4_WORDS) | set(vocab.TABLET_WORDS)
    entries |= set(vocab.PROPER) | (set(vocab.JOINED.values()) - {""})
    entries |= set(HARMLESS_PHRASES)
    single = {e for e in entries if " " not in e}
    return single, entries - single, tuple(prefixes)


_SINGLE, _MULTI, _PREFIXES = _entries()
_KNOWN = frozenset(_SINGLE | _GRAMMAR | _FRAMES | vocab.STOPWORDS | vocab.FILLERS | HARMLESS
                   | {"inch", "inches", "pollici", "pollice", "mini", "pro", "air"})
# the words of a phrase are understood only inside it: "bottiglia" alone is no colour
_PHRASE = re.compile(r"(?<!\S)(?:" + "|".join(
    sorted(map(re.escape, _MULTI), key=len, reverse=True)) + r")\w*(?!\S)")  # "dry cleaning"
# typos only of the lists' own words, not of grammar words
_TYPOS = Lexicon(_SINGLE)
TYPO_LENGTH = 7
# typos of long harmless words ("buongirno", "informazoni"): no short one, where a typo is
# one letter from a content word
_HARMLESS_TYPOS = Lexicon(w for w in HARMLESS | _GRAMMAR | vocab.FILLERS if len(w) >= TYPO_LENGTH)


@lru_cache(maxsize=4096)
def _understood(token: str) -> bool:
    if len(token) <= 2 or token in _KNOWN or stem(token) in _KNOWN or _MEASURE.match(token):
        return True
    if token.startswith(_PREFIXES) or stem(token).startswith(_PREFIXES):
        return True
    # a typo only of a long word: short real words are one letter apart ("federe", pillow
    # cases, is no typo of "fodere", linings)
    return len(token) >= TYPO_LENGTH and (_TYPOS.find(token) is not None
                                         or _HARMLESS_TYPOS.find(token) is not None)


@lru_cache(maxsize=65536)
def _words(text: str) -> frozenset[str]:
    folded = fold(text)
    return frozenset((*folded.split(), *phrases(folded).split()))


def own_words(texts: tuple[str, ...]) -> frozenset[str]:
    """The words of a product's rows (titles, categories, materials), folded."""
    return frozenset().union(*map(_words, texts))


def unknown_words(text: str, own: frozenset[str] = frozenset()) -> list[str]:
    """The words of `text` (folded, phrases joined) that nothing understands; `own`: the
    words of the product asked about."""
    rest = _PHRASE.sub(" ", f" {text} ")
    return [t for t in rest.split() if t not in own and not _understood(t)]
