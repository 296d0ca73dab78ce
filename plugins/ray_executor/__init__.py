"""The ``ray`` executor: index on a Ray cluster (``pip install 'huisou[ray]'``).

A built-in plugin that always registers: importing it (and :mod:`.executor`) needs only the
standard library and core, so ``huisou --help`` never loads Ray. Ray is imported when a run
starts with ``huisou index --executor ray``; without it the run stops with one line saying how
to install it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from huisou import hookimpl
from huisou.plugins.ray_executor.executor import RayExecutor

__all__ = ["RayExecutor"]


@hookimpl
def register_executors(register: Callable[..., Any]) -> None:
    register(RayExecutor)
