"""The console's shared access state on the records database, on a SQLite file and on PostgreSQL."""

import datetime as dt

from activities.records import Records
from console.access_store import KEEP_SECONDS, RecordsAccessStore, RevocationStore
from console.auth import ADDRESS_LIMIT, SignInLimiter


class TestRecordsAccessStore:
    async def test_replicas_share_failures(self, records: Records) -> None:
        """Failures counted through one replica's pool lock the address at another's; others stay free."""
        other = Records(records.url)
        try:
            first, second = SignInLimiter(RecordsAccessStore(records)), SignInLimiter(RecordsAccessStore(other))
            limit, _ = ADDRESS_LIMIT
            for _ in range(limit):
                await first.failed(None, "198.51.100.9")
            assert await second.blocked(None, "198.51.100.9")
            assert not await second.blocked(None, "198.51.100.10")
            assert await second.size() == 1
        finally:
            await other.dispose()

    async def test_success_forgives_only_the_pair(self, records: Records) -> None:
        """A successful sign-in clears that account's failures at that address, not the address's own count."""
        store = RecordsAccessStore(records)
        limiter = SignInLimiter(store)
        await limiter.failed("zhang", "192.0.2.1")
        await limiter.succeeded("zhang", "192.0.2.1")
        assert await store.count_since("pair:zhang|192.0.2.1", 0) == 0
        assert await store.count_since("addr:192.0.2.1", 0) == 1

    async def test_old_failures_are_deleted(self, records: Records) -> None:
        """Rows older than the longest window go as new ones arrive."""
        store = RecordsAccessStore(records)
        await store.add("addr:old", 1000.0)
        await store.add("addr:new", 1000.0 + KEEP_SECONDS + 1)
        assert await store.count_since("addr:old", 0) == 0
        assert await store.count_since("addr:new", 0) == 1


class TestRevocations:
    async def test_only_moves_forward(self, records: Records) -> None:
        """A later revocation wins, an earlier one changes nothing; stored and read back in UTC."""
        store = RevocationStore(records)
        at = dt.datetime(2026, 6, 1, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
        assert await store.valid_from("office", "u1") is None
        await store.revoke("office", "u1", at)
        await store.revoke("office", "u1", at - dt.timedelta(days=1))
        assert await store.valid_from("office", "u1") == at
        await store.revoke("office", "u1", at + dt.timedelta(hours=1))
        found = await store.valid_from("office", "u1")
        assert found == at + dt.timedelta(hours=1)
        assert found is not None and found.utcoffset() == dt.timedelta(0)
        assert await store.valid_from("office", "u2") is None
