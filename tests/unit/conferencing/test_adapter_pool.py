"""The writer's pool of calendar adapters: reused, never shared by two threads, bounded."""

from __future__ import annotations

from syncd.conferencing.adapter_pool import AdapterPool


class Built:
    """A stand-in adapter: a distinct object per build."""


def test_a_returned_adapter_is_lent_again_for_its_key() -> None:
    pool: AdapterPool[Built] = AdapterPool(4)
    with pool.lend("pro_1", Built) as first:
        pass
    with pool.lend("pro_1", Built) as again:
        assert again is first
    assert pool.built == 1


def test_an_adapter_in_use_is_not_lent_to_a_second_caller() -> None:
    pool: AdapterPool[Built] = AdapterPool(4)
    with pool.lend("pro_1", Built) as first, pool.lend("pro_1", Built) as second:
        assert second is not first
    assert pool.idle() == 2


def test_another_key_gets_its_own_adapter() -> None:
    pool: AdapterPool[Built] = AdapterPool(4)
    with pool.lend("pro_1", Built) as first:
        pass
    with pool.lend("pro_2", Built) as other:
        assert other is not first


def test_at_most_size_idle_adapters_are_kept_the_least_recently_used_dropped() -> None:
    pool: AdapterPool[Built] = AdapterPool(2)
    kept = {}
    for key in ("pro_1", "pro_2", "pro_3"):
        with pool.lend(key, Built) as adapter:
            kept[key] = adapter
    assert pool.idle() == 2
    with pool.lend("pro_3", Built) as adapter:
        assert adapter is kept["pro_3"]
    with pool.lend("pro_1", Built) as adapter:
        assert adapter is not kept["pro_1"]  # dropped: built again
    assert pool.built == 4
