"""Persistence: tables, engine, migrations, encryption at rest, and the repository functions."""
