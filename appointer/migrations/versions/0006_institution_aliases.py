"""institution aliases: the other names an institution goes by (OUS, UNN, St. Olav)

Revision ID: 0006
Revises: 0005
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'institutionalias',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('alias', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('institution_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['institution_id'], ['institution.id'], ),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('alias'),
    )
    with op.batch_alter_table('institutionalias', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_institutionalias_institution_id'),
                              ['institution_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('institutionalias', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_institutionalias_institution_id'))
    op.drop_table('institutionalias')
