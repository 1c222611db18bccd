"""learning from customers' signals: candidate question variants confirmed by clarify picks
and thumbs (with one vote per conversation), and learned entries held back because they
contradict a published one

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 13:30:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('kb_entry_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_kb_entry_versions_reason'), ['reason'], unique=False)
    with op.batch_alter_table('kb_entries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('conflict_with', sa.Integer(), nullable=True))
    op.create_table('kb_candidate_variants',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('question', sa.Text(), nullable=False),
    sa.Column('fingerprint', sa.String(length=40), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('blocked', sa.Boolean(), nullable=False),
    sa.Column('first_seen', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_by', sa.String(length=200), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['entry_id'], ['kb_entries.id'],
                            name=op.f('fk_kb_candidate_variants_entry_id_kb_entries'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kb_candidate_variants')),
    sa.UniqueConstraint('entry_id', 'fingerprint', name=op.f('uq_kb_candidate_variants_entry_id'))
    )
    with op.batch_alter_table('kb_candidate_variants', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_kb_candidate_variants_entry_id'), ['entry_id'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_kb_candidate_variants_status'), ['status'],
                              unique=False)

    op.create_table('kb_candidate_votes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('candidate_id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sa.String(length=128), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['candidate_id'], ['kb_candidate_variants.id'],
                            name=op.f('fk_kb_candidate_votes_candidate_id_kb_candidate_variants'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kb_candidate_votes')),
    sa.UniqueConstraint('candidate_id', 'conversation_id', 'kind',
                        name=op.f('uq_kb_candidate_votes_candidate_id'))
    )
    with op.batch_alter_table('kb_candidate_votes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_kb_candidate_votes_candidate_id'), ['candidate_id'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_kb_candidate_votes_conversation_id'),
                              ['conversation_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('kb_candidate_votes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_kb_candidate_votes_conversation_id'))
        batch_op.drop_index(batch_op.f('ix_kb_candidate_votes_candidate_id'))
    op.drop_table('kb_candidate_votes')
    with op.batch_alter_table('kb_candidate_variants', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_kb_candidate_variants_status'))
        batch_op.drop_index(batch_op.f('ix_kb_candidate_variants_entry_id'))
    op.drop_table('kb_candidate_variants')
    with op.batch_alter_table('kb_entries', schema=None) as batch_op:
        batch_op.drop_column('conflict_with')
    with op.batch_alter_table('kb_entry_versions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_kb_entry_versions_reason'))
