"""A device of a family we do not decode is up while it talks (issue 11, item 4).

A STREAM Microinverter (SN prefix BK01, a schema of its own, which we do not have, under
command numbers that other devices use too) pushes protobuf envelopes over the real TLS
mosquitto: the runtime keeps it up, exports what the envelope says (messages per command pair,
the message counter), and counts each header it cannot decode as
``read_errors_total{reason="undecoded"}``.
"""

from __future__ import annotations

import asyncio
import re
from typing import TYPE_CHECKING

import pytest

from power_exporter.exposition.text import Renderer
from power_exporter.model import DeviceFault, DeviceIdentity, Reading
from power_exporter.runtime import Runtime
from power_exporter.sources.ecoflow.app_device import AppDevice, UndecodedError
from power_exporter.sources.ecoflow.online import OnlineModel
from power_exporter.sources.registry import KINDS
from power_exporter.store import Store
from tests.peers.promtool import check_metrics
from tests.sources.ecoflow.app_harness import StandIn, World, world
from tests.sources.ecoflow.app_payloads import envelope, header
from tests.support import until

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

    from tests.peers.mosquitto import TlsFiles

FOREIGN_SN = "BK01ZEB4XXXX0001"  # STREAM Microinverter: a foreign schema, nothing decoded
FOREIGN_BYTES = b"\x08\x96\x01\x10\x2a"  # a valid protobuf body of a schema we do not have


def foreign_push(seq: int) -> bytes:
    """One envelope of the microinverter: a display-numbered report and a heartbeat."""
    return envelope(
        header(FOREIGN_BYTES, (254, 21), seq=seq, src=2),
        header(FOREIGN_BYTES, (32, 2), seq=seq, src=2),
    )


@pytest.fixture
async def app_world(
    tmp_path: Path, tls: TlsFiles, request: pytest.FixtureRequest
) -> AsyncIterator[World]:
    """A broker and login stand-in of this test's own."""
    user = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-") + "@example.com"
    async with world(tmp_path, tls, user) as built:
        yield built


class TestUndecodedDevice:
    def test_envelope_is_data(self) -> None:
        """Each payload: a Reading with the envelope's raw values, a fault per header."""
        device = AppDevice(
            "stream",
            FOREIGN_SN,
            DeviceIdentity(name="stream", source="ecoflow"),
            None,
            OnlineModel(started=0.0),
            keep_for=900.0,
        )
        device.on_payload(foreign_push(7), reply=False, now=1.0)
        events = device.on_payload(foreign_push(8), reply=False, now=2.0)
        reading, *faults = events
        assert isinstance(reading, Reading)
        assert reading.raw == {
            "envelope.messages[254][21]": 2.0,
            "envelope.messages[32][2]": 2.0,
            "envelope.seq": 8.0,
        }
        assert reading.measures == {}
        assert len(faults) == 2
        assert all(isinstance(f, DeviceFault) for f in faults)
        assert {f.error.reason for f in faults if isinstance(f, DeviceFault)} == {"undecoded"}
        assert all(
            isinstance(f.error, UndecodedError) for f in faults if isinstance(f, DeviceFault)
        )

    async def test_talking_device_is_up_with_undecoded_counted(self, app_world: World) -> None:
        """Through the runtime and a real broker: up, envelope series, undecoded counted."""
        store = Store()
        cfg = app_world.config(FOREIGN_SN, api="mqtt")
        runtime = Runtime([cfg], store, backoff_max=0.2)

        def raw(key: str) -> float | None:
            state = store.get("garage")
            if state is None or not state.up or state.reading is None:
                return None
            return state.reading.raw.get(key)

        async with StandIn(app_world, FOREIGN_SN) as stand_in:
            runtime.start()
            try:
                seq = 0
                while raw("envelope.seq") is None:  # until the session has subscribed
                    seq += 1
                    await stand_in.push(foreign_push(seq))
                    await asyncio.sleep(0.2)
                await until(lambda: raw("envelope.seq") == seq)
                before = raw("envelope.messages[254][21]")
                assert before is not None
                for more in (1, 2):
                    await stand_in.push(foreign_push(seq + more))
                await until(lambda: raw("envelope.seq") == seq + 2)
                page = Renderer(store, lambda kind: KINDS[kind].naming).render()
            finally:
                await runtime.stop()
        check_metrics(page)
        text = page.decode()
        seen = int(before) + 2
        assert 'power_device_up{device="garage"} 1' in text
        messages = r'ecoflow_envelope_messages\{device="garage",[^}]*index_0="254",index_1="21"\}'
        assert re.search(rf"{messages} {seen}\n", text)
        assert re.search(rf'ecoflow_envelope_seq\{{device="garage",[^}}]*\}} {seq + 2}\n', text)
        errors = r'power_exporter_read_errors_total\{device="garage",reason="undecoded"\}'
        assert re.search(rf"{errors} {2 * seen}\n", text)
