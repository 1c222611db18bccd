"""The words customers use for products, colours, sizes and what they ask, in Italian and
English, folded the way `fold` folds a question (no case, no accents, no punctuation).

Word lists, not a trained model: they do not change with every NLU training, they can be
read and extended by the shop, and a wrong answer about a product is worse than none, so
every list errs on the side of recognising less.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_APOSTROPHES = re.compile(r"[’'`´]")
_NON_WORD = re.compile(r"[^\w%.,]+|(?<!\d)[.,]|[.,](?!\d)")
_SPACE = re.compile(r"\s+")


@lru_cache(maxsize=8192)  # an index build folds each title three times
def fold(text: str) -> str:
    """Lower case, no accents, apostrophes and punctuation as spaces ("c'è" -> "c e"),
    decimal points kept inside numbers ("15,6" stays): customers type without accents."""
    text = unicodedata.normalize("NFKD", text.casefold())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = _APOSTROPHES.sub(" ", text).replace("×", " x ").replace("\"", " pollici ")
    return _SPACE.sub(" ", _NON_WORD.sub(" ", text)).strip()


def stem(word: str) -> str:
    """A crude stem that makes singular and plural meet: Italian final vowel, English
    final s ("borsa"/"borse", "sciarpa"/"sciarpe", "bag"/"bags")."""
    if len(word) >= 4 and word.endswith("s") and not word.endswith("ss"):
        word = word[:-1]
    if len(word) >= 5 and word[-1] in "aeio":
        return word[:-1]
    return word


def phrases(text: str) -> str:
    """Multi-word names joined into one token, for titles and questions alike."""
    return _SPACE.sub(" ", _JOINED_PATTERN.sub(lambda m: JOINED[m.group(1)], text)).strip()


# Multi-word product words that must not be read word by word ("belt bag" is no belt).
JOINED = {
    "belt bag": "beltbag", "bum bag": "beltbag", "fanny pack": "beltbag", "belt bags": "beltbag",
    "bum bags": "beltbag", "fanny packs": "beltbag",  # a category ("Bags > Belt bags")
    "card holder": "cardholder", "key ring": "keyring", "key chain": "keyring",
    "crew neck": "crewneck", "roll neck": "rollneck", "polo neck": "rollneck",
    "bed set": "bedset", "ballet flats": "balletflats", "ballet flat": "balletflats",
    "completo letto": "completoletto", "piazza e mezza": "piazzaemezza",
    "small double": "smalldouble", "taglia unica": "tagliaunica", "one size": "tagliaunica",
    "borsa a mano": "borsamano", "borsa da mano": "borsamano", "borse a mano": "borsamano",
    "scarpe da ginnastica": "sneakers", "lace ups": "laceups", "lace up": "laceups",
    "ankle boots": "ankleboots", "chelsea boots": "ankleboots",
    "dolce vita": "dolcevita", "bottega aurora": "", "borsa a tracolla": "borsatracolla",
    "crossbody bag": "borsatracolla",
}

_JOINED_PATTERN = re.compile(
    r"(?<!\S)(" + "|".join(sorted(map(re.escape, JOINED), key=len, reverse=True)) + r")(?!\S)")

# -- products -------------------------------------------------------------------------------
# A product is named by one of these nouns (any language, plural or synonym), or by its
# proper name: material words ("pelle", "lana") alone never name a product.
HEADS: dict[str, tuple[str, ...]] = {
    "scarf": ("sciarpa", "sciarpe", "sciarpina", "scarf", "scarves", "scarfs"),
    "foulard": ("foulard", "fular"),
    "bandana": ("bandana", "bandane"),
    "stole": ("stola", "stole", "scialle", "shawl"),
    "bag": ("borsa", "borse", "borsetta", "bag", "bags", "purse"),
    "handbag": ("borsamano", "handbag", "handbags"),
    "tote": ("tote", "totes"),
    "shopper": ("shopper", "shoppers", "shopping bag"),
    "crossbody": ("borsatracolla", "crossbody"),
    "bucket": ("secchiello", "bucket"),
    "weekender": ("borsone", "weekender", "duffle", "duffel"),
    "backpack": ("zaino", "zaini", "zainetto", "backpack", "rucksack"),
    "briefcase": ("cartella", "briefcase", "ventiquattrore"),
    "clutch": ("pochette", "clutch"),
    "beltbag": ("marsupio", "marsupi", "beltbag"),
    "boots": ("stivali", "stivale", "boots", "boot"),
    "ankleboots": ("stivaletti", "stivaletto", "ankleboots", "chelsea"),
    "loafers": ("mocassini", "mocassino", "loafers", "loafer"),
    "sneakers": ("sneakers", "sneaker", "trainers", "snikers", "sniker", "snickers"),
    "flats": ("ballerine", "ballerina", "balletflats", "flats"),
    "sandals": ("sandali", "sandalo", "sandals", "sandal"),
    "laceups": ("stringate", "stringata", "oxford", "oxfords", "laceups"),
    "shoes": ("scarpe", "scarpa", "shoes", "shoe", "calzature"),
    "coat": ("cappotto", "cappotti", "coat", "coats", "soprabito", "overcoat"),
    "trench": ("trench", "impermeabile"),
    "jacket": ("giacca", "giacche", "jacket", "blazer", "giacchetta"),
    "sweater": ("maglione", "maglioni", "maglia", "sweater", "jumper", "pullover", "crewneck"),
    "cardigan": ("cardigan", "cardigans"),
    "rollneck": ("dolcevita", "rollneck", "turtleneck", "lupetto"),
    "shirt": ("camicia", "camicie", "shirt", "shirts", "blouse", "camicetta"),
    "trousers": ("pantaloni", "pantalone", "trousers", "pants"),
    "skirt": ("gonna", "gonne", "skirt"),
    "dress": ("abito", "abiti", "vestito", "vestiti", "dress"),
    "belt": ("cintura", "cinture", "cinta", "belt", "belts"),
    "wallet": ("portafoglio", "portafogli", "wallet"),
    "cardholder": ("portacarte", "cardholder", "porta carte"),
    "keyring": ("portachiavi", "keyring"),
    "gloves": ("guanti", "guanto", "gloves", "glove"),
    "hat": ("cappello", "cappelli", "hat", "fedora"),
    "beanie": ("berretto", "berretta", "beanie", "cuffia", "berretti"),
    "bedding": ("completoletto", "lenzuola", "lenzuolo", "bedset", "sheets", "bedding", "bed",
                "letto"),
}
# Nouns of one family: a question using one of them on the page of a product of the same
# family is about that product ("how big is the tote?" on the shopper's page).
FAMILIES_OF_HEADS: dict[str, str] = {
    **dict.fromkeys(("bag", "handbag", "tote", "shopper", "crossbody", "bucket", "weekender",
                     "backpack",
                     "briefcase", "clutch", "beltbag"), "bags"),
    **dict.fromkeys(("boots", "ankleboots", "loafers", "sneakers", "flats", "sandals", "laceups",
                     "shoes"), "shoes"),
    **dict.fromkeys(("scarf", "foulard", "bandana", "stole"), "scarves"),
    **dict.fromkeys(("coat", "trench", "jacket"), "outerwear"),
    **dict.fromkeys(("sweater", "cardigan", "rollneck"), "knitwear"),
    **dict.fromkeys(("wallet", "cardholder", "keyring"), "small leather goods"),
    **dict.fromkeys(("hat", "beanie"), "hats"),
}
# Proper names of the demo shop's lines: they name a product on their own ("the Aurora").
# The shop's own name is removed before matching ("Bottega Aurora" names no product).
PROPER = ("aurora", "nina", "dante", "leonardo", "serena", "lucia", "riviera", "chelsea",
          "oxford")
# Materials and other words that only help to choose between products already named.
MATERIALS: dict[str, str] = {  # word -> the material it names (Italian and English meet)
    "pelle": "leather", "leather": "leather", "cuoio": "leather", "vitello": "leather",
    "calf": "leather", "nappa": "leather", "lana": "wool", "wool": "wool", "seta": "silk",
    "silk": "silk", "cashmere": "cashmere", "cachemire": "cashmere", "kashmir": "cashmere",
    "casmere": "cashmere", "merino": "merino", "merinos": "merino", "lino": "linen",
    "linen": "linen", "cotone": "cotton", "cotton": "cotton", "tela": "canvas",
    "canvas": "canvas", "camoscio": "suede", "suede": "suede", "feltro": "felt", "felt": "felt",
    "panno": "cloth", "cloth": "cloth", "gabardine": "gabardine", "twill": "twill",
    "viscosa": "viscose", "viscose": "viscose", "poliestere": "polyester",
    "polyester": "polyester", "poliammide": "polyamide", "polyamide": "polyamide",
    "gomma": "rubber", "rubber": "rubber", "ottone": "brass", "brass": "brass",
}
# Parts a material field may name ("fodera 100% cashmere"): asked about, answered only when
# the field names the part.
PARTS: dict[str, tuple[str, ...]] = {
    "lining": ("fodera", "fodere", "foderato", "foderata", "foderati", "foderate", "lining",
               "lined", "unlined", "sfoderato", "sfoderata"),
    "sole": ("suola", "suole", "sole", "soles"),
    "buckle": ("fibbia", "buckle"),
    "buttons": ("bottoni", "bottone", "buttons", "button"),
    "handles": ("manici", "manico", "handles", "handle"),
}
# Words customers add around a question, and articles: see `function_words`.
from catalogue.function_words import FILLERS, STOPWORDS  # noqa: E402, F401  (re-exported)

# -- colours --------------------------------------------------------------------------------
# One concept per colour: the names a feed may use (Italian, English) and what customers
# write. A colour the shop does not sell is still recognised, so the answer can say so.
COLOURS: dict[str, tuple[str, ...]] = {
    "terracotta": ("terracotta", "terra cotta", "color mattone", "rust"),
    "blu notte": ("blu notte", "night blue", "navy", "navy blue", "blu navy", "blu scuro",
                  "dark blue", "midnight blue", "blu marino", "blu marine"),
    "sabbia": ("sabbia", "sand", "beige sabbia"),
    "salvia": ("salvia", "sage", "verde salvia", "sage green"),
    "cammello": ("cammello", "camel", "cammel", "camello"),
    "grigio perla": ("grigio perla", "pearl grey", "pearl gray", "grigio chiaro", "light grey",
                     "light gray"),
    "bordeaux": ("bordeaux", "bordo", "burgundy", "vinaccia", "wine red", "maroon", "bordeau"),
    "nero": ("nero", "nera", "neri", "nere", "black"),
    "antracite": ("antracite", "charcoal", "grigio antracite", "grigio scuro", "dark grey",
                  "dark gray", "charcoal grey"),
    "verde bosco": ("verde bosco", "forest green", "verde scuro", "dark green", "bottle green",
                    "verde bottiglia"),
    "rosso": ("rosso", "rossa", "rossi", "rosse", "red"),
    "naturale": ("color naturale", "colore naturale", "natural colour", "natural color",
                 "ecru", "ecru"),
    "celeste": ("celeste", "azzurro", "azzurra", "light blue", "sky blue", "baby blue"),
    "cipria": ("cipria", "rosa cipria", "powder pink", "blush", "blush pink"),
    "avorio": ("avorio", "ivory", "panna", "cream", "crema"),
    "cuoio": ("cuoio", "color cuoio", "tan", "cognac"),
    "testa di moro": ("testa di moro", "dark brown", "marrone scuro", "moro", "chocolate",
                      "cioccolato"),
    "tabacco": ("tabacco", "tobacco"),
    "grigio": ("grigio", "grigia", "grigi", "grey", "gray"),
    "bianco": ("bianco", "bianca", "bianchi", "bianche", "white"),
    "senape": ("senape", "mustard", "giallo senape", "mustard yellow"),
    "beige": ("beige",),
    "verde oliva": ("verde oliva", "olive green", "olive", "oliva", "verde militare", "khaki"),
    "blu cobalto": ("blu cobalto", "cobalt blue", "cobalt", "blu elettrico", "royal blue"),
    "rosa antico": ("rosa antico", "dusty pink", "dusty rose", "old rose"),
    "oro": ("oro", "dorato", "dorata", "gold", "golden"),
    "marrone": ("marrone", "brown"),
    # not sold by the demo shop, but asked for
    "verde petrolio": ("verde petrolio", "petrolio", "petrol green", "petrol blue", "petrol",
                       "teal", "ottanio", "blu petrolio", "verde ottanio"),
    "verde acqua": ("verde acqua", "mint", "menta", "acquamarina", "aqua"),
    "giallo": ("giallo", "gialla", "yellow"),
    "arancione": ("arancione", "arancio", "orange"),
    "viola": ("viola", "purple", "violet", "lilla", "lilac", "lavanda", "lavender"),
    "fucsia": ("fucsia", "fuchsia", "magenta"),
    "turchese": ("turchese", "turquoise"),
    "rosa": ("rosa", "pink"),
    "verde": ("verde", "green"),
    "blu": ("blu", "blue"),
    "argento": ("argento", "argentato", "silver"),
    "leopardato": ("leopardato", "animalier", "leopard"),
}
# A general colour word stands for the shop's shades of it when a product has exactly one
# ("la sciarpa blu" on a page whose only blue is blu notte).
FAMILIES: dict[str, tuple[str, ...]] = {
    "blu": ("blu notte", "blu cobalto"),
    "verde": ("salvia", "verde bosco", "verde oliva"),
    "grigio": ("grigio perla", "antracite"),
    "rosa": ("cipria", "rosa antico"),
    "marrone": ("testa di moro", "tabacco", "cuoio"),
}
# Colour words that are also ordinary words: only a colour after "color", "colore", "in".
GUARDED_COLOURS = frozenset({"oro", "gold", "moro", "crema", "cream", "petrol", "menta", "mint",
                             "aqua", "panna", "bordo"})

# -- sizes ----------------------------------------------------------------------------------
LETTER_SIZES = ("xxs", "xs", "s", "m", "l", "xl", "xxl", "xxxl")
# Named sizes across the two languages (the feed spells them per language).
NAMED_SIZES: dict[str, tuple[str, ...]] = {
    "singolo": ("singolo", "single", "una piazza", "letto singolo"),
    "piazza e mezza": ("piazzaemezza", "smalldouble", "una piazza e mezza"),
    "matrimoniale": ("matrimoniale", "double", "letto matrimoniale", "due piazze"),
    "king": ("king", "king size", "super king"),
    "queen": ("queen", "queen size"),
}
WORD_SIZES = {"extra small": "xs", "small": "s", "medium": "m", "large": "l",
              "extra large": "xl", "piccola": "s", "media": "m"}

# Real words one letter away from a cue word: never read as its typo ("pezzo" / "prezzo").
NOT_TYPOS = frozenset({"pezzo", "pezzi", "mezzo", "mezza", "posto", "resto", "testa", "tasca",
                       "tasche", "lavoro", "colla", "colle", "costa", "coste", "tagli",
                       "sconto", "conto", "carta", "carte", "torna", "forma"})

# -- what fits ------------------------------------------------------------------------------
# Typical footprints (cm) of laptops by screen diagonal; thickness about 2 cm. Approximate,
# and the answer says "circa" / "about".
LAPTOPS: dict[int, tuple[float, float]] = {
    11: (29, 20), 12: (29, 21), 13: (31, 22), 14: (33, 23), 15: (36, 25), 16: (36, 26),
    17: (40, 27),
}
LAPTOP_THICKNESS = 2.0
A4 = (29.7, 21.0, 1.0)  # a sheet or a thin folder
TABLET = (25.0, 18.0, 1.0)  # an 11-inch tablet
LAPTOP_WORDS = ("portatile", "portatili", "laptop", "laptops", "notebook", "macbook", "pc",
                "computer", "computer portatile", "ultrabook", "chromebook", "mac", "thinkpad")
A4_WORDS = ("a4", "formato a4", "fogli a4", "documenti", "cartellina", "raccoglitore",
            "folder", "documents", "quaderno")
TABLET_WORDS = ("ipad", "tablet")

# -- what is asked --------------------------------------------------------------------------
# Cue words (folded); a cue ending in "*" is a prefix. Multi-word cues are matched in the
# folded text. Order of precedence is in `understanding._attribute`.
CUES: dict[str, tuple[str, ...]] = {
    # shop policy asked on a product page: the FAQ answers these, not the catalogue
    "policy": (
        "spedizion*", "spedisc*", "spedit*", "spedire", "consegn*", "corriere", "tracking",
        "reso", "resi", "rendere", "restitu*", "rimbors*", "cambio", "cambiare", "cambiarl*",
        "sostitu*", "sbagliato",
        "pagare", "pago", "pagament*", "paypal", "bonifico", "carta di credito", "klarna",
        "satispay", "contrassegno", "rate", "fattura", "garanzia", "dogana", "dazi",
        "il mio ordine", "l ordine", "numero d ordine", "ordine n", "codice sconto", "coupon",
        "buono", "gift card", "newsletter", "negozio", "ritiro", "confezione regalo",
        "pacchetto regalo", "pacchetti regalo", "confezioni regalo", "impacchett*", "incart*",
        "gift box", "gift boxes", "personalizz*", "iniziali", "made in italy", "fatto in italia",
        "fatta in italia", "fatti in italia", "prodotto in italia", "prodotta in italia",
        "shipping", "ship", "ships", "shipped", "deliver*", "courier", "return*", "refund*",
        "exchange", "pay", "paying", "payment*", "invoice", "warranty", "guarantee", "customs",
        "duties", "my order", "order number", "discount code", "promo code", "voucher",
        "store", "in shop", "pick up", "pickup", "collect", "gift wrap*", "personalis*",
        "personaliz*", "initials", "made in", "arriva per", "arrivare per", "arriva entro",
        "arriva in tempo", "in tempo per", "per natale", "entro natale", "mi arriva",
        "ci mette", "ci vuole", "arrive by", "arrive in time", "in time for", "get it by",
        "se ordino", "if i order",
    ),
    # plans the catalogue cannot know: new colours, next season
    "future": (
        "nuovi colori", "nuove taglie", "nuove colorazioni", "prossima stagione", "in futuro",
        "farete", "produrrete", "new colours", "new colors", "new sizes", "next season",
        "in the future", "will you make", "will there be", "are you planning",
    ),
    # comparisons, other versions, how long a sale lasts: never answered from the data,
    # whatever else the question asks
    "beyond": (
        "fino a quando", "until when", "differenza", "differenze", "difference", "compar*",
        "confront*", "meglio", "better", "versione", "version", "smaller", "bigger",
        "larger one", "piu piccol*", "piu grand*", "matching", "abbinat*", "coordinat*",
        "similar", "simile", "simili", "doppiopetto", "double breasted", "monopetto",
        "single breasted", "altri modelli", "other models",
    ),
    # product facts no feed column holds: never answered from the catalogue
    "unknown": (
        "impermeabil*", "waterproof", "water resistant", "trasparent*", "see through", "sheer",
        "cabin", "carry on", "bagaglio a mano", "hand luggage", "unisex", "pesa", "peso",
        "weigh*", "zip", "cerniera", "tasche", "tasca", "pocket*", "imbottit*", "padded",
        "tracolla", "strap", "manico", "manici", "handle*", "tacco", "heel", "risuola*",
        "resole", "stropiccia", "crease*", "wrinkle*",
        "pizzica", "itchy", "itch", "punge", "pill", "pilling", "pallini", "morbid*", "soft",
        "caldo", "calda", "warm", "comod*", "comfortable",
    ),
    # how a garment fits a body: the FAQ's size advice, not catalogue data
    "fit_advice": (
        "veste", "vestono", "vestibilita", "calza", "calzano", "calzata", "pianta",
        "che taglia prendo", "che taglia mi", "quale taglia", "che numero prendo",
        "come scelgo", "scegliere la taglia", "numero giusto", "taglia giusta", "right size",
        "piede largo", "piede stretto", "wide feet", "wide fit", "vanno bene", "va bene",
        "which size", "choose the size", "choose a size", "what size am i",
        "consigli*", "guida alle taglie", "tabella", "tra due taglie", "stretto", "stretta",
        "abbondante", "abbondanti", "true to size", "run small", "runs small", "run large",
        "runs large", "run big", "runs big", "size up", "size down", "which size should",
        "what size should", "recommend*", "size guide", "size chart", "conversion", "uk", "uk size",
        "us size", "fit me", "how does it fit", "how do they fit",
    ),
    "fits": (
        "entra", "entrano", "ci entra", "ci sta", "ci stanno", "ci va", "ci vanno", "sta dentro",
        "contenere", "contiene", "capiente", "fit", "fits", "fit in", "big enough", "large enough",
        "room for", "hold", "holds", "carry",
    ),
    "inner": ("intern*", "dentro", "inside", "inner", "interior", "scomparto", "compartment"),
    "restock": (
        "torna", "tornera", "tornano", "torneranno", "ritorna", "ritornera", "riassort*",
        "rientr*", "di nuovo disponibil*", "nuovamente", "di nuovo", "riav*", "rifate",
        "rifarete", "rifar*", "ritorn*", "quando arriva", "quando arrivano", "rimettete",
        "quando sara disponibil*", "quando saranno disponibil*", "quando e disponibil*", "avvisa*",
        "restock*", "back in stock", "be back",
        "come back", "coming back", "in stock again", "available again", "when will",
        "when is it", "when are", "be available", "back",
    ),
    "price": (
        "prezzo", "prezzi", "costa", "costano", "costo", "quanto viene", "quanto vengono",
        "quanto la fate", "quanto lo fate", "euro", "eur", "sconto", "scontat*", "saldo",
        "saldi", "in offerta", "promozione", "price", "prices", "cost", "costs", "how much",
        "discount*", "on sale", "sale", "cheaper", "€",
    ),
    "care": (
        "lava*", "lavaggio", "lavatrice", "lavabile", "lavare", "pulire", "pulisco", "pulisce",
        "pulizia", "smacchia*", "asciugatrice", "asciugare", "stira*", "cura", "curare",
        "manutenzione", "secco", "wash*", "clean*", "care", "dry clean", "iron", "ironing",
        "dryer", "washing machine", "machine wash*", "come si tratta", "trattare",
        "trattamento", "treat",
        "tumble", "laundry", "look after", "maintain", "lavo", "lavi", "lavano", "stiro",
        "stiri", "stirano", "pulisci", "puliscono", "pulirl*", "come lo tratto", "come la tratto",
    ),
    "material": (
        "materiale", "materiali", "di cosa e fatt*", "di che cosa e", "fatto di", "fatta di",
        "di che lana", "di che pelle", "di che tessuto", "che lana", "che pelle", "che tessuto",
        "misto", "mista", "what material", "what fabric", "blend", "similpelle", "ecopelle",
        "finta pelle", "faux leather", "vegan leather", "fake leather", "pleather",
        "fatti di", "fatte di", "composizione", "tessuto", "stoffa", "filato", "vera pelle",
        "pelle vera", "pura lana", "puro", "pura", "sintetic*", "material", "materials",
        "made of", "made from", "fabric", "composition", "real leather", "genuine leather",
        "synthetic", "%", "percentual*", "mix", "vegan", "vegano", "vegana",
    ),
    "dimensions": (
        "misure", "misura", "dimensioni", "dimensione", "grande", "grandezza", "quanto e lung*",
        "quanto e larg*", "quanto e alt*", "lunghezza", "larghezza", "altezza", "profondita",
        "ingombro", "cm", "centimetri", "lungo", "lunga", "largo", "larga", "long", "wide",
        "dimensions", "dimension", "measurements", "measure*",
        "how big", "how large", "how long", "how wide", "how tall", "how deep", "length",
        "width", "height", "depth",
    ),
    # measures that only a dimension has: they win over "misure"/"size" ("misure della
    # cintura in cm" asks centimetres, not the belt's sizes)
    "measures": (
        "cm", "centimetri", "mm", "larghezza", "lunghezza", "altezza", "profondita", "width",
        "length", "height", "depth", "how long", "how wide", "how tall", "how deep",
    ),
    # "when do you get them again", "le riprendete?": an availability question that asks
    # when, i.e. the restock
    "again": ("again", "riprend*", "when", "quando", "date", "data"),
    # "partono dal 36?", "do they go up to 45?": the range of sizes, not one size's stock
    "size_range": ("partono da*", "parte da*", "arrivano fino a*", "arriva fino a*",
                   "vanno da*", "go up to", "goes up to", "start at", "start from"),
    # "is it only in black?" asks the colours, not whether black is in stock
    "only": ("only", "solo", "soltanto", "solamente", "just", "unico", "unica"),
    "sizes": (
        "taglie", "taglia", "numeri", "numero", "misure disponibili", "sizes", "size",
        "che numeri", "what sizes", "which sizes", "tagliaunica", "numerazione",
    ),
    "colours": (
        "colori", "colore", "colorazioni", "colorazione", "tinte", "tinta", "varianti",
        "colours", "colors", "colour", "color", "shades", "shade",
    ),
    # "anything other than beige": the colours, even with a colour named
    "other_colours": (
        "other than", "apart from", "besides", "anything other", "altri colori", "altro colore",
        "oltre al", "oltre il", "oltre a", "a parte il", "a parte", "other colours",
        "other colors", "another colour", "another color", "diverso da",
    ),
    "availability": (
        "disponibil*", "avete", "ce l avete", "c e", "ci sono", "esiste", "esistono",
        "esaurit*", "finit*", "terminat*", "ancora", "in stock", "available", "availability",
        "do you have", "have it", "have them", "sold out", "out of stock", "is there",
        "are there", "still", "any left", "in magazzino", "vendete", "ultimo pezzo",
        "ultimi pezzi", "last one",
    ),
}
