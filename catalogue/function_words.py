"""Harmless words: the ones a customer wraps around a product question without adding a
condition of their own, in Italian and English, folded as `vocabulary.fold` folds a
question (no accents, apostrophes as spaces: "dov'è" -> "dov e", "what's" -> "what s").

The unknown-word guard (`unknown_words`) blocks an answer when a question carries a word no
list understands, because such a word may ask something else (a product not sold, a
condition the data cannot check). Its precision depends on those words being content
words; a greeting, a pronoun, a conjugated auxiliary, a chat abbreviation or a written-out
small number does not change what is asked, yet each used to block the answer. So the
lists below are whole closed classes, written from the grammar of the two languages and
from chat usage, not from the questions of any labelled file.

Left out on purpose, because they carry a condition the data cannot check: time words
("dopo", "prima", "domani", "after", "before", "tomorrow"; seasons), comparison words
("uguale", "identico", "compared"), places and object nouns. Numbers written out are left
out too: a count is a condition ("if I buy two") and a larger one may be a size.
"""

from __future__ import annotations

# Articles, prepositions (simple, joined and elided), pronouns and clitic clusters,
# possessives, demonstratives, question words, indefinites, conjunctions, adverbs of
# degree and of affirmation/negation; "al momento", "now"; "questo modello" (the product on
# the page; "la modella", the person, stays unknown).
_ITALIAN_GRAMMAR = """
il lo la i gli le l un uno una di a da in con su per tra fra
del dello della dei degli delle dell al allo alla ai agli alle all dal dallo dalla dai
dagli dalle dall nel nello nella nei negli nelle nell sul sullo sulla sui sugli sulle sull
col coi pel d ad ed od
io tu lui lei egli ella esso essa noi voi loro essi esse me te se mi ti ci vi si gli ne
glielo gliela glieli gliele gliene mene tene cene vene sene ce ve
mio mia miei mie tuo tua tuoi tue suo sua suoi sue nostro nostra nostri nostre vostro
vostra vostri vostre proprio propria propri proprie
questo questa questi queste quello quella quelli quelle quel quei quegli quest quell
stesso stessa stessi stesse
chi che cosa cos come com dove dov quando quanto quanta quanti quante quant quale quali
qual perche percio
qualche qualcosa qualcuno qualcuna alcuni alcune alcun alcuna nessun nessuno nessuna niente
nulla ogni ognuno tutto tutta tutti tutte tutt altro altra altri altre tanto tanta tanti
tante molto molta molti molte poco poca pochi poche troppo parecchio certo certa certi
certe ciascun ciascuno ciascuna
e o ma pero anche pure quindi dunque allora poi infatti oppure ovvero cioe mentre comunque
inoltre magari forse sia ne neanche nemmeno neppure invece
gia ancora sempre mai ora adesso subito ormai appena solo soltanto proprio davvero
veramente effettivamente esattamente sicuramente circa piu meno bene cosi qui qua li la
si no non mica
momento momentaneamente attualmente modello
"""
# Auxiliaries, modals and the all-purpose verbs of a question ("vorrei sapere se...",
# "mi sapete dire", "sto cercando", "mi interessa"), in the persons and tenses used in chat.
_ITALIAN_VERBS = """
sono sei e siamo siete ero eri era eravamo eravate erano saro sarai sara saremo sarete
saranno sarei saresti sarebbe saremmo sareste sarebbero sia siano fosse fossero stato
stata stati state essere
ho hai ha abbiamo avete hanno avevo avevi aveva avevamo avevate avevano avro avrai avra
avremo avrete avranno avrei avresti avrebbe avremmo avreste avrebbero abbia abbiano avuto
avere averla averlo averle averli
posso puoi puo possiamo potete possono potrei potresti potrebbe potremmo potreste
potrebbero potevo poteva potere
devo devi deve dobbiamo dovete devono dovrei dovresti dovrebbe dovremmo dovreste
dovrebbero dovere
voglio vuoi vuole vogliamo volete vogliono vorrei vorresti vorrebbe vorremmo vorreste
volevo volevi voleva volevamo volere
so sai sa sappiamo sapete sanno saprei sapresti saprebbe sapreste sapevo sapevi sapere
sapermi saperlo
faccio fai fa facciamo fate fanno farei faresti farebbe fareste faceva fare fatto fatta
fatti fatte
sto stai sta stiamo state stanno stare
dico dici dice dite dicono dimmi ditemi dica dirmi dirci dire detto
chiedo chiedevo chiederei chiedere chiedervi chiedevo domando domandavo domandare
vedo vedi vede vedere visto vista guardo guardavo guardando guardare
cerco cercavo cercando cercare cercherei trovo trovate trovare trovato trovata
compro comprare comprarla comprarlo comprarle comprarli comprerei acquistare acquistarla
acquistarlo acquistarle acquistarli acquisterei prendere prendo prenderei prenderla
prenderlo prenderle prenderli ordinare ordinarla ordinarlo ordinarle ordinarli
interessa interessano interessato interessata interessati interessate piace piacciono
piacerebbe
mostrare mostrarmi confermare confermi confermate confermo verificare verificate
controllare controllate capire capito aiutare aiutarmi aiutate aiuti
serve servono servirebbe bisogno occorre
esiste esistono possibile possibili previsto prevista previsti previste prevedete presto
mandare mandarmi mandate inviare inviarmi inviate indicare indicarmi indicate specificare
dettagli dettaglio esatto esatta esatti esatte preciso precisa precisi precise
"""
# Greetings, thanks, politeness and chat fillers.
_ITALIAN_CHAT = """
ciao salve buongiorno buonasera buonpomeriggio buondi grazie mille gentile gentili
gentilissimo gentilissima gentilissimi gentilissime cortese cortesemente cortesia
gentilmente prego scusa scusi scusate scusami scusatemi perdonate saluti saluto cordiali
distinti anticipo anticipatamente ringrazio ringraziamo ehi ehm emm mmm boh beh vabbe ecco
senta senti sentite dai ok okay perfetto ottimo benissimo domanda domandina domande info
informazione informazioni curiosita chiarimento dubbio favore perfavore piacere
xke xche perke nn cmq ke ki kosa qnd qlc qlcs qnt qnto qnta sn tt x pls
"""
_ENGLISH_GRAMMAR = """
the a an this that these those some any each every either neither all both few several
lot lots of in on at by for from with without about into onto over under up down out off
through to as than then so too also only just even still already yet ever never always
often sometimes maybe perhaps probably actually really quite pretty rather very much many
more most less least enough such same other another else there here where when why how
what which who whose whom whether if because since while though although however anyway
i me my mine myself you your yours yourself he him his she her hers it its itself we us
our ours they them their theirs one ones and or but nor not no yes
now currently moment
"""
_ENGLISH_VERBS = """
is are was were be been being am do does did doing done have has had having will would
shall should can could may might must
know knows tell ask asking asked check checking confirm see show help wonder wondering
wondered interested looking look find buy buying purchase purchasing get getting got order
ordering want wanting wanted need needing needed think thinking mean say let love like
hope hoping try trying going wanna gotta make made possible expected soon send
details detail exact exactly precise approximately approx roughly
"""
_ENGLISH_CHAT = """
hi hello hey hiya heya morning afternoon evening good thanks thank thx ty tks cheers please
pls plz kindly sorry excuse regards dear sir madam team guys folks um uh hmm hm oh ah well
great perfect lovely nice cool awesome question quick query curious btw ok okay alright
sure yeah yep nope lol haha ahah ahaha
u ur r ya wat wot whats wut hw tho thru cuz coz bc dunno lemme gimme kinda sorta
im ive id ill dont doesnt didnt cant wont isnt arent wasnt werent hasnt havent couldnt
wouldnt shouldnt its thats theres wheres whens hows whos youre theyre
don doesn didn isn aren won wouldn couldn shouldn hasn haven wasn weren ll ve re d m s t
"""
# "Un paio", "a pair": one item. Other numbers written out are left out: a count is a
# condition ("is it cheaper if I buy two?", "ci stanno due libri?"), and a larger one may
# be a size ("quarantadue") the reading would not use.
_NUMBERS = """
uno una paio pair
"""

