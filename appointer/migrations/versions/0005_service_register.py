"""service register: several predecessors (mergers) in a link table; a competence service's
continuation after its term

Revision ID: 0005
Revises: 0002
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0005'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'servicepredecessor',
        sa.Column('service_id', sa.Integer(), nullable=False),
        sa.Column('predecessor_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['predecessor_id'], ['service.id'], ),
        sa.ForeignKeyConstraint(['service_id'], ['service.id'], ),
        sa.PrimaryKeyConstraint('service_id', 'predecessor_id'),
    )
    with op.batch_alter_table('servicepredecessor', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_servicepredecessor_predecessor_id'),
                              ['predecessor_id'], unique=False)
    op.execute("INSERT INTO servicepredecessor (service_id, predecessor_id) "
               "SELECT id, predecessor_id FROM service WHERE predecessor_id IS NOT NULL")
    with op.batch_alter_table('service', schema=None) as batch_op:
        batch_op.drop_column('predecessor_id')
        batch_op.add_column(sa.Column('continued_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('continuation', sqlmodel.sql.sqltypes.AutoString(),
                                      nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('service', schema=None) as batch_op:
        batch_op.drop_column('continuation')
        batch_op.drop_column('continued_on')
        batch_op.add_column(sa.Column('predecessor_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_service_predecessor_id', 'service',
                                    ['predecessor_id'], ['id'])
    # a merger's second predecessor has no place in the old column: the first is kept
    op.execute("UPDATE service SET predecessor_id = (SELECT min(p.predecessor_id) FROM "
               "servicepredecessor p WHERE p.service_id = service.id)")
    with op.batch_alter_table('servicepredecessor', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_servicepredecessor_predecessor_id'))
    op.drop_table('servicepredecessor')
