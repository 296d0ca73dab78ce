"""huisou-pgvector: a vector store on PostgreSQL + pgvector.

Only this module is named by the entry point; psycopg is imported when a store is opened,
never at huisou start-up.
"""

from __future__ import annotations

from typing import Any

from huisou import hookimpl

from huisou_pgvector.store import PgVectorStore

__version__ = "0.1.0"
__all__ = ["PgVectorStore"]


@hookimpl
def register_vector_stores(register: Any) -> None:
    register(PgVectorStore)
