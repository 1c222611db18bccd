"""The customer pages' database session, as a FastAPI dependency: their routers are built
from the settings they are given (not from the app's state), so the dependency is made for
the router's database URL. Routes take it as `session: Session = sessions`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import Depends
from sqlalchemy.orm import Session

from core import session_scope


def database_session(url: str) -> Any:
    """A `Depends` giving each request one transaction on `url`: committed when the route
    returns, before the response leaves; rolled back on an error."""

    def request_session() -> Iterator[Session]:
        with session_scope(url) as session:
            yield session

    return Depends(request_session, scope="function")
