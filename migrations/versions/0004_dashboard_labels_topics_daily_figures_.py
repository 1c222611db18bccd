"""dashboard labels, topics, daily figures and report indexes

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 20:17:49.351032
"""

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    _create_daily_figures()
    _create_question_insights()
    _create_question_topics()
    _create_rolled_up_days()
    _index_interaction_events_by_kind_and_time()
    _index_tickets_for_reports()


def _create_daily_figures() -> None:
    op.create_table('daily_figures',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('channel', sa.String(length=32), nullable=False),
    sa.Column('conversations', sa.Integer(), nullable=False),
    sa.Column('questions', sa.Integer(), nullable=False),
    sa.Column('answered', sa.Integer(), nullable=False),
    sa.Column('deflected', sa.Integer(), nullable=False),
    sa.Column('escalated', sa.Integer(), nullable=False),
    sa.Column('clarified', sa.Integer(), nullable=False),
    sa.Column('learned_reuse', sa.Integer(), nullable=False),
    sa.Column('thumbs_up', sa.Integer(), nullable=False),
    sa.Column('thumbs_down', sa.Integer(), nullable=False),
    sa.Column('ratings', sa.Integer(), nullable=False),
    sa.Column('rating_sum', sa.Integer(), nullable=False),
    sa.Column('decided_answer', sa.Integer(), nullable=False),
    sa.Column('decided_escalate', sa.Integer(), nullable=False),
    sa.Column('rating_1', sa.Integer(), nullable=False),
    sa.Column('rating_2', sa.Integer(), nullable=False),
    sa.Column('rating_3', sa.Integer(), nullable=False),
    sa.Column('rating_4', sa.Integer(), nullable=False),
    sa.Column('rating_5', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('day', 'language', 'channel', name=op.f('pk_daily_figures'))
    )


def _create_question_insights() -> None:
    op.create_table('question_insights',
    sa.Column('event_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('channel', sa.String(length=32), nullable=False),
    sa.Column('decision', sa.String(length=16), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=True),
    sa.Column('answered', sa.Boolean(), nullable=False),
    sa.Column('escalated', sa.Boolean(), nullable=False),
    sa.Column('disliked', sa.Boolean(), nullable=False),
    sa.Column('text_key', sa.BigInteger(), nullable=False),
    sa.Column('stage', sa.String(length=16), nullable=False),
    sa.Column('stage_confidence', sa.Float(), nullable=False),
    sa.Column('topic_id', sa.Integer(), nullable=True),
    sa.Column('subject_kind', sa.String(length=16), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('event_id', name=op.f('pk_question_insights'))
    )
    with op.batch_alter_table('question_insights', schema=None) as batch_op:
        batch_op.create_index('ix_question_insights_day', ['day', 'language', 'channel', 'text_key',
                                                           'decision', 'escalated', 'disliked'],
                              unique=False)
        batch_op.create_index('ix_question_insights_day_event', ['day', 'event_id'], unique=False)
        batch_op.create_index('ix_question_insights_stage',
                              ['stage', 'day', 'subject_kind', 'subject'], unique=False)
        batch_op.create_index('ix_question_insights_topic',
                              ['topic_id', 'day', 'decision', 'stage'], unique=False)


def _create_question_topics() -> None:
    op.create_table('question_topics',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('embedder', sa.String(length=100), nullable=False),
    sa.Column('keywords', sa.JSON(), nullable=False),
    sa.Column('examples', sa.JSON(), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('centroid', sa.LargeBinary(), nullable=False),
    sa.Column('ready', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_question_topics'))
    )
    with op.batch_alter_table('question_topics', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_question_topics_run'), ['run'], unique=False)


def _create_rolled_up_days() -> None:
    op.create_table('rolled_up_days',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('rolled_up_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('day', name=op.f('pk_rolled_up_days'))
    )


def _index_interaction_events_by_kind_and_time() -> None:
    with op.batch_alter_table('interaction_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_interaction_events_kind'))
        batch_op.create_index('ix_interaction_events_kind_time', ['kind', 'occurred_at'],
                              unique=False)


def _index_tickets_for_reports() -> None:
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.create_index('ix_tickets_report', ['opened_at', 'answered_at', 'due_at',
                                                    'language', 'learned_entry_id'], unique=False)


def downgrade() -> None:
    # ### commands auto generated by Alembic - please adjust! ###
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_index('ix_tickets_report')

    with op.batch_alter_table('interaction_events', schema=None) as batch_op:
        batch_op.drop_index('ix_interaction_events_kind_time')
        batch_op.create_index(batch_op.f('ix_interaction_events_kind'), ['kind'], unique=False)

    op.drop_table('rolled_up_days')
    with op.batch_alter_table('question_topics', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_question_topics_run'))

    op.drop_table('question_topics')
    with op.batch_alter_table('question_insights', schema=None) as batch_op:
        batch_op.drop_index('ix_question_insights_topic')
        batch_op.drop_index('ix_question_insights_stage')
        batch_op.drop_index('ix_question_insights_day_event')
        batch_op.drop_index('ix_question_insights_day')

    op.drop_table('question_insights')
    op.drop_table('daily_figures')
    # ### end Alembic commands ###
