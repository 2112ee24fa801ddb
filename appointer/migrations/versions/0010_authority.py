"""who may do what (issue 12): the audit trail's hash chain, admins, OS logins

Revision ID: 0010
Revises: 0009
"""
import sqlalchemy as sa
from alembic import op

from appointer import audit_chain

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('auditevent', schema=None) as batch_op:
        batch_op.add_column(sa.Column('hash', sa.String(), nullable=True))
    with op.batch_alter_table('coordinator', schema=None) as batch_op:
        batch_op.add_column(sa.Column('admin', sa.Boolean(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('login', sa.String(), nullable=True))
        batch_op.create_unique_constraint('uq_coordinator_login', ['login'])
    # The rows written before this revision join the chain in their order.
    conn = op.get_bind()
    names = ", ".join(audit_chain.FIELDS)
    rows = conn.execute(sa.text(f"SELECT {names} FROM auditevent ORDER BY id")).mappings().all()
    previous = None
    for row in rows:
        previous = audit_chain.chain_hash(previous, dict(row))
        conn.execute(sa.text("UPDATE auditevent SET hash = :h WHERE id = :id"),
                     {"h": previous, "id": row["id"]})


def downgrade() -> None:
    with op.batch_alter_table('coordinator', schema=None) as batch_op:
        batch_op.drop_constraint('uq_coordinator_login', type_='unique')
        batch_op.drop_column('login')
        batch_op.drop_column('admin')
    with op.batch_alter_table('auditevent', schema=None) as batch_op:
        batch_op.drop_column('hash')
