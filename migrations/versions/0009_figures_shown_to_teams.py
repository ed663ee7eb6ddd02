"""submissions: MACs, peak memory and device of the standing run, and the readme's CPU/GPU flag,
so teams and the board's exports see them

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30
"""

from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('submissions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('macs', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('peak_memory_bytes', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('device', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('self_uses_gpu', sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('submissions', schema=None) as batch_op:
        for column in ('self_uses_gpu', 'device', 'peak_memory_bytes', 'macs'):
            batch_op.drop_column(column)
