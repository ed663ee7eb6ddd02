"""baseline history, per-phase baseline parameters and device, and the audit log

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30

Each phase gets the baseline's parameter count (copied from its competition: the figure
``baseline set --params`` changes per phase), the device class its runtimes compare on and the
device its baseline runtime was taken on, and a note for a PSNR that is missing. Every phase's
current figures become the first row of its baseline history.
"""

from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('phases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('baseline_psnr_note', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('baseline_params', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('runtime_device_class', sa.String(length=8), server_default='gpu',
                                      nullable=False))
        batch_op.add_column(sa.Column('baseline_runtime_device', sa.String(length=200), nullable=True))
    op.execute("UPDATE phases SET baseline_params = "
               "(SELECT competitions.baseline_params FROM competitions WHERE competitions.id = phases.competition_id)")
    with op.batch_alter_table('phases', schema=None) as batch_op:
        batch_op.alter_column('baseline_params', existing_type=sa.BigInteger(), nullable=False)

    op.create_table('baseline_records',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('phase_id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('worker', sa.String(length=200), nullable=True),
    sa.Column('force', sa.Boolean(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('psnr', sa.Float(), nullable=True),
    sa.Column('psnr_note', sa.Text(), nullable=True),
    sa.Column('params', sa.BigInteger(), nullable=True),
    sa.Column('runtime', sa.Float(), nullable=True),
    sa.Column('runtime_note', sa.Text(), nullable=True),
    sa.Column('runtime_device', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['phase_id'], ['phases.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('baseline_records', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_baseline_records_phase_id'), ['phase_id'], unique=False)
    op.execute("INSERT INTO baseline_records (phase_id, source, status, actor, created_at, force, psnr, params, "
               "runtime, runtime_note) SELECT id, 'bundle', 'done', 'migration', CURRENT_TIMESTAMP, false, "
               "baseline_psnr, baseline_params, baseline_runtime, baseline_runtime_note FROM phases")

    op.create_table('audit_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('action', sa.String(length=50), nullable=False),
    sa.Column('target', sa.String(length=200), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_events_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_events_target'), ['target'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_events_target'))
        batch_op.drop_index(batch_op.f('ix_audit_events_at'))
    op.drop_table('audit_events')
    with op.batch_alter_table('baseline_records', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_baseline_records_phase_id'))
    op.drop_table('baseline_records')
    with op.batch_alter_table('phases', schema=None) as batch_op:
        batch_op.drop_column('baseline_runtime_device')
        batch_op.drop_column('runtime_device_class')
        batch_op.drop_column('baseline_params')
        batch_op.drop_column('baseline_psnr_note')
