"""What the custom actions say, in Italian and English. (Rasa's own responses live in
the domain; these are the sentences built from knowledge-base results.)"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

PHRASES: dict[str, dict[str, str]] = {
    "it": {
        "helpful?": "Ti è stata utile questa risposta?",
        "yes": "👍 Sì",
        "no": "👎 No",
        "clarify": "Vuoi sapere una di queste cose? Scegli quella giusta:",
        "none_of_these": "Nessuna di queste",
        "escalated": "Non ho una risposta sicura a questa domanda, quindi l'ho passata a una "
                     "persona del nostro team (richiesta n. {ticket}): ti risponderà {sla}. "
                     "{delivery}",
        "handed_off": "Ho passato la tua domanda a una persona del nostro team (richiesta n. "
                      "{ticket}): ti risponderà {sla}. {delivery}",
        "already_open": "Questa domanda è già nelle mani del nostro team (richiesta n. {ticket}): "
                        "ti risponderanno {sla}. {delivery}",
        "too_many_open": "Hai già molte domande in attesa di un operatore: rispondiamo prima a "
                         "quelle. Se è urgente, scrivici a {email}.",
        "delivery_email": "Riceverai la risposta qui in chat se la conversazione è ancora aperta, "
                          "altrimenti per email all'indirizzo che ci hai dato.",
        "delivery_chat": "La risposta arriverà in questa chat: lascia aperta la pagina o torna "
                         "più tardi da questo dispositivo.",
        "contact_added": "Grazie. Riceverai la risposta qui in chat se la conversazione è ancora "
                         "aperta, altrimenti per email all'indirizzo che ci hai dato.",
        "contact_declined": "D'accordo: la risposta arriverà solo in questa chat. Lascia aperta la "
                            "pagina o torna più tardi da questo dispositivo.",
        "contact_unused": "Non hai domande in attesa di risposta, quindi non ho salvato "
                          "l'indirizzo.",
        "contact_refused": "Non sono riuscito a registrare l'indirizzo: la risposta arriverà in "
                           "questa chat.",
        "thanks_feedback": "Grazie del riscontro!",
        "sorry_feedback": "Mi dispiace non esserti stato d'aiuto. Vuoi che giri la domanda a un "
                          "operatore?",
        "handoff_yes": "Sì, passami un operatore",
        "handoff_no": "No, grazie",
        "empty": "Non ho ricevuto nessun testo: scrivimi pure la tua domanda.",
        "too_long": "Il messaggio è troppo lungo (più di {limit} caratteri): puoi riassumerlo "
                    "in poche righe?",
        "rate_limited": "Stai scrivendo molto velocemente: aspetta qualche secondo e riprova, "
                        "leggo tutto con calma.",
        "error": "Ho un problema tecnico in questo momento. Riprova tra poco oppure scrivici a "
                 "{email}.",
        "entry_gone": "Questa risposta non è più disponibile. Puoi riformulare la domanda?",
        "invalid_email": "Questo indirizzo non sembra valido ({reason}). Scrivilo di nuovo, "
                         "oppure scrivi «no» per ricevere la risposta solo qui in chat.",
        # The {reason} of invalid_email (bot/conversation/identity.py's EMAIL_PROBLEMS),
        # and email_two.
        "email_no_at": "manca la chiocciola @",
        "email_spaces": "un indirizzo email non contiene spazi",
        "email_bad_domain": "dopo la @ ci vuole un dominio come gmail.com",
        "email_too_long": "è troppo lungo",
        "email_bad": "controlla di averlo scritto bene",
        "email_two": "Hai scritto due indirizzi diversi: quale usiamo? Scrivi solo quello, "
                     "oppure scrivi «no» per ricevere la risposta solo qui in chat.",
        "operator_answer": "Ecco la risposta del nostro operatore alla tua richiesta n. {ticket}:",
        "today": "oggi entro le {time}",
        "tomorrow": "domani entro le {time}",
        "on_day": "entro {weekday} {day} {month} alle {time}",
    },
    "en": {
        "helpful?": "Was this answer helpful?",
        "yes": "👍 Yes",
        "no": "👎 No",
        "clarify": "Do you mean one of these? Pick the right one:",
        "none_of_these": "None of these",
        "escalated": "I don't have a reliable answer to this, so I've passed it to a person on "
                     "our team (request #{ticket}): they will reply {sla}. {delivery}",
        "handed_off": "I've passed your question to a person on our team (request #{ticket}): "
                      "they will reply {sla}. {delivery}",
        "already_open": "This question is already with our team (request #{ticket}): they will "
                        "reply {sla}. {delivery}",
        "too_many_open": "You already have many questions waiting for an operator: we'll answer "
                         "those first. If it's urgent, write to us at {email}.",
        "delivery_email": "You'll get the answer here in the chat if it is still open, "
                          "otherwise by email at the address you gave us.",
        "delivery_chat": "The answer will arrive in this chat: keep the page open or come back "
                         "later from this device.",
        "contact_added": "Thanks. You'll get the answer here in the chat if it is still open, "
                         "otherwise by email at the address you gave us.",
        "contact_declined": "All right: the answer will arrive only in this chat. Keep the page "
                            "open or come back later from this device.",
        "contact_unused": "You have no questions waiting for an answer, so I didn't keep the "
                          "address.",
        "contact_refused": "I couldn't record that address: the answer will arrive in this chat.",
        "thanks_feedback": "Thanks for the feedback!",
        "sorry_feedback": "Sorry I couldn't help. Shall I pass your question to an operator?",
        "handoff_yes": "Yes, get me an operator",
        "handoff_no": "No, thanks",
        "empty": "I didn't receive any text: please type your question.",
        "too_long": "Your message is too long (over {limit} characters): could you sum it up "
                    "in a few lines?",
        "rate_limited": "You're typing very fast: please wait a few seconds and try again, "
                        "I'm reading everything.",
        "error": "I have a technical problem right now. Please try again shortly or write to "
                 "us at {email}.",
        "entry_gone": "That answer is no longer available. Could you rephrase your question?",
        "invalid_email": "That address doesn't look valid ({reason}). Please type it again, or "
                         "write \"no\" to get the answer only here in the chat.",
        "email_no_at": "the @ sign is missing",
        "email_spaces": "an email address has no spaces",
        "email_bad_domain": "after the @ it needs a domain such as gmail.com",
        "email_too_long": "it is too long",
        "email_bad": "please check how it is written",
        "email_two": "You wrote two different addresses: which one should we use? Please type "
                     "just that one, or write \"no\" to get the answer only here in the chat.",
        "operator_answer": "Here is our operator's answer to your request #{ticket}:",
        "today": "today by {time}",
        "tomorrow": "tomorrow by {time}",
        "on_day": "by {weekday} {day} {month} at {time}",
    },
}


def say(language: str, key: str, **values: object) -> str:
    table = PHRASES.get(language) or PHRASES["it"]
    return table[key].format(**values)


_WEEKDAYS = {"it": ("lunedì", "martedì", "mercoledì", "giovedì", "venerdì", "sabato", "domenica"),
             "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")}
_MONTHS = {"it": ("gennaio", "febbraio", "marzo", "aprile", "maggio", "giugno", "luglio", "agosto",
                  "settembre", "ottobre", "novembre", "dicembre"),
           "en": ("January", "February", "March", "April", "May", "June", "July", "August",
                  "September", "October", "November", "December")}


def deadline(language: str, due: datetime, now: datetime, timezone: ZoneInfo) -> str:
    """'oggi entro le 15:30 (ora italiana)', 'tomorrow by 10 am Italian time', 'entro lunedì
    24 novembre alle 10:00 (ora italiana)': the zone is named, as customers abroad read it."""
    language = language if language in _WEEKDAYS else "it"
    local, today = due.astimezone(timezone), now.astimezone(timezone).date()
    time = clock_time(language, local, timezone)
    if local.date() == today:
        return say(language, "today", time=time)
    if (local.date() - today).days == 1:
        return say(language, "tomorrow", time=time)
    return say(language, "on_day", weekday=_WEEKDAYS[language][local.weekday()], day=local.day,
               month=_MONTHS[language][local.month - 1], time=time)


