"""terra.memory_stats() and terra.reset_peak_memory_stats(): the CPU allocator's counters as
Python sees them (tools/bench/replay_corpus.py reads the peak at exit)."""
import terra

MIB = 2**20


def test_peak_follows_allocations_and_resets_to_what_is_in_use():
    terra.reset_peak_memory_stats()
    before = terra.memory_stats()
    assert set(before) == {"in_use_bytes", "peak_bytes", "cached_bytes", "reserved_bytes", "peak_reserved_bytes",
                           "segments", "allocations", "cache_hits", "alloc_retries", "ooms"}
    assert before["reserved_bytes"] == before["in_use_bytes"] + before["cached_bytes"]
    assert before["peak_bytes"] == before["in_use_bytes"]
    big = terra.ones(4 * MIB // 4, dtype=terra.float32)
    held = terra.memory_stats()
    assert held["in_use_bytes"] >= before["in_use_bytes"] + 4 * MIB
    assert held["peak_bytes"] >= held["in_use_bytes"]
    assert held["allocations"] > before["allocations"]
    del big
    freed = terra.memory_stats()
    assert freed["in_use_bytes"] < held["in_use_bytes"]
    assert freed["peak_bytes"] == held["peak_bytes"]  # a high-water mark
    terra.reset_peak_memory_stats()
    assert terra.memory_stats()["peak_bytes"] == terra.memory_stats()["in_use_bytes"]
