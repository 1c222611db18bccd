"""Root of every error the product raises on purpose."""


class SupportBotError(Exception):
    """An expected failure with a message fit for the user who caused it."""