HARMLESS = frozenset(" ".join((_ITALIAN_GRAMMAR, _ITALIAN_VERBS, _ITALIAN_CHAT,
                               _ENGLISH_GRAMMAR, _ENGLISH_VERBS, _ENGLISH_CHAT,
                               _NUMBERS)).split())
# Greetings and formulas of more than one word whose words alone may mean something else
# ("giorno" in "in tre giorni" is a time).
HARMLESS_PHRASES = ("buon giorno", "buona giornata", "buona sera", "buona serata",
                    "grazie in anticipo", "thanks in advance", "thank you in advance",
                    "good morning", "good afternoon", "good evening", "have a nice day",
                    "right now", "at the moment", "per ora")

# The first, short lists (re-exported by `vocabulary`, where the matcher and the attribute
# rules read them): fillers around a question ("ciao, vorrei sapere...") and articles.
FILLERS = frozenset(
    "ciao salve buongiorno buonasera grazie please thanks hi hello hey vorrei volevo sapere "
    "chiedere domanda info informazioni scusa scusate know want wanted like would could can "
    "tell me you it is are do does have has them they this these those that ce ne ci si mi "
    "lo li ma pero but also anche still ancora per favore pls ok allora quindi so any some "
    "one ones un po questa questo quella quello sono e ha hanno c l s t avrei bisogno need "
    "i we".split()
)
STOPWORDS = frozenset(
    "il lo la i gli le l un una uno un di del della dello dei degli delle da in con per su "
    "e ed o a al alla ai agli alle the a an of in with for and or to on my your this that "
    "questo questa quello quella mio mia vostro vostra".split()
)
