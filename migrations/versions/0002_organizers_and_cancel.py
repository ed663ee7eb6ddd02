"""organizers, cancelled submissions, and a note on how the baseline runtime was measured

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26

Cancelling needs no new column: ``submissions.status`` and ``scoring_runs.status`` are free
strings that now also take ``cancelled``, with the reason in the existing ``reason`` columns.
"""

from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('organizers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name'),
    sa.UniqueConstraint('token_hash')
    )
    with op.batch_alter_table('phases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('baseline_runtime_note', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('phases', schema=None) as batch_op:
        batch_op.drop_column('baseline_runtime_note')
    op.drop_table('organizers')
