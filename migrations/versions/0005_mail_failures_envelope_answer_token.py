"""failed mail seen by an operator, inbound envelope sender and answer token, the lease
of the worker finishing an answered ticket

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 02:50:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('finishing_until', sa.DateTime(timezone=True),
                                      nullable=True))
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        # When an operator acknowledged a mail that failed for good (the console's alert).
        batch_op.add_column(sa.Column('failure_seen_at', sa.DateTime(timezone=True),
                                      nullable=True))
    with op.batch_alter_table('inbound_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('envelope_from', sa.String(length=320),
                                      nullable=False, server_default=''))
        # Digest of the ticket token that admitted an accepted answer: a token answers once.
        batch_op.add_column(sa.Column('answer_token', sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f('ix_inbound_messages_answer_token'), ['answer_token'],
                              unique=True)


def downgrade() -> None:
    with op.batch_alter_table('inbound_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inbound_messages_answer_token'))
        batch_op.drop_column('answer_token')
        batch_op.drop_column('envelope_from')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_column('failure_seen_at')
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_column('finishing_until')
