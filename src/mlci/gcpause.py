"""Pause the cyclic garbage collector while a command loads its tools.

Importing DVC and indexing a repo create hundreds of thousands of long-lived objects (modules,
classes, the index) and next to no cyclic garbage, yet the collector keeps walking them: a full pass
each time the heap has grown by a quarter, and one more at interpreter exit. Pausing it while they
load and then freezing them (`gc.freeze`: later collections skip them) saves about 90 ms of a
0.5 s `mlci report` (docs/benchmarks.md). Reading data (pandas) and the rest of a command run with
the collector on.

Freezing keeps whatever was loaded for the life of the process, so it happens only in the `mlci`
process itself (`mlci.cli.app.main` sets `freeze_after_pause`), which exits when the command ends; called
as a library (tests, notebooks) the pause is only a pause.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

freeze_after_pause = False  # set by mlci.cli.app.main: the process ends with the command


@contextmanager
def gc_paused() -> Iterator[None]:
    """No automatic collections inside; the collector's previous state afterwards (nesting is fine)."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        if freeze_after_pause:
            gc.freeze()  # what was loaded stays: later collections, and the one at exit, skip it
        gc.enable()
