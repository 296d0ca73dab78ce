"""The ``postgres`` vector store: photo vectors in PostgreSQL + pgvector (``huisou[postgres]``).

A built-in plugin that always registers: importing it (and :mod:`.store`) needs only the
standard library, so ``huisou --help`` never loads psycopg. psycopg is imported when a
``postgres`` store is opened; without it the store says in one line how to install it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from huisou import hookimpl
from huisou.plugins.postgres.store import PostgresStore

__all__ = ["PostgresStore"]


@hookimpl
def register_vector_stores(register: Callable[..., Any]) -> None:
    register(PostgresStore)
