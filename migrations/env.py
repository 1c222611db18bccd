"""Alembic environment: runs migrations on the URL given by `migrations.upgrade`."""

from alembic import context

import analytics.models  # noqa: F401  (registers the tables for autogenerate)
import catalogue.models  # noqa: F401
import escalation.models  # noqa: F401
import knowledge.models  # noqa: F401
from core import get_engine
from core.db import Base

config = context.config


def run() -> None:
    url = config.get_main_option("sqlalchemy.url")
    engine = get_engine(url)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            render_as_batch=url.startswith("sqlite"),  # SQLite needs batch ALTERs
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


run()
