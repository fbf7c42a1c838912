"""EcoFlow request signing, pinned on the official test vector of EcoFlow's documentation."""

from __future__ import annotations

from power_exporter.sources.ecoflow.flatten import sorted_params
from power_exporter.sources.ecoflow.signing import (
    new_nonce,
    now_millis,
    signature,
    signed_headers,
    string_to_sign,
)

# EcoFlow's developer documentation, "HTTP access steps", signature example.
ACCESS_KEY = "Fp4SvIprYSDPXtYJidEtUAd1o"
SECRET_KEY = "WIbFEKre0s6sLnh4ei7SPUeYnptHG6V"
NONCE = "345164"
TIMESTAMP = "1671171709428"
BODY = {"sn": "123456789", "params": {"cmdSet": 11, "id": 24, "eps": 0}}


class TestOfficialVector:
    """EcoFlow's documented example."""

    def test_string_to_sign(self) -> None:
        """The documented string: params sorted and flattened, then key, nonce, timestamp."""
        assert string_to_sign(BODY, ACCESS_KEY, NONCE, TIMESTAMP) == (
            "params.cmdSet=11&params.eps=0&params.id=24&sn=123456789"
            "&accessKey=Fp4SvIprYSDPXtYJidEtUAd1o&nonce=345164&timestamp=1671171709428"
        )

    def test_signature(self) -> None:
        """The documented signature."""
        assert signature(BODY, ACCESS_KEY, SECRET_KEY, NONCE, TIMESTAMP) == (
            "07c13b65e037faf3b153d51613638fa80003c4c38d2407379a7f52851af1473e"
        )

    def test_device_list_has_no_params(self) -> None:
        """Without params the string starts with accessKey (no leading &)."""
        assert string_to_sign({}, ACCESS_KEY, NONCE, TIMESTAMP).startswith("accessKey=")
        assert signature({}, ACCESS_KEY, SECRET_KEY, NONCE, TIMESTAMP) == (
            "4409ae9efeaf0be9b8b48f02ebef8e804387e745e513588c136955606ca496f5"
        )

    def test_quota_all(self) -> None:
        """The quota/all request signs its one parameter, sn."""
        assert signature({"sn": "123456789"}, ACCESS_KEY, SECRET_KEY, NONCE, TIMESTAMP) == (
            "2296b02874dc12a165e0691e8f0c76c4424c582b335b48cd9c95518bebefbef5"
        )


class TestFlattening:
    """Nested parameters, as the documentation flattens them."""

    def test_documentation_example(self) -> None:
        """The nested example of EcoFlow's documentation flattens as documented."""
        params = {
            "name": "demo1",
            "ids": [1, 2, 3],
            "deviceList": [{"id": 1}, {"id": 2}],
            "deviceInfo": {"id": 1},
        }
        joined = "&".join(f"{k}={v}" for k, v in sorted_params(params))
        assert joined == (
            "deviceInfo.id=1&deviceList[0].id=1&deviceList[1].id=2"
            "&ids[0]=1&ids[1]=2&ids[2]=3&name=demo1"
        )

    def test_arrays_keep_their_order_past_ten(self) -> None:
        """Array positions are not sorted as strings (ids[10] stays after ids[9])."""
        keys = [key for key, _ in sorted_params({"ids": list(range(12))})]
        assert keys[9:] == ["ids[9]", "ids[10]", "ids[11]"]

    def test_booleans_are_spelled_in_json(self) -> None:
        """Booleans sign as true/false."""
        assert sorted_params({"a": True, "b": False}) == [("a", "true"), ("b", "false")]


class TestHeaders:
    """The headers of a signed request."""

    def test_headers(self) -> None:
        """The four headers, with a signature over the given params."""
        headers = signed_headers(BODY, ACCESS_KEY, SECRET_KEY, nonce=NONCE, timestamp=TIMESTAMP)
        assert headers == {
            "accessKey": ACCESS_KEY,
            "nonce": NONCE,
            "timestamp": TIMESTAMP,
            "sign": "07c13b65e037faf3b153d51613638fa80003c4c38d2407379a7f52851af1473e",
        }

    def test_fresh_nonce_and_timestamp(self) -> None:
        """Nonces are six digits; timestamps are milliseconds."""
        nonce = new_nonce()
        assert len(nonce) == 6
        assert nonce.isdigit()
        assert len(now_millis()) == 13
        headers = signed_headers({}, ACCESS_KEY, SECRET_KEY)
        assert headers["sign"] == signature(
            {}, ACCESS_KEY, SECRET_KEY, headers["nonce"], headers["timestamp"]
        )
