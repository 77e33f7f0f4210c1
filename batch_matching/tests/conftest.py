"""Fixtures of the batch-matching tests: the batch world (batch_matching.factories.build) and a
full run over it. Both need PostgreSQL: the results' table layout and the compiled statement
are PostgreSQL's. A test module sets the world's size with `BATCH_ENTITIES` (synthetic
entities, default 240) and a full run's chunk size with `BATCH_CHUNK_SIZE` (default 60)."""

import pytest
from django.db import connection

from batch_matching.factories import build, run_inline


@pytest.fixture
def batch_world(request):
    if connection.vendor != "postgresql":
        pytest.skip("batch matching runs on PostgreSQL (its table layout and compiled statement)")
    return build(count=getattr(request.module, "BATCH_ENTITIES", 240))


@pytest.fixture
def matched(batch_world, request):
    """(the batch world, a full run over it processed in this process and swapped in)."""
    return batch_world, run_inline(chunk_size=getattr(request.module, "BATCH_CHUNK_SIZE", 60))
