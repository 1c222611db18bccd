"""readable topic names, marketing's topic names and merges, refresh rounds

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 09:10:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('question_topics', schema=None) as batch_op:
        batch_op.add_column(sa.Column('name', sa.String(length=300), nullable=False,
                                      server_default=''))
    op.create_table('topic_overrides',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('embedder', sa.String(length=100), nullable=False),
    sa.Column('centroid', sa.LargeBinary(), nullable=False),
    sa.Column('target', sa.LargeBinary(), nullable=True),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=320), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_topic_overrides'))
    )
    op.create_table('insight_rounds',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('labelled', sa.Integer(), nullable=False),
    sa.Column('waiting', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_insight_rounds'))
    )
    with op.batch_alter_table('insight_rounds', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_insight_rounds_finished_at'), ['finished_at'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('insight_rounds', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_insight_rounds_finished_at'))
    op.drop_table('insight_rounds')
    op.drop_table('topic_overrides')
    with op.batch_alter_table('question_topics', schema=None) as batch_op:
        batch_op.drop_column('name')
