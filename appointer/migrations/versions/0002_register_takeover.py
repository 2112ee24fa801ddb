"""register take-over: notes, date precision, the state a queued message was written for

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('service', schema=None) as batch_op:
        batch_op.add_column(sa.Column('note', sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        batch_op.add_column(sa.Column('date_precision', sa.JSON(), nullable=True))
    with op.batch_alter_table('appointment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('note', sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        batch_op.add_column(sa.Column('date_precision', sa.JSON(), nullable=True))
    with op.batch_alter_table('outboxmessage', schema=None) as batch_op:
        batch_op.add_column(sa.Column('case_state', sqlmodel.sql.sqltypes.AutoString(),
                                      nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('outboxmessage', schema=None) as batch_op:
        batch_op.drop_column('case_state')
    with op.batch_alter_table('appointment', schema=None) as batch_op:
        batch_op.drop_column('date_precision')
        batch_op.drop_column('note')
    with op.batch_alter_table('service', schema=None) as batch_op:
        batch_op.drop_column('date_precision')
        batch_op.drop_column('note')
