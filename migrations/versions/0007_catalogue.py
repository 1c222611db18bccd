"""the product catalogue: products and variants per language, imports (the catalogue
version), product notes learned from operators' answers

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 12:45:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    _create_catalogue_imports()
    _create_catalogue_notes()
    _create_catalogue_products()
    _create_catalogue_variants()


def _create_catalogue_imports() -> None:
    op.create_table('catalogue_imports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('imported_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('source', sa.String(length=300), nullable=False),
    sa.Column('languages', sa.String(length=100), nullable=False),
    sa.Column('added', sa.Integer(), nullable=False),
    sa.Column('changed', sa.Integer(), nullable=False),
    sa.Column('removed', sa.Integer(), nullable=False),
    sa.Column('unchanged', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_catalogue_imports'))
    )


def _create_catalogue_notes() -> None:
    op.create_table('catalogue_notes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=200), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('attribute', sa.String(length=20), nullable=False),
    sa.Column('question', sa.Text(), nullable=False),
    sa.Column('answer', sa.Text(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_catalogue_notes'))
    )
    with op.batch_alter_table('catalogue_notes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_catalogue_notes_slug'), ['slug'], unique=False)


def _create_catalogue_products() -> None:
    op.create_table('catalogue_products',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=200), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('category', sa.String(length=750), nullable=False),
    sa.Column('material', sa.String(length=200), nullable=False),
    sa.Column('care', sa.Text(), nullable=False),
    sa.Column('link', sa.String(length=2000), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('outer_length', sa.Float(), nullable=True),
    sa.Column('outer_width', sa.Float(), nullable=True),
    sa.Column('outer_height', sa.Float(), nullable=True),
    sa.Column('inner_length', sa.Float(), nullable=True),
    sa.Column('inner_width', sa.Float(), nullable=True),
    sa.Column('inner_height', sa.Float(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_catalogue_products')),
    sa.UniqueConstraint('slug', 'language', name=op.f('uq_catalogue_products_slug'))
    )
    with op.batch_alter_table('catalogue_products', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_catalogue_products_language'), ['language'],
                              unique=False)


def _create_catalogue_variants() -> None:
    op.create_table('catalogue_variants',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('sku', sa.String(length=100), nullable=False),
    sa.Column('colour', sa.String(length=100), nullable=False),
    sa.Column('size', sa.String(length=100), nullable=False),
    sa.Column('price_cents', sa.Integer(), nullable=False),
    sa.Column('sale_price_cents', sa.Integer(), nullable=True),
    sa.Column('availability', sa.Enum('in_stock', 'out_of_stock', 'preorder', 'backorder',
                                      name='availability', native_enum=False, length=20),
              nullable=False),
    sa.Column('restock', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['product_id'], ['catalogue_products.id'],
                            name=op.f('fk_catalogue_variants_product_id_catalogue_products'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_catalogue_variants')),
    sa.UniqueConstraint('language', 'sku', name=op.f('uq_catalogue_variants_language'))
    )
    with op.batch_alter_table('catalogue_variants', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_catalogue_variants_product_id'), ['product_id'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('catalogue_variants', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_catalogue_variants_product_id'))
    op.drop_table('catalogue_variants')
    with op.batch_alter_table('catalogue_products', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_catalogue_products_language'))
    op.drop_table('catalogue_products')
    with op.batch_alter_table('catalogue_notes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_catalogue_notes_slug'))
    op.drop_table('catalogue_notes')
    op.drop_table('catalogue_imports')
