"""rule kinds: a track's kind and its bounded figures, rank-sum figures or weights; a phase's
fixed PSNR threshold; the baseline's scale and device-free figures, whether it takes a rank, the
timing protocol and display; a submission's activations

Revision ID: 0012
Revises: 0011_run_stage
Create Date: 2026-12-08
"""

from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011_run_stage'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('tracks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=20), server_default='bounded', nullable=False))
        batch_op.add_column(sa.Column('bounded', sa.JSON(), server_default='[]', nullable=False))
        batch_op.add_column(sa.Column('figures', sa.JSON(), server_default='[]', nullable=False))
        batch_op.add_column(sa.Column('weights', sa.JSON(), server_default='{}', nullable=False))
        batch_op.alter_column('rank_by', existing_type=sa.String(length=32), nullable=True)
    with op.batch_alter_table('phases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('psnr_threshold', sa.Float(), nullable=True))
    with op.batch_alter_table('competitions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('baseline_scale', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('baseline_macs', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('baseline_activations', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('baseline_peak_memory_bytes', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('baseline_ranked', sa.Boolean(), server_default=sa.true(), nullable=False))
        batch_op.add_column(sa.Column('timing', sa.JSON(), server_default='{}', nullable=False))
        batch_op.add_column(sa.Column('display', sa.JSON(), server_default='{}', nullable=False))
    with op.batch_alter_table('submissions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('activations', sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('submissions', schema=None) as batch_op:
        batch_op.drop_column('activations')
    with op.batch_alter_table('competitions', schema=None) as batch_op:
        for column in ('display', 'timing', 'baseline_ranked', 'baseline_peak_memory_bytes', 'baseline_activations',
                       'baseline_macs', 'baseline_scale'):
            batch_op.drop_column(column)
    with op.batch_alter_table('phases', schema=None) as batch_op:
        batch_op.drop_column('psnr_threshold')
    op.execute("DELETE FROM tracks WHERE rank_by IS NULL")
    with op.batch_alter_table('tracks', schema=None) as batch_op:
        batch_op.alter_column('rank_by', existing_type=sa.String(length=32), nullable=False)
        for column in ('weights', 'figures', 'bounded', 'kind'):
            batch_op.drop_column(column)
