"""The developer REST client against the fake cloud: signatures, errors, retries, limits."""

from __future__ import annotations

import ssl
from typing import TYPE_CHECKING

import pytest

from power_exporter.errors import (
    AuthError,
    ConnectError,
    DecodeError,
    DeviceTimeoutError,
    ProtocolError,
)
from power_exporter.sources.ecoflow.rest import MAX_BODY, RestClient
from tests.peers.mosquitto import free_port
from tests.sources.ecoflow import data
from tests.sources.ecoflow.fake_cloud import (
    CERTIFICATION,
    DEVICE_LIST,
    QUOTA_ALL,
    FakeCloud,
    Fault,
    envelope,
)

if TYPE_CHECKING:
    from tests.peers.mosquitto import TlsFiles

SN = "R331ZEB4ZEAL0001"


def client(cloud: FakeCloud, **kwargs: object) -> RestClient:
    """A client of the fake cloud with quick retries."""
    options: dict[str, object] = {"http_timeout": 2.0, "retries": 2, "backoff_factor": 0.01}
    options.update(kwargs)
    access = str(options.pop("access_key", cloud.access_key))
    secret = str(options.pop("secret_key", cloud.secret_key))
    base = str(options.pop("base_url", cloud.url))
    return RestClient(base, access, secret, **options)  # type: ignore[arg-type]


def _json(value: object) -> bytes:
    import json  # noqa: PLC0415

    return json.dumps(value).encode()


class TestEndpoints:
    """What the endpoints return."""

    async def test_device_list_and_quota(self, cloud: FakeCloud) -> None:
        """device/list rows and quota/all data, through signed requests the fake accepted."""
        cloud.add(SN, data.delta2(), name="Garage", product="DELTA 2")
        cloud.add("HW51ZEH4SF5R3047", data.powerstream(), online=0)
        async with client(cloud) as rest:
            devices = await rest.device_list()
            quota = await rest.quota_all(SN)
        assert devices[SN].name == "Garage"
        assert devices[SN].product_name == "DELTA 2"
        assert devices[SN].online is True
        assert devices["HW51ZEH4SF5R3047"].online is False
        assert devices["HW51ZEH4SF5R3047"].product_name == ""
        assert quota["pd.soc"] == 86
        assert cloud.requests[-1] == (QUOTA_ALL, {"sn": SN})

    async def test_device_list_is_cached(self, cloud: FakeCloud) -> None:
        """Within the TTL the list is not fetched again; refresh=True fetches."""
        cloud.add(SN, {})
        async with client(cloud, list_ttl=60.0) as rest:
            await rest.device_list()
            await rest.device_list()
            assert cloud.count(DEVICE_LIST) == 1
            await rest.device_list(refresh=True)
            assert cloud.count(DEVICE_LIST) == 2

    async def test_no_data_is_an_empty_quota(self, cloud: FakeCloud) -> None:
        """A success without data (EcoFlow does this for a Smart Meter) is an empty map."""
        cloud.fail(QUOTA_ALL, Fault(body=_json(envelope("0", "Success"))))
        async with client(cloud) as rest:
            assert await rest.quota_all(SN) == {}

    async def test_certification(self, cloud: FakeCloud) -> None:
        """The broker's address and credentials."""
        cloud.certifications.append(
            {
                "certificateAccount": "open-acct",
                "certificatePassword": "pw",
                "url": "mqtt-e.ecoflow.com",
                "port": "8883",
                "protocol": "mqtts",
            }
        )
        async with client(cloud) as rest:
            cert = await rest.certification()
        assert (cert.account, cert.host, cert.port, cert.protocol) == (
            "open-acct",
            "mqtt-e.ecoflow.com",
            8883,
            "mqtts",
        )
        assert "pw" not in repr(cert)


class TestRefusals:
    """EcoFlow's error codes become our errors, with the code and a hint."""

    async def test_wrong_secret(self, cloud: FakeCloud) -> None:
        """8521: a bad signature names the clock as the likely cause."""
        async with client(cloud, secret_key="wrong-secret") as rest:
            with pytest.raises(AuthError, match=r"8521.*signature is wrong.*clock"):
                await rest.device_list()

    async def test_wrong_access_key(self, cloud: FakeCloud) -> None:
        """8513: a refused access key names the region's host."""
        async with client(cloud, access_key="wrong-key") as rest:
            with pytest.raises(AuthError, match=r"8513.*api-e\.ecoflow\.com"):
                await rest.device_list()

    async def test_skewed_clock(self) -> None:
        """A timestamp 20 minutes off the server's clock is refused as a wrong signature."""
        async with FakeCloud(clock_offset_ms=20 * 60 * 1000) as skewed, client(skewed) as rest:
            with pytest.raises(AuthError, match=r"8521.*clock"):
                await rest.device_list()

    async def test_unknown_device(self, cloud: FakeCloud) -> None:
        """quota/all of a serial the account does not have: EcoFlow's 1006."""
        async with client(cloud) as rest:
            with pytest.raises(ProtocolError, match=r"1006.*api: device"):
                await rest.quota_all("NOPE0000")

    async def test_unknown_code(self, cloud: FakeCloud) -> None:
        """A code we do not know is a ProtocolError that carries it."""
        cloud.fail(DEVICE_LIST, Fault(body=_json(envelope("4242", "strange"))))
        async with client(cloud) as rest:
            with pytest.raises(ProtocolError, match=r"EcoFlow error 4242 on .*: strange"):
                await rest.device_list()

    async def test_no_content_type_on_get(self, cloud: FakeCloud) -> None:
        """The fake verifies JSON-typed GETs against the body; ours pass, so none is sent."""
        cloud.add(SN, {"pd.soc": 1})
        async with client(cloud) as rest:
            await rest.quota_all(SN)
        assert cloud.count(QUOTA_ALL) == 1


