"""``--web.config.file``: TLS and basic auth in the format of the Prometheus exporter-toolkit.

Operators reuse the files they already have for node_exporter and friends::

    tls_server_config:
      cert_file: server.crt          # relative paths are relative to this file
      key_file: server.key
      client_auth_type: RequireAndVerifyClientCert
      client_ca_file: ca.crt
    http_server_config:
      headers: {X-Frame-Options: deny}
    basic_auth_users:
      prometheus: $2y$10$...         # bcrypt hashes, made with: htpasswd -nBC 10 ""

Differences from the Go toolkit, all because Python's ``ssl`` module cannot do otherwise:
``RequestClientCert`` and ``RequireAnyClientCert`` (ask for a certificate but do not verify
it) are refused; several ``curve_preferences`` leave OpenSSL's default group list (a
single one is pinned); ``http2`` is accepted and ignored (aiohttp speaks HTTP/1.1). The
file and its certificates are re-read when they change (``webwatch.py``).

``/healthz`` stays open without credentials (``OPEN_PATHS``) so that container and
kubelet health checks need no secret; TLS still applies to it.
"""

from __future__ import annotations

import contextlib
import ssl
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Final

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from power_exporter.errors import ConfigError
from power_exporter.webauth import (
    BCRYPT_HASH,
    OPEN_PATHS,
    allowed_sans_middleware,
    basic_auth_middleware,
    headers_middleware,
    rate_limit_middleware,
)

if TYPE_CHECKING:
    from collections.abc import Collection, Mapping

    from aiohttp.typedefs import Middleware

__all__ = [
    "OPEN_PATHS",
    "WebConfig",
    "basic_auth_middleware",
    "load",
    "middlewares",
    "ssl_context",
]

TLS_VERSIONS: Final[Mapping[str, ssl.TLSVersion]] = {
    "TLS10": ssl.TLSVersion.TLSv1,
    "TLS11": ssl.TLSVersion.TLSv1_1,
    "TLS12": ssl.TLSVersion.TLSv1_2,
    "TLS13": ssl.TLSVersion.TLSv1_3,
}
# The toolkit's client_auth_type -> how Python verifies the client; None: Python cannot do it.
CLIENT_AUTH: Final[Mapping[str, ssl.VerifyMode | None]] = {
    "NoClientCert": ssl.CERT_NONE,
    "VerifyClientCertIfGiven": ssl.CERT_OPTIONAL,
    "RequireAndVerifyClientCert": ssl.CERT_REQUIRED,
    "RequestClientCert": None,
    "RequireAnyClientCert": None,
    "RequireClientCert": None,
}
# Go's cipher suite names (crypto/tls CipherSuites()) -> OpenSSL's (`openssl ciphers -stdname`).
# TLS 1.3 suites are not configurable, in Go as here: they are accepted and have no effect.
CIPHER_SUITES: Final[Mapping[str, str | None]] = {
    "TLS_RSA_WITH_AES_128_CBC_SHA": "AES128-SHA",
    "TLS_RSA_WITH_AES_256_CBC_SHA": "AES256-SHA",
    "TLS_RSA_WITH_AES_128_GCM_SHA256": "AES128-GCM-SHA256",
    "TLS_RSA_WITH_AES_256_GCM_SHA384": "AES256-GCM-SHA384",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA": "ECDHE-ECDSA-AES128-SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA": "ECDHE-ECDSA-AES256-SHA",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA": "ECDHE-RSA-AES128-SHA",
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA": "ECDHE-RSA-AES256-SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256": "ECDHE-ECDSA-AES128-GCM-SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384": "ECDHE-ECDSA-AES256-GCM-SHA384",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256": "ECDHE-RSA-AES128-GCM-SHA256",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384": "ECDHE-RSA-AES256-GCM-SHA384",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256": "ECDHE-RSA-CHACHA20-POLY1305",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256": "ECDHE-ECDSA-CHACHA20-POLY1305",
    "TLS_AES_128_GCM_SHA256": None,
    "TLS_AES_256_GCM_SHA384": None,
    "TLS_CHACHA20_POLY1305_SHA256": None,
}
# Go's curve names -> OpenSSL's.
CURVES: Final[Mapping[str, str]] = {
    "CurveP256": "prime256v1",
    "CurveP384": "secp384r1",
    "CurveP521": "secp521r1",
    "X25519": "X25519",
}
# The response headers the toolkit lets a file set, and their allowed values (empty: any).
HEADERS: Final[Mapping[str, tuple[str, ...]]] = {
    "Strict-Transport-Security": (),
    "X-Content-Type-Options": ("nosniff",),
    "X-Frame-Options": ("deny", "sameorigin"),
    "X-XSS-Protection": (),
    "Content-Security-Policy": (),
}


