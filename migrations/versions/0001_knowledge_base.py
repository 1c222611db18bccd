"""knowledge base

Revision ID: 0001
Revises:
Create Date: 2026-11-22 14:00:37.170035
"""

import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    _create_kb_changes()
    _create_kb_entries()
    _create_kb_settings()
    _create_kb_entry_versions()
    _create_kb_questions()


def _create_kb_changes() -> None:
    op.create_table('kb_changes',
    sa.Column('seq', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_kb_changes'))
    )
    with op.batch_alter_table('kb_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_kb_changes_entry_id'), ['entry_id'], unique=False)


def _create_kb_entries() -> None:
    op.create_table('kb_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('answer', sa.Text(), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('category', sa.Enum('pre_purchase', 'post_purchase', 'general', name='category',
                                  native_enum=False, length=20), nullable=False),
    sa.Column('topic', sa.String(length=80), nullable=False),
    sa.Column('status', sa.Enum('draft', 'published', 'retired', name='status', native_enum=False,
                                length=20), nullable=False),
    sa.Column('source', sa.Enum('imported', 'operator', 'manual', name='source', native_enum=False,
                                length=20), nullable=False),
    sa.Column('source_ref', sa.String(length=300), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=True),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.String(length=200), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('review_by', sa.Date(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kb_entries')),
    sa.UniqueConstraint('key', name=op.f('uq_kb_entries_key'))
    )
    with op.batch_alter_table('kb_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_kb_entries_language'), ['language'], unique=False)
        batch_op.create_index(batch_op.f('ix_kb_entries_status'), ['status'], unique=False)


def _create_kb_settings() -> None:
    op.create_table('kb_settings',
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('value', sa.JSON(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_kb_settings'))
    )


def _create_kb_entry_versions() -> None:
    op.create_table('kb_entry_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('answer', sa.Text(), nullable=False),
    sa.Column('questions', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('category', sa.String(length=20), nullable=False),
    sa.Column('changed_by', sa.String(length=200), nullable=False),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reason', sa.String(length=300), nullable=False),
    sa.ForeignKeyConstraint(['entry_id'], ['kb_entries.id'],
                            name=op.f('fk_kb_entry_versions_entry_id_kb_entries'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kb_entry_versions')),
    sa.UniqueConstraint('entry_id', 'version', name=op.f('uq_kb_entry_versions_entry_id'))
    )
    with op.batch_alter_table('kb_entry_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_kb_entry_versions_entry_id'), ['entry_id'],
                              unique=False)


def _create_kb_questions() -> None:
    op.create_table('kb_questions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('fingerprint', sa.String(length=40), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['entry_id'], ['kb_entries.id'],
                            name=op.f('fk_kb_questions_entry_id_kb_entries'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kb_questions')),
    sa.UniqueConstraint('entry_id', 'fingerprint', name=op.f('uq_kb_questions_entry_id'))
    )
    with op.batch_alter_table('kb_questions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_kb_questions_entry_id'), ['entry_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_kb_questions_fingerprint'), ['fingerprint'],
                              unique=False)


def downgrade() -> None:

    with op.batch_alter_table('kb_questions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_kb_questions_fingerprint'))
        batch_op.drop_index(batch_op.f('ix_kb_questions_entry_id'))

    op.drop_table('kb_questions')
    with op.batch_alter_table('kb_entry_versions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_kb_entry_versions_entry_id'))

    op.drop_table('kb_entry_versions')
    op.drop_table('kb_settings')
    with op.batch_alter_table('kb_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_kb_entries_status'))
        batch_op.drop_index(batch_op.f('ix_kb_entries_language'))

    op.drop_table('kb_entries')
    with op.batch_alter_table('kb_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_kb_changes_entry_id'))

    op.drop_table('kb_changes')

