"""fewer indexes to write on every step: none on an appointment's state alone; one index
for the sender's queue instead of two

Every step of a case changes its state, so an index on state alone is rewritten by every
transition (and makes each commit write more pages), while the queries it could serve —
the daily look for cases waiting in some state — read a table of a few thousand rows at
most. A group's cases are found through (service_id, state).

Every message queued wrote two single-column indexes (status, next_attempt_at) for the one
query that needs them, the sender's: queued rows in order of their next attempt. One index
on (status, next_attempt_at) serves it, in that order, and the lists of failed mail.

Revision ID: 0012
Revises: 0011
"""
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('appointment', schema=None) as batch_op:
        batch_op.drop_index('ix_appointment_state')
    with op.batch_alter_table('outboxmessage', schema=None) as batch_op:
        batch_op.drop_index('ix_outboxmessage_status')
        batch_op.drop_index('ix_outboxmessage_next_attempt_at')
        batch_op.create_index('ix_outboxmessage_due', ['status', 'next_attempt_at'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('outboxmessage', schema=None) as batch_op:
        batch_op.drop_index('ix_outboxmessage_due')
        batch_op.create_index('ix_outboxmessage_next_attempt_at', ['next_attempt_at'],
                              unique=False)
        batch_op.create_index('ix_outboxmessage_status', ['status'], unique=False)
    with op.batch_alter_table('appointment', schema=None) as batch_op:
        batch_op.create_index('ix_appointment_state', ['state'], unique=False)
