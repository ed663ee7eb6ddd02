"""scoring runs: the platform's traceback of a failure, apart from the log the team sees

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('scoring_runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('traceback', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('scoring_runs', schema=None) as batch_op:
        batch_op.drop_column('traceback')
