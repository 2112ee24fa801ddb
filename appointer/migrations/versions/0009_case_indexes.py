"""a case's audit rows and messages found by (case_type, case_id)

A lone case_type index led SQLite's planner to scan every row of that type when it looked up
one case (the audit's step-order check, cancelling a case's unsent mail): a cost that grew
with the register.

Revision ID: 0009
Revises: 0008
"""
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('auditevent', schema=None) as batch_op:
        batch_op.drop_index('ix_auditevent_case_type')
        batch_op.create_index('ix_auditevent_case', ['case_type', 'case_id'], unique=False)
    with op.batch_alter_table('outboxmessage', schema=None) as batch_op:
        batch_op.drop_index('ix_outboxmessage_case_type')
        batch_op.create_index('ix_outboxmessage_case', ['case_type', 'case_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('outboxmessage', schema=None) as batch_op:
        batch_op.drop_index('ix_outboxmessage_case')
        batch_op.create_index('ix_outboxmessage_case_type', ['case_type'], unique=False)
    with op.batch_alter_table('auditevent', schema=None) as batch_op:
        batch_op.drop_index('ix_auditevent_case')
        batch_op.create_index('ix_auditevent_case_type', ['case_type'], unique=False)