def _one_of(table: Mapping[str, object], what: str) -> BeforeValidator:
    def check(value: object) -> object:
        if value not in table:
            raise ValueError(f"unknown {what} {value!r} (known: {', '.join(table)})")
        return value

    return BeforeValidator(check)


TlsVersion = Annotated[str, _one_of(TLS_VERSIONS, "TLS version")]
CipherName = Annotated[str, _one_of(CIPHER_SUITES, "cipher suite")]
CurveName = Annotated[str, _one_of(CURVES, "curve")]


def _relative_to_file(value: object, info: ValidationInfo) -> object:
    base = (info.context or {}).get("base_dir")
    if isinstance(value, str) and value and base is not None:
        return Path(base) / value
    return value


RelativePath = Annotated[Path, BeforeValidator(_relative_to_file)]


class TLSServerConfig(BaseModel):
    """``tls_server_config``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cert: str | None = None
    key: SecretStr | None = None
    client_ca: str | None = None
    cert_file: RelativePath | None = None
    key_file: RelativePath | None = None
    client_auth_type: str | None = None
    client_ca_file: RelativePath | None = None
    client_allowed_sans: tuple[str, ...] | None = None
    min_version: TlsVersion = "TLS12"
    max_version: TlsVersion = "TLS13"
    cipher_suites: tuple[CipherName, ...] = ()
    prefer_server_cipher_suites: bool = True
    curve_preferences: tuple[CurveName, ...] = ()

    @property
    def enabled(self) -> bool:
        """Whether TLS is configured at all (as the toolkit's ``IsEnabled``)."""
        return any(
            value is not None
            for value in (
                self.cert,
                self.key,
                self.client_ca,
                self.cert_file,
                self.key_file,
                self.client_auth_type,
                self.client_ca_file,
            )
        )

    @field_validator("client_auth_type")
    @classmethod
    def _known_client_auth(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if value not in CLIENT_AUTH:
            raise ValueError(
                f"unknown client_auth_type {value!r} (known: {', '.join(CLIENT_AUTH)})"
            )
        if CLIENT_AUTH[value] is None:
            raise ValueError(
                f"{value} (a client certificate that is not verified) is not supported; use "
                "RequireAndVerifyClientCert or VerifyClientCertIfGiven with a client CA"
            )
        return value

    @model_validator(mode="after")
    def _consistent(self) -> TLSServerConfig:
        if not self.enabled:
            return self
        for inline, path, name in (
            (self.cert, self.cert_file, "cert"),
            (self.key, self.key_file, "key"),
        ):
            if (inline is None) == (path is None):
                raise ValueError(f"give exactly one of {name} or {name}_file")
        if self.client_ca is not None and self.client_ca_file is not None:
            raise ValueError("give at most one of client_ca or client_ca_file")
        mode = CLIENT_AUTH[self.client_auth_type or "NoClientCert"]
        has_ca = self.client_ca is not None or self.client_ca_file is not None
        if has_ca and mode == ssl.CERT_NONE:
            raise ValueError("a client CA is configured without a client_auth_type")
        if mode != ssl.CERT_NONE and not has_ca:
            raise ValueError(f"client_auth_type {self.client_auth_type} needs client_ca_file")
        if self.client_allowed_sans is not None and mode != ssl.CERT_REQUIRED:
            raise ValueError(
                "client_allowed_sans needs client_auth_type RequireAndVerifyClientCert"
            )
        if TLS_VERSIONS[self.min_version] > TLS_VERSIONS[self.max_version]:
            raise ValueError("min_version is above max_version")
        return self


class HTTPServerConfig(BaseModel):
    """``http_server_config``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    http2: bool = True  # accepted for compatibility; aiohttp serves HTTP/1.1
    headers: dict[str, str] = Field(default_factory=dict)

    @field_validator("headers")
    @classmethod
    def _allowed_headers(cls, headers: dict[str, str]) -> dict[str, str]:
        for name, value in headers.items():
            if name not in HEADERS:
                raise ValueError(f"HTTP header {name!r} cannot be configured")
            if HEADERS[name] and value not in HEADERS[name]:
                raise ValueError(f"{name} must be one of {', '.join(HEADERS[name])}, not {value!r}")
        return {name: value for name, value in headers.items() if value}


def _go_duration(value: object) -> object:
    """Go's ``time.Duration`` text (``500ms``, ``1s``, ``1m``) or a number of seconds."""
    units = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
    if isinstance(value, str):
        for unit in sorted(units, key=len, reverse=True):
            number = value.removesuffix(unit)
            if number != value:
                try:
                    return float(number) * units[unit]
                except ValueError:
                    break
        if value == "0":
            return 0.0
        raise ValueError(f"{value!r} is not a duration such as 500ms or 1s")
    return value


class RateLimitConfig(BaseModel):
    """``rate_limit``: a token bucket over every request but the open paths."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    interval: Annotated[float, BeforeValidator(_go_duration), Field(ge=0)] = 0.0
    burst: int = Field(default=0, ge=0)

    @model_validator(mode="after")
    def _usable(self) -> RateLimitConfig:
        if self.interval > 0 and self.burst < 1:
            raise ValueError("a rate limit needs a burst of at least 1")
        return self


class WebConfig(BaseModel):
    """A ``--web.config.file``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tls_server_config: TLSServerConfig = TLSServerConfig()
    http_server_config: HTTPServerConfig = HTTPServerConfig()
    basic_auth_users: dict[str, SecretStr] = Field(default_factory=dict)
    rate_limit: RateLimitConfig = RateLimitConfig()

    _file: str = PrivateAttr(default="<web config>")
    _lines: dict[str, int] = PrivateAttr(default_factory=dict)

    @field_validator("basic_auth_users")
    @classmethod
    def _bcrypt_hashes(cls, users: dict[str, SecretStr]) -> dict[str, SecretStr]:
        for user, hashed in users.items():
            if not BCRYPT_HASH.match(hashed.get_secret_value()):
                # Never echo the value: it may be a plain password put there by mistake.
                raise ValueError(f"the password of {user!r} is not a bcrypt hash ($2y$10$...)")
        return users

    def error(self, message: str, field: str) -> ConfigError:
        """A ConfigError located at ``field`` (dotted) of this file."""
        return ConfigError(message, file=self._file, line=self._line(field), field=field)

    def _line(self, field: str) -> int | None:
        while field:
            if field in self._lines:
                return self._lines[field]
            field = field.rpartition(".")[0]
        return None


def _lines(node: yaml.Node, path: str, out: dict[str, int]) -> None:
    """Record the line of every mapping key, and refuse duplicate keys (as Go's strict YAML)."""
    out.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            child = f"{path}.{key}" if path else key
            if key in seen:
                raise ConfigError("duplicate key", line=key_node.start_mark.line + 1, field=child)
            seen.add(key)
            out[child] = key_node.start_mark.line + 1
            _lines(value_node, child, out)


def load(path: str | Path) -> WebConfig:
    """Read and validate a web config file; every error names the file, line and field."""
    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror or exc}", file=name) from None
    lines: dict[str, int] = {}
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        if node is not None:
            _lines(node, "", lines)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark else None
        raise ConfigError(f"not valid YAML: {exc.problem}", file=name, line=line) from None
    except ConfigError as exc:
        raise ConfigError(exc.message, file=name, line=exc.line, field=exc.field) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError("the web config must be a mapping", file=name, line=1)
    try:
        config = WebConfig.model_validate(data, context={"base_dir": Path(path).parent})
    except ValidationError as exc:
        err = exc.errors(include_url=False, include_input=False)[0]
        field = ".".join(str(part) for part in err["loc"])
        message = {"extra_forbidden": "unknown key", "missing": "required key is missing"}.get(
            err["type"], err["msg"].removeprefix("Value error, ")
        )
        probe = WebConfig()
        probe._file, probe._lines = name, lines  # noqa: SLF001 (our own private state)
        raise probe.error(message, field) from None
    config._file, config._lines = name, lines  # noqa: SLF001 (our own private state)
    return config


def ssl_context(config: WebConfig) -> ssl.SSLContext | None:
    """The server's SSL context, or None when the file configures no TLS."""
    tls = config.tls_server_config
    if not tls.enabled:
        return None
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = TLS_VERSIONS[tls.min_version]
    context.maximum_version = TLS_VERSIONS[tls.max_version]
    _load_certificate(context, config)
    mode = CLIENT_AUTH[tls.client_auth_type or "NoClientCert"]
    if mode is not None and mode != ssl.CERT_NONE:
        try:
            if tls.client_ca_file is not None:
                context.load_verify_locations(cafile=str(tls.client_ca_file))
            else:
                context.load_verify_locations(cadata=tls.client_ca)
        except (OSError, ssl.SSLError) as exc:
            field = "client_ca_file" if tls.client_ca_file is not None else "client_ca"
            raise config.error(
                f"cannot load the client CA: {_why(exc)}", f"tls_server_config.{field}"
            ) from None
        context.verify_mode = mode
    names = [CIPHER_SUITES[name] for name in tls.cipher_suites]
    if any(names):
        context.set_ciphers(":".join(name for name in names if name))
    if tls.prefer_server_cipher_suites:
        context.options |= ssl.OP_CIPHER_SERVER_PREFERENCE
    else:
        context.options &= ~ssl.OP_CIPHER_SERVER_PREFERENCE
    # Python's ssl pins one ECDH curve at most; with several, OpenSSL's default list stays.
    if len(tls.curve_preferences) == 1:
        context.set_ecdh_curve(CURVES[tls.curve_preferences[0]])
    return context


def _why(exc: OSError | ssl.SSLError) -> str:
    if isinstance(exc, ssl.SSLError):
        return exc.reason or str(exc)
    return exc.strerror or str(exc)


def _load_certificate(context: ssl.SSLContext, config: WebConfig) -> None:
    tls = config.tls_server_config
    field = "tls_server_config.cert_file" if tls.cert_file is not None else "tls_server_config.cert"
    try:
        if tls.cert_file is not None and tls.key_file is not None:
            context.load_cert_chain(tls.cert_file, tls.key_file)
            return
        # ssl loads certificates and keys from files only: inline PEM goes through a private
        # temporary directory (mode 0700) that is removed at once.
        with tempfile.TemporaryDirectory(prefix="power-exporter-tls-") as tmp:
            cert = tls.cert_file or _write(Path(tmp) / "cert.pem", tls.cert or "")
            key = tls.key_file or _write(
                Path(tmp) / "key.pem", tls.key.get_secret_value() if tls.key else ""
            )
            context.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as exc:
        raise config.error(f"cannot load the certificate and key: {_why(exc)}", field) from None


def _write(path: Path, text: str) -> Path:
    with contextlib.suppress(FileExistsError):
        path.touch(mode=0o600)
    path.write_text(text, encoding="utf-8")
    return path


def middlewares(
    config: WebConfig, *, open_paths: Collection[str] = OPEN_PATHS
) -> tuple[Middleware, ...]:
    """The aiohttp middlewares the file asks for, outermost first.

    Headers go on every response (401 and 429 included); then the client certificate's
    SAN check, basic auth and the rate limit per client (after auth, so that requests
    without good credentials spend no scraper's tokens), none of which applies to
    ``open_paths``.
    """
    chain: list[Middleware] = []
    if config.http_server_config.headers:
        chain.append(headers_middleware(config.http_server_config.headers))
    sans = config.tls_server_config.client_allowed_sans
    if sans is not None:
        chain.append(allowed_sans_middleware(sans, open_paths=open_paths))
    if config.basic_auth_users:
        users = {
            user: secret.get_secret_value() for user, secret in config.basic_auth_users.items()
        }
        chain.append(basic_auth_middleware(users, open_paths=open_paths))
    limit = config.rate_limit
    if limit.interval > 0:
        chain.append(rate_limit_middleware(limit.interval, limit.burst, open_paths=open_paths))
    return tuple(chain)
