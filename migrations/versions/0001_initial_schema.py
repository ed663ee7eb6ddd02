"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-25
"""

from alembic import op
import sqlalchemy as sa


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('competitions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=64), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('scale', sa.Integer(), nullable=False),
    sa.Column('shave_border', sa.Integer(), nullable=False),
    sa.Column('baseline_name', sa.String(length=100), nullable=False),
    sa.Column('baseline_params', sa.BigInteger(), nullable=False),
    sa.Column('tolerances', sa.JSON(), nullable=False),
    sa.Column('bundle', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('slug')
    )
    op.create_table('teams',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('disabled', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name'),
    sa.UniqueConstraint('token_hash')
    )
    op.create_table('phases',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('competition_id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=64), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('ranking_figures', sa.String(length=20), nullable=False),
    sa.Column('per_image_scores_visible', sa.Boolean(), nullable=False),
    sa.Column('baseline_psnr', sa.Float(), nullable=True),
    sa.Column('baseline_runtime', sa.Float(), nullable=True),
    sa.Column('is_open', sa.Boolean(), nullable=False),
    sa.Column('max_submissions_per_day', sa.Integer(), nullable=True),
    sa.Column('max_submissions_total', sa.Integer(), nullable=True),
    sa.Column('image_count', sa.Integer(), nullable=False),
    sa.Column('dataset_version', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['competition_id'], ['competitions.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('competition_id', 'slug')
    )
    op.create_table('submissions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('public_id', sa.String(length=32), nullable=False),
    sa.Column('phase_id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('file_size', sa.BigInteger(), nullable=False),
    sa.Column('file_sha256', sa.String(length=64), nullable=False),
    sa.Column('tracks', sa.JSON(), nullable=False),
    sa.Column('psnr', sa.Float(), nullable=True),
    sa.Column('params', sa.BigInteger(), nullable=True),
    sa.Column('runtime', sa.Float(), nullable=True),
    sa.Column('runtime_baseline', sa.Float(), nullable=True),
    sa.Column('runtime_ratio', sa.Float(), nullable=True),
    sa.Column('self_params', sa.BigInteger(), nullable=True),
    sa.Column('self_runtime', sa.Float(), nullable=True),
    sa.Column('self_runtime_baseline', sa.Float(), nullable=True),
    sa.Column('gpu', sa.String(length=100), nullable=True),
    sa.Column('extra_data', sa.Boolean(), nullable=True),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('current_run_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['phase_id'], ['phases.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('public_id')
    )
    with op.batch_alter_table('submissions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_submissions_phase_id'), ['phase_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_submissions_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_submissions_team_id'), ['team_id'], unique=False)

    op.create_table('tracks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('phase_id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=32), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('rank_by', sa.String(length=32), nullable=False),
    sa.Column('tie_break', sa.JSON(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['phase_id'], ['phases.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('phase_id', 'slug')
    )
    op.create_table('scoring_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('submission_id', sa.Integer(), nullable=False),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('requested_by', sa.String(length=100), nullable=False),
    sa.Column('queued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('worker', sa.String(length=200), nullable=True),
    sa.Column('code_version', sa.String(length=64), nullable=True),
    sa.Column('dataset_version', sa.String(length=64), nullable=True),
    sa.Column('deliveries', sa.Integer(), nullable=False),
    sa.Column('figures', sa.JSON(), nullable=False),
    sa.Column('log', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['submission_id'], ['submissions.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('submission_id', 'attempt')
    )
    with op.batch_alter_table('scoring_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_scoring_runs_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_scoring_runs_submission_id'), ['submission_id'], unique=False)

    op.create_table('track_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('track_id', sa.Integer(), nullable=False),
    sa.Column('submission_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['submission_id'], ['submissions.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['track_id'], ['tracks.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('team_id', 'track_id')
    )
    op.create_table('image_scores',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('image_key', sa.String(length=100), nullable=False),
    sa.Column('psnr', sa.Float(), nullable=False),
    sa.Column('capped', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['scoring_runs.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('run_id', 'image_key')
    )
    with op.batch_alter_table('image_scores', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_image_scores_run_id'), ['run_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('image_scores', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_image_scores_run_id'))

    op.drop_table('image_scores')
    op.drop_table('track_entries')
    with op.batch_alter_table('scoring_runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_scoring_runs_submission_id'))
        batch_op.drop_index(batch_op.f('ix_scoring_runs_status'))

    op.drop_table('scoring_runs')
    op.drop_table('tracks')
    with op.batch_alter_table('submissions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_submissions_team_id'))
        batch_op.drop_index(batch_op.f('ix_submissions_status'))
        batch_op.drop_index(batch_op.f('ix_submissions_phase_id'))

    op.drop_table('submissions')
    op.drop_table('phases')
    op.drop_table('teams')
    op.drop_table('competitions')
