"""Finding names by their words on the in-memory cluster: search against a brute-force filter
(hypothesis), and word entries living by the name records' rules (replicas, take-over after a
crash, withdrawal, expiry, admission)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chordshare.errors import InvalidInput
from chordshare.model.manifest import FileRecord
from chordshare.model.records import RecordKey
from chordshare.model.words import words_of
from tests.records.factory import provider, record
from tests.records.harness import RecordCluster

VOCABULARY = ["random", "holiday", "photo", "bin", "20", "7", "report", "x"]


@pytest.fixture
async def cluster() -> AsyncIterator[RecordCluster]:
    c = RecordCluster(None, seed=21)
    await c.grow(5)
    await c.ring.converge()
    yield c
    await c.close()


def named(name: str, node: int, c: RecordCluster, content: str = "") -> FileRecord:
    return record(name, provider(node, c.wall.now + 600), content=content or name)


async def names_found(c: RecordCluster, query: str) -> list[str]:
    result = await c.random().search(query)
    return [hit.name for hit in result.hits]


async def test_search_finds_a_name_by_any_of_its_words(cluster: RecordCluster) -> None:
    await cluster.random().publish(named("random20.bin", 1, cluster))
    await cluster.random().publish(named("holiday-photo.jpg", 2, cluster))
    for word in ("random", "20", "bin", "RANDOM", "Random20"):
        assert await names_found(cluster, word) == ["random20.bin"]
    assert await names_found(cluster, "photo holiday") == ["holiday-photo.jpg"]
    assert await names_found(cluster, "random photo") == []
    assert await names_found(cluster, "nothing") == []
    with pytest.raises(InvalidInput, match="no word"):
        await cluster.random().search("a .")


async def test_a_hit_lists_each_variant_with_its_providers(cluster: RecordCluster) -> None:
    first = named("report.pdf", 1, cluster, content="one")
    second = named("report.pdf", 2, cluster, content="two")
    again = named("report.pdf", 3, cluster, content="two")
    for r in (first, second, again):
        await cluster.random().publish(r)
    (hit,) = (await cluster.random().search("report")).hits
    assert [(v.content_hash, len(v.providers)) for v in hit.variants] == [
        (second.manifest.content_hash, 2),
        (first.manifest.content_hash, 1),
    ]
    assert hit.variants[0].size == second.manifest.size


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    st.lists(
        st.lists(st.sampled_from(VOCABULARY), min_size=1, max_size=4).map("_".join),
        min_size=1,
        max_size=12,
        unique=True,
    ),
    st.lists(st.sampled_from(VOCABULARY), min_size=1, max_size=2),
)
async def test_search_returns_exactly_the_names_with_every_word(
    names: list[str], query: list[str]
) -> None:
    c = RecordCluster(None, seed=len(names))
    try:
        await c.grow(4)
        await c.ring.converge()
        for i, name in enumerate(names):
            await c.random().publish(named(name + ".dat", i + 1, c))
        wanted = set(words_of(" ".join(query)))
        expected = sorted(n + ".dat" for n in names if wanted <= set(words_of(n + ".dat")))
        if not wanted:
            with pytest.raises(InvalidInput):
                await c.random().search(" ".join(query))
            return
        assert await names_found(c, " ".join(query)) == expected
    finally:
        await c.close()


async def test_word_entries_survive_a_crash_and_follow_a_withdrawal(
    cluster: RecordCluster,
) -> None:
    r = named("random20.bin", 1, cluster)
    await cluster.random().publish(r)
    owner = cluster.records[cluster.holders("random")[0]]
    cluster.crash(owner)
    await cluster.settle()
    assert await cluster.misplaced() == []
    assert await names_found(cluster, "random") == ["random20.bin"]
    # the provider withdraws (it no longer holds the file: nobody vouches for it)
    cluster.vouch = lambda node, key: False
    gone = FileRecord(r.manifest, (r.providers[0].tombstone(cluster.wall.now, 600),))
    await cluster.random().publish(gone)
    for word in ("random", "20", "bin"):
        assert await names_found(cluster, word) == []
    assert await cluster.random().find("random20.bin") == []


async def test_word_entries_expire_with_the_name(cluster: RecordCluster) -> None:
    await cluster.random().publish(named("random20.bin", 1, cluster))
    cluster.wall.now += 601
    assert await names_found(cluster, "random") == []
    await cluster.repair_round()
    left = [r for rec in cluster.records.values() for r in await rec.store.scan(0, 0)]
    assert left == []


async def test_nobody_files_a_name_under_a_word_for_a_provider_that_does_not_hold_it(
    cluster: RecordCluster,
) -> None:
    """The holder asks the provider about the variant the word entry indexes."""
    real = named("random20.bin", 1, cluster)
    cluster.vouch = lambda node, key: key == RecordKey(real.name, real.manifest.content_hash)
    forged = named("holiday.bin", 1, cluster)
    await cluster.random().publish(real)
    await cluster.random().publish(forged)
    assert await names_found(cluster, "bin") == ["random20.bin"]
    assert await names_found(cluster, "holiday") == []
    # a word entry under a word its name lacks is refused outright
    with pytest.raises(InvalidInput, match="not one of the indexed words"):
        await cluster.random().store_records(
            [FileRecord(real.manifest, real.providers, "x1")], False
        )


async def test_records_per_name_with_the_word_index(cluster: RecordCluster) -> None:
    """A figure: a name of three words costs four records, each on k holders."""
    await cluster.random().publish(named("random20.bin", 1, cluster))
    held = [r for rec in cluster.records.values() for r in await rec.store.scan(0, 0)]
    assert len(held) == (1 + 3) * cluster.replicas
    assert sorted({r.word for r in held}) == ["", "20", "bin", "random"]
