"""A bulk operation's memory goes back to the operating system (shared.memory)."""

import pytest

from shared.memory import MALLOC_TRIM, give_back_memory

pytestmark = pytest.mark.asyncio


def resident_mb() -> float:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:")) / 1024


@pytest.mark.skipif(MALLOC_TRIM is None, reason="glibc's allocator")
async def test_freed_memory_under_a_live_allocation_is_returned() -> None:
    # 80 MB in 2 KB blocks from the C heap (above pymalloc's 512 bytes, below the mmap
    # threshold); the last block stays, so the heap cannot simply shrink from its top.
    blocks = [bytes(2048) for _ in range(40_000)]
    kept = blocks[-1]
    before = resident_mb()
    del blocks
    freed = resident_mb()
    await give_back_memory()
    after = resident_mb()
    assert freed > before - 20 and after < freed - 40, (before, freed, after)
    assert kept
