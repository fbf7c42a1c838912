"""``api: rest`` with ``serial: "*"``: each device has its own budget and its own errors."""

from __future__ import annotations

import json
import time

import pytest

from power_exporter.errors import AuthError, DeviceTimeoutError
from power_exporter.model import DeviceFault, Reading, Roster
from power_exporter.sources.ecoflow.accounts import Accounts
from power_exporter.sources.ecoflow.source import RestSource, open_source
from tests.sources.ecoflow.conftest import config
from tests.sources.ecoflow.fake_cloud import DEVICE_LIST, QUOTA_ALL, FakeCloud, Fault, envelope

SERIALS = [f"R331ZEB4ZE{index:06d}" for index in range(20)]
REFUSED, SILENT = SERIALS[3], SERIALS[11]
# The entry's timeout. The read is built to end within 90 % of it; the test allows the whole
# timeout, the rest being margin for a loaded two-core machine.
TIMEOUT = 5.0


def refusal() -> Fault:
    """EcoFlow's per-device "no permission" (8512), as STREAM devices answer since 2025."""
    return Fault(body=json.dumps(envelope("8512", "no permission")).encode())


class TestFanOutErrors:
    async def test_one_refused_one_silent_eighteen_up(self, cloud: FakeCloud) -> None:
        """20 devices, one 8512, one that never answers: 18 readings, two faults, in time."""
        for index, sn in enumerate(SERIALS):
            cloud.add(sn, {"pd.soc": 10 + index, "pd.wattsOutSum": index})
        cloud.fail(QUOTA_ALL, refusal(), sn=REFUSED)
        cloud.fail(QUOTA_ALL, *[Fault(delay=TIMEOUT + 2)] * 3, sn=SILENT)
        cfg = config(cloud, serial="*", timeout=TIMEOUT, http_timeout=2, http_retries=2)
        async with open_source(cfg) as source:
            started = time.monotonic()
            events = await source.read()  # type: ignore[union-attr]
            elapsed = time.monotonic() - started
        readings = {e.device: e for e in events if isinstance(e, Reading)}
        faults = {e.device: e for e in events if isinstance(e, DeviceFault)}
        assert len(readings) == 18
        for index, sn in enumerate(SERIALS):
            if sn not in {REFUSED, SILENT}:
                assert readings[f"station/{sn}"].raw["pd.soc"] == 10 + index
        assert isinstance(faults[f"station/{REFUSED}"].error, AuthError)
        assert faults[f"station/{REFUSED}"].error.reason == "auth"
        assert isinstance(faults[f"station/{SILENT}"].error, DeviceTimeoutError)
        assert faults[f"station/{SILENT}"].error.reason == "timeout"
        assert elapsed < TIMEOUT
        (roster,) = [e for e in events if isinstance(e, Roster)]
        assert len(roster.devices) == 20

    async def test_account_refusal_fails_the_read(self, cloud: FakeCloud) -> None:
        """A wrong secret key fails the whole read: every device shares the keys."""
        cloud.add(SERIALS[0], {"pd.soc": 1})
        cfg = config(cloud, serial="*", secret_key="wrong")
        async with open_source(cfg) as source:
            with pytest.raises(AuthError, match="signature"):
                await source.read()  # type: ignore[union-attr]


class TestSharedList:
    async def test_entries_on_one_key_pair_fetch_the_list_once(self, cloud: FakeCloud) -> None:
        """Three entries on the same keys: one device-list fetch per interval, not three."""
        for sn in SERIALS[:3]:
            cloud.add(sn, {"pd.soc": 5})
        accounts = Accounts()
        sources = [
            RestSource(config(cloud, serial=sn, name=f"s{i}"), accounts)
            for i, sn in enumerate(SERIALS[:3])
        ]
        for source in sources:
            await source.__aenter__()
        try:
            for source in sources:
                assert isinstance((await source.read())[0], Reading)
        finally:
            for source in sources:
                await source.__aexit__(None, None, None)
        assert cloud.count(DEVICE_LIST) == 1
        assert accounts.open_hubs() == 0

    async def test_missing_serial_does_not_refetch_every_poll(self, cloud: FakeCloud) -> None:
        """A serial the list lacks: one re-fetch per list TTL, not one per poll."""
        cloud.add(SERIALS[0], {"pd.soc": 5})
        async with open_source(config(cloud, serial=SERIALS[1])) as source:
            for _ in range(5):
                (event,) = await source.read()  # type: ignore[union-attr]
                assert isinstance(event, DeviceFault)
        assert cloud.count(DEVICE_LIST) == 2  # the first fetch, and one check for the serial
