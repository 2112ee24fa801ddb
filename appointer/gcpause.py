"""Pausing Python's cyclic garbage collector around bulk work (the reminder run)."""

from __future__ import annotations

import contextlib
import gc


@contextlib.contextmanager
def cyclic_gc_paused():
    """The reminder run holds the whole agenda in memory and makes few reference cycles; the
    cyclic collector would rescan that growing heap again and again (bench/remind_bench.py
    shows a large run's time; peak memory does not grow). Reference counting still frees
    everything. Nested pauses are fine: only the outermost re-enables."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()
