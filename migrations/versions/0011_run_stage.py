"""scoring runs and baseline measurements: the stage a running job is at, reported by the worker

Revision ID: 0011_run_stage
Revises: 0010
Create Date: 2026-12-07
"""

from alembic import op
import sqlalchemy as sa


revision = '0011_run_stage'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ('scoring_runs', 'baseline_records'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('stage', sa.String(length=200), nullable=True))


def downgrade() -> None:
    for table in ('baseline_records', 'scoring_runs'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('stage')
