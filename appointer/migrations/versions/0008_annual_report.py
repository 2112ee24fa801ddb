"""annual report cycle: report cases, their parts, every saved version, members' approvals

Revision ID: 0008
Revises: 0007
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

_str = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    with op.batch_alter_table('service', schema=None) as batch_op:
        batch_op.add_column(sa.Column('report_submitter_name', _str(), nullable=True))
        batch_op.add_column(sa.Column('report_submitter_email', _str(), nullable=True))
    op.create_table(
        'reportcase',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('service_id', sa.Integer(), nullable=False),
        sa.Column('year', sa.Integer(), nullable=False),
        sa.Column('state', _str(), nullable=False),
        sa.Column('version_id', sa.Integer(), nullable=False),
        sa.Column('lang', _str(), nullable=False),
        sa.Column('submitter_name', _str(), nullable=True),
        sa.Column('submitter_email', _str(), nullable=True),
        sa.Column('approved_on', sa.Date(), nullable=True),
        sa.Column('approved_by', _str(), nullable=True),
        sa.Column('approval_note', _str(), nullable=True),
        sa.Column('submitted_on', sa.Date(), nullable=True),
        sa.Column('submitted_by', _str(), nullable=True),
        sa.Column('missing_parts', sa.JSON(), nullable=True),
        sa.Column('regional_assessment', _str(), nullable=True),
        sa.Column('regional_assessed_on', sa.Date(), nullable=True),
        sa.Column('national_assessment', _str(), nullable=True),
        sa.Column('national_assessed_on', sa.Date(), nullable=True),
        sa.Column('feedback', _str(), nullable=True),
        sa.Column('feedback_on', sa.Date(), nullable=True),
        sa.Column('follow_up', _str(), nullable=True),
        sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('state_since', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['service_id'], ['service.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('service_id', 'year'),
    )
    with op.batch_alter_table('reportcase', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reportcase_service_id'), ['service_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_reportcase_year'), ['year'], unique=False)
        batch_op.create_index(batch_op.f('ix_reportcase_state'), ['state'], unique=False)
    op.create_table(
        'reportpart',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('report_id', sa.Integer(), nullable=False),
        sa.Column('part', _str(), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('author_name', _str(), nullable=True),
        sa.Column('author_email', _str(), nullable=True),
        sa.Column('member_id', sa.Integer(), nullable=True),
        sa.Column('state', _str(), nullable=False),
        sa.Column('current_version_id', sa.Integer(), nullable=True),
        sa.Column('done_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['report_id'], ['reportcase.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('report_id', 'part'),
    )
    with op.batch_alter_table('reportpart', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reportpart_report_id'), ['report_id'], unique=False)
    op.create_table(
        'reportpartversion',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('part_id', sa.Integer(), nullable=False),
        sa.Column('number', sa.Integer(), nullable=False),
        sa.Column('text', _str(), nullable=False),
        sa.Column('author_name', _str(), nullable=True),
        sa.Column('author_email', _str(), nullable=True),
        sa.Column('base_version_id', sa.Integer(), nullable=True),
        sa.Column('via', _str(), nullable=False),
        sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['part_id'], ['reportpart.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('reportpartversion', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reportpartversion_part_id'), ['part_id'],
                              unique=False)
    op.create_table(
        'reportapproval',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('report_id', sa.Integer(), nullable=False),
        sa.Column('member_id', sa.Integer(), nullable=True),
        sa.Column('name', _str(), nullable=True),
        sa.Column('email', _str(), nullable=False),
        sa.Column('decision', _str(), nullable=False),
        sa.Column('comment', _str(), nullable=True),
        sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['report_id'], ['reportcase.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('reportapproval', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reportapproval_report_id'), ['report_id'],
                              unique=False)


def downgrade() -> None:
    op.drop_table('reportapproval')
    op.drop_table('reportpartversion')
    op.drop_table('reportpart')
    op.drop_table('reportcase')
    with op.batch_alter_table('service', schema=None) as batch_op:
        batch_op.drop_column('report_submitter_email')
        batch_op.drop_column('report_submitter_name')
