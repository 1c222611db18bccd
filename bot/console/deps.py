"""The staff pages' FastAPI dependencies, declared once: who is signed in, and a database
session for the request. Routes take them as typed parameters (`session: SessionDep`,
`operator: CurrentOperator`); a router whose pages only need someone signed in declares
`dependencies=OPERATORS_ONLY` instead of an unused parameter on each route."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from bot.console.auth import current_operator
from bot.console.web import config
from core import session_scope


def request_session(request: Request) -> Iterator[Session]:
    """One transaction per request: committed when the route returns, before the response
    leaves (so the page a redirect leads to sees the change); rolled back on an error."""
    with session_scope(config(request).database_url) as session:
        yield session


SessionDep = Annotated[Session, Depends(request_session, scope="function")]
CurrentOperator = Annotated[str, Depends(current_operator)]
OPERATORS_ONLY = [Depends(current_operator)]