class TestRetries:
    """429, 5xx, timeouts and dropped connections are retried with backoff."""

    async def test_5xx_then_success(self, cloud: FakeCloud) -> None:
        """Two 503s, then the answer."""
        cloud.add(SN, {"pd.soc": 5})
        cloud.fail(QUOTA_ALL, Fault(status=503), Fault(status=502))
        async with client(cloud, retries=2) as rest:
            assert await rest.quota_all(SN) == {"pd.soc": 5}
        assert cloud.count(QUOTA_ALL) == 3

    async def test_rate_limit_with_retry_after(self, cloud: FakeCloud) -> None:
        """429 with Retry-After is retried after that delay."""
        cloud.add(SN, {})
        cloud.fail(DEVICE_LIST, Fault(status=429, headers={"Retry-After": "0"}))
        async with client(cloud) as rest:
            assert SN in await rest.device_list()
        assert cloud.count(DEVICE_LIST) == 2

    async def test_retries_run_out(self, cloud: FakeCloud) -> None:
        """Past the retries the last error is raised, HTTP status named."""
        cloud.fail(DEVICE_LIST, *[Fault(status=500)] * 3)
        async with client(cloud, retries=2) as rest:
            with pytest.raises(ProtocolError, match="HTTP 500"):
                await rest.device_list()
        assert cloud.count(DEVICE_LIST) == 3

    async def test_timeout(self, cloud: FakeCloud) -> None:
        """A slow answer times out per request, is retried, then reported."""
        cloud.add(SN, {})
        cloud.fail(DEVICE_LIST, Fault(delay=0.5), Fault(delay=0.5))
        async with client(cloud, http_timeout=0.2, retries=1) as rest:
            with pytest.raises(DeviceTimeoutError, match=r"within 0\.2 s"):
                await rest.device_list()
            assert SN in await rest.device_list()

    async def test_connection_refused(self) -> None:
        """Nobody listening: a ConnectError after the retries."""
        rest = client(FakeCloud(), base_url=f"http://127.0.0.1:{free_port()}", retries=1)
        async with rest:
            with pytest.raises(ConnectError, match=r"127\.0\.0\.1"):
                await rest.device_list()


class TestBadAnswers:
    """Malformed, huge or odd answers are DecodeErrors, never crashes."""

    @pytest.mark.parametrize(
        ("body", "match"),
        [
            (b"{not json", "not JSON"),
            (b"[1, 2]", "not EcoFlow's"),
            (b"[" * 100_000 + b"]" * 100_000, "not JSON"),
            (_json(envelope("0", "Success", "text")), "not an object"),
        ],
        ids=["malformed", "not-an-envelope", "deep", "data-not-object"],
    )
    async def test_quota(self, cloud: FakeCloud, body: bytes, match: str) -> None:
        """Each bad quota/all answer names what is wrong."""
        cloud.fail(QUOTA_ALL, Fault(body=body))
        async with client(cloud) as rest:
            with pytest.raises(DecodeError, match=match):
                await rest.quota_all(SN)

    async def test_huge(self, cloud: FakeCloud) -> None:
        """An answer over the size limit is refused before parsing."""
        cloud.fail(QUOTA_ALL, Fault(body=b" " * (MAX_BODY + 1)))
        async with client(cloud) as rest:
            with pytest.raises(DecodeError, match="bytes"):
                await rest.quota_all(SN)

    async def test_bad_device_list(self, cloud: FakeCloud) -> None:
        """Rows without sn are skipped; a non-list is a DecodeError."""
        rows = [{"online": 1}, "x", {"sn": SN, "online": "1"}]
        cloud.fail(DEVICE_LIST, Fault(body=_json(envelope("0", "ok", rows))))
        cloud.fail(DEVICE_LIST, Fault(body=_json(envelope("0", "ok", {"sn": SN}))))
        async with client(cloud) as rest:
            assert list(await rest.device_list()) == [SN]
            with pytest.raises(DecodeError, match="not a list"):
                await rest.device_list(refresh=True)

    async def test_bad_certification(self, cloud: FakeCloud) -> None:
        """A certification without its account is a DecodeError."""
        cloud.certifications.append({"url": "x"})
        async with client(cloud) as rest:
            with pytest.raises(DecodeError, match="certificateAccount"):
                await rest.certification()
        assert cloud.count(CERTIFICATION) == 1


class TestTls:
    """HTTPS with a private CA (ca_file)."""

    async def test_private_ca(self, tls: TlsFiles) -> None:
        """Trusted with ca_file; refused without it."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(tls.cert, tls.key)
        async with FakeCloud() as cloud:
            await cloud.stop()
            await cloud.start(ssl_context=context)
            cloud.add(SN, {})
            async with client(cloud, ca_file=str(tls.ca)) as rest:
                assert SN in await rest.device_list()
            async with client(cloud) as rest:
                with pytest.raises(ConnectError, match="TLS"):
                    await rest.device_list()
