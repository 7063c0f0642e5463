"""The adversarial run, small: with 10% of 64 nodes lying, the checked lookup names no wrong
owner, while the paper's plain lookup on the same ring and keys is fooled."""

from __future__ import annotations

from chordshare.sim.adversary import run_adversary


async def test_checked_lookups_name_no_wrong_owner_where_plain_ones_do() -> None:
    plain = await run_adversary(0.10, checked=False, nodes=64, lookups=400, seed=2)
    checked = await run_adversary(0.10, checked=True, nodes=64, lookups=400, seed=2)
    assert plain.liars == checked.liars == round(0.10 * 64)
    assert plain.wrong == 72
    assert checked.wrong == 0
    assert checked.failed == 0
