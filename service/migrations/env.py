"""Alembic's environment for previ: migrations run on the connection that ``upgrade()`` opened.

That connection is already inside a transaction that holds the migration lock,
so every revision of one upgrade commits together or not at all.
"""

from alembic import context

connection = context.config.attributes["connection"]
context.configure(connection=connection, render_as_batch=connection.dialect.name == "sqlite")
with context.begin_transaction():
    context.run_migrations()