# The SLA's zone as a customer names it; any other zone is named after its city.
_ZONE_NAMES = {"Europe/Rome": {"it": "ora italiana", "en": "Italian time"},
               "Europe/London": {"it": "ora di Londra", "en": "UK time"},
               "UTC": {"it": "UTC", "en": "UTC"}}


def zone_name(language: str, timezone: ZoneInfo) -> str:
    """'ora italiana' / 'Italian time' for Europe/Rome; 'ora di Madrid' / 'Madrid time'."""
    key = getattr(timezone, "key", None) or str(timezone)
    if key in _ZONE_NAMES:
        return _ZONE_NAMES[key]["en" if language == "en" else "it"]
    city = key.rsplit("/", 1)[-1].replace("_", " ")
    return f"{city} time" if language == "en" else f"ora di {city}"


def clock_time(language: str, local: datetime, timezone: ZoneInfo) -> str:
    """'13:00 (ora italiana)' in Italian, '1 pm Italian time' (12-hour clock) in English."""
    zone = zone_name(language, timezone)
    if language != "en":
        return f"{local:%H:%M} ({zone})"
    minutes = f":{local.minute:02d}" if local.minute else ""
    return f"{local.hour % 12 or 12}{minutes} {'am' if local.hour < 12 else 'pm'} {zone}"
