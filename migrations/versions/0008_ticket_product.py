"""the product a ticket is about (slug, attribute): shown to the operator, and where the
operator's answer is learned (a product note instead of a knowledge-base entry)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 13:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('product_slug', sa.String(length=200), nullable=False,
                                      server_default=''))
        batch_op.add_column(sa.Column('product_attribute', sa.String(length=20), nullable=False,
                                      server_default=''))


def downgrade() -> None:
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_column('product_attribute')
        batch_op.drop_column('product_slug')
