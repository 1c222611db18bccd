"""What the console turns into a page instead of a traceback. Only console code raises
these, so the app-wide handler for them changes nothing for the other routers."""

from __future__ import annotations


class ConsoleError(Exception):
    """Shown as an error page with `status`; the message is for the operator."""

    status = 400
    title = "Richiesta non valida"

    def __init__(self, message: str = "") -> None:
        super().__init__(message)
        self.message = message


class NotFound(ConsoleError):
    status = 404
    title = "Non trovato"


class BadFilter(ConsoleError):
    """A queue filter the console's form cannot send (a hand-edited or stale link)."""

    status = 400
    title = "Filtro non valido"


class CsrfFailed(ConsoleError):
    status = 403
    title = "Modulo scaduto"

    def __init__(self, message: str = "") -> None:
        super().__init__(message or "Il modulo è scaduto o non viene da questa console. "
                                    "Ricarica la pagina e riprova.")


class TooLarge(ConsoleError):
    status = 413
    title = "Modulo troppo grande"


class Misconfigured(ConsoleError):
    status = 500
    title = "Console non configurata"


class ServiceUnavailable(ConsoleError):
    status = 503
    title = "Servizio non disponibile"


class LoginRequired(ConsoleError):
    """Not an error page: the handler redirects to the login form."""

    status = 303
    title = "Accesso richiesto"

    def __init__(self, next_path: str = "/console") -> None:
        super().__init__("")
        self.next_path = next_path


class Forbidden(ConsoleError):
    """Signed in, but this area is for another role; the page links to the account's own."""

    status = 403
    title = "Accesso non consentito"

    def __init__(self, home: str = "/dashboard") -> None:
        area = "la console operatori" if home == "/console" else "la dashboard"
        super().__init__(f"Il tuo account non ha accesso a questa pagina. La tua area è {area}.")
        self.home = home
