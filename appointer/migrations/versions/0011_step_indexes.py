"""a group's cases found by (service_id, state); no lone case_id indexes beside (case_type, case_id)

With an index on service_id and another on state, SQLite's planner took the state index to
find a group's appointed members, scanning every appointed member of the register on every
appointment (a cost that grew with the register). Every query of audit rows and messages by
case names the case type too, so their lone case_id indexes only cost each insert.

Revision ID: 0011
Revises: 0010
"""
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('appointment', schema=None) as batch_op:
        batch_op.drop_index('ix_appointment_service_id')
        batch_op.create_index('ix_appointment_service_state', ['service_id', 'state'],
                              unique=False)
    with op.batch_alter_table('auditevent', schema=None) as batch_op:
        batch_op.drop_index('ix_auditevent_case_id')
    with op.batch_alter_table('outboxmessage', schema=None) as batch_op:
        batch_op.drop_index('ix_outboxmessage_case_id')


def downgrade() -> None:
    with op.batch_alter_table('outboxmessage', schema=None) as batch_op:
        batch_op.create_index('ix_outboxmessage_case_id', ['case_id'], unique=False)
    with op.batch_alter_table('auditevent', schema=None) as batch_op:
        batch_op.create_index('ix_auditevent_case_id', ['case_id'], unique=False)
    with op.batch_alter_table('appointment', schema=None) as batch_op:
        batch_op.drop_index('ix_appointment_service_state')
        batch_op.create_index('ix_appointment_service_id', ['service_id'], unique=False)
