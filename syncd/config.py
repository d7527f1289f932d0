"""Settings: a TOML file overridden by ``SYNCD_*`` variables.

The file is ``--config`` or ``SYNCD_CONFIG`` when given, else the first that exists of
``$XDG_CONFIG_HOME/syncd/syncd.toml`` (``~/.config/syncd/syncd.toml``) and
``/etc/syncd/syncd.toml``; ``syncd init`` writes the first with a new key ring. The
default database is ``$XDG_DATA_HOME/syncd/syncd.db`` (``~/.local/share/syncd/``), or
``/var/lib/syncd/syncd.db`` for a configuration under ``/etc/syncd/``.

Nested sections map to environment variables with a double underscore, e.g.
``SYNCD_GOOGLE__CLIENT_ID`` overrides ``[google] client_id``.
"""

from __future__ import annotations

import difflib
import logging
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

from cryptography.fernet import Fernet
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
    TomlConfigSettingsSource,
)

from syncd.errors import ConfigError


class OAuthProviderSettings(BaseModel):
    """One OAuth provider's client registration and endpoints."""

    model_config = ConfigDict(extra="forbid")

    client_id: str = ""
    client_secret: str = ""
    redirect_uri: str = "http://127.0.0.1:8765/oauth/callback"
    api_base_url: str | None = None
    token_url: str | None = None
    authorize_url: str | None = None


class WebSettings(BaseModel):
    """The hosted pages (sign-in, Your Profile, the operator view): where they live and
    how their sessions and sign-in limits behave (docs/web.md)."""

    model_config = ConfigDict(extra="forbid")

    #: Path prefix every page is served under, in the API's own process.
    prefix: str = "/my"
    #: Public base URL of the pages' host (``https://cal.example.com``); links printed by
    #: the CLI (invites) and redirects use it. Unset: ``public_base_url``, else the
    #: request's own (``http://api_host:api_port`` for the CLI).
    public_base_url: str | None = None
    #: Session cookies carry ``Secure`` (and the ``__Host-`` name prefix). Turn off only
    #: for plain-http development on 127.0.0.1.
    cookie_secure: bool = True
    #: A session unused this many minutes ends (idle expiry)...
    session_idle_minutes: float = Field(default=60.0, gt=0)
    #: ...and every session ends this many hours after sign-in (absolute expiry).
    session_absolute_hours: float = Field(default=12.0, gt=0)
    #: Failed sign-ins of one account within ``signin_window_minutes`` that lock it...
    signin_max_failures_per_account: int = Field(default=5, ge=1)
    #: ...and from one client address (any account), which locks that address.
    signin_max_failures_per_address: int = Field(default=20, ge=1)
    signin_window_minutes: float = Field(default=15.0, gt=0)
    #: New accounts one client address may create (authorization flow sign-up) per hour.
    signup_max_per_address_per_hour: int = Field(default=10, ge=1)
    #: Days a one-time invite link (``syncd accounts invite``) stays valid.
    invite_days: float = Field(default=7.0, gt=0)

    @field_validator("prefix")
    @classmethod
    def _path_prefix(cls, value: str) -> str:
        value = "/" + value.strip().strip("/")
        if value == "/" or "//" in value or any(c in value for c in "?#\\ "):
            raise ValueError("must be a path like /my (not / itself)")
        return value


class Settings(BaseSettings):
    """Every setting syncd reads; ``config/syncd.example.toml`` documents each key."""

    model_config = SettingsConfigDict(
        env_prefix="SYNCD_",
        env_nested_delimiter="__",
        extra="forbid",
        validate_default=True,
    )

    #: Default: ``$XDG_DATA_HOME/syncd/syncd.db``; ``/var/lib/syncd/syncd.db`` for a
    #: configuration under ``/etc/syncd/`` (see :func:`default_database_url`).
    database_url: str = Field(default_factory=lambda: default_database_url(_CONFIG_PATH["path"]))
    #: Fernet keys (urlsafe base64, 32 bytes), newest first. The first encrypts; all decrypt.
    secret_keys: Annotated[list[str], NoDecode] = Field(default_factory=list)
    #: Seconds between polls of one profile.
    poll_interval: float = Field(default=300.0, gt=0)
    #: Fraction of ``poll_interval`` added or removed at random so profiles spread out.
    poll_jitter: float = Field(default=0.1, ge=0, le=1)
    #: Data older than this many seconds makes a profile ``pending`` again.
    staleness_bound: float = Field(default=3600.0, gt=0)
    #: Upper bound of the exponential backoff after failed syncs, in seconds.
    max_backoff: float = Field(default=3600.0, gt=0)
    #: Profiles synced at the same time.
    workers: int = Field(default=4, ge=1, le=256)
    #: Seconds between calendar-list refreshes of a profile (event syncs run every poll).
    calendar_list_interval: float = Field(default=3600.0, gt=0)
    #: Recurring series are expanded this many days ahead of now.
    expansion_horizon_days: int = Field(default=400, ge=1)
    #: ...and this many days back.
    expansion_history_days: int = Field(default=90, ge=0)
    #: A full sync that returns no events for a calendar that had at least this many is
    #: not trusted until a second full sync agrees.
    empty_resync_guard: int = Field(default=5, ge=1)
    #: Seconds a provider HTTP request may take.
    http_timeout: float = Field(default=30.0, gt=0)
    #: Seconds a daemon's claim on a profile lasts without progress; renewed after every
    #: page. A dead daemon's profiles are taken over once it has passed.
    lease_seconds: float = Field(default=300.0, gt=0)
    log_level: str = "INFO"
    api_host: str = "127.0.0.1"
    api_port: int = Field(default=8080, ge=0, le=65535)
    #: Largest request body the API reads, in bytes (push callbacks have their own cap);
    #: a larger one is answered 413 as soon as it is seen, unread.
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    #: Deepest JSON nesting (objects and arrays) a request body may have.
    max_json_depth: int = Field(default=32, ge=2, le=1000)
    #: Most items one JSON array in a request body may have.
    max_json_array_length: int = Field(default=1000, ge=1)
    #: Base URL callers reach the API at (absolute ``next_page`` links); default: the request's.
    public_base_url: str | None = None
    #: Base URL Google and Microsoft call back for push notifications (``/push/google``,
    #: ``/push/microsoft`` under it); unset: ``public_base_url``; empty: push off.
    push_base_url: str | None = None
    #: Seconds a push channel is asked to live (providers may grant less: Graph ~3 days).
    push_channel_ttl: float = Field(default=172800.0, gt=60)
    #: Channels expiring within this many seconds are renewed by the maintenance pass.
    push_renew_margin: float = Field(default=21600.0, gt=0)
    #: Hosts (names, IPs or CIDR networks) webhooks may reach over plain http or at
    #: private/loopback addresses; everything else must be https to a public address.
    webhook_allowed_hosts: Annotated[list[str], NoDecode] = Field(default_factory=list)
    #: Accept plain http webhook URLs to public addresses too (Cronofy does); off, only
    #: https. Private and loopback addresses still need ``webhook_allowed_hosts``.
    webhook_allow_http: bool = False
    #: Seconds one webhook delivery attempt may take.
    webhook_timeout: float = Field(default=10.0, gt=0)
    #: Seconds before the first retry of a failed delivery; doubles per attempt (with jitter).
    webhook_retry_initial: float = Field(default=10.0, gt=0)
    #: Upper bound of the delay between two delivery attempts, in seconds.
    webhook_retry_max_delay: float = Field(default=3600.0, gt=0)
    #: A delivery is retried until this many seconds after it was queued, then abandoned.
    webhook_retry_window: float = Field(default=90000.0, gt=0)
    #: Days a deleted event stays listed by ``GET /v1/events?include_deleted=true`` (its
    #: tombstone). At least ``webhook_retry_window``, so whoever follows a ``change``
    #: notification's ``changes_since`` still sees the deletions it reports.
    deleted_event_retention_days: float = Field(default=7.0, gt=0)
    #: Webhook deliveries one daemon sends at the same time.
    webhook_concurrency: int = Field(default=16, ge=1, le=64)
    #: Of those, at most this many to any one receiving host.
    webhook_per_host_concurrency: int = Field(default=8, ge=1, le=64)
    #: Managed events written at the same time to one calendar, and to one provider.
    managed_writes_per_calendar: int = Field(default=4, ge=1, le=256)
    managed_writes_per_provider: int = Field(default=16, ge=1, le=256)

    #: Hosts (names, IPs or CIDR networks) whose CalDAV servers people may connect in the
    #: hosted pages over plain http or at private/loopback addresses; any other server
    #: they name must be https to a public address (the CLI's operator is not limited).
    caldav_allowed_hosts: Annotated[list[str], NoDecode] = Field(default_factory=list)
    #: Seconds an access token from /oauth/token lasts (``expires_in``; Cronofy: 3 hours).
    #: Refresh tokens do not expire; they rotate on use. Operator-issued tokens
    #: (``syncd accounts token``) never expire.
    oauth_access_token_lifetime: float = Field(default=10800.0, ge=60)

    google: OAuthProviderSettings = Field(default_factory=OAuthProviderSettings)
    microsoft: OAuthProviderSettings = Field(default_factory=OAuthProviderSettings)
    #: Conferencing services authorized with OAuth (requests-oauthlib).
    zoom: OAuthProviderSettings = Field(default_factory=OAuthProviderSettings)
    goto: OAuthProviderSettings = Field(default_factory=OAuthProviderSettings)
    #: The hosted pages for end users and the operator.
    web: WebSettings = Field(default_factory=WebSettings)

    @model_validator(mode="after")
    def _tombstones_outlive_notifications(self) -> Settings:
        if self.deleted_event_retention_days * 86400 < self.webhook_retry_window:
            raise ValueError(
                "deleted_event_retention_days must cover webhook_retry_window "
                f"({self.webhook_retry_window / 86400:g} days): a change notification "
                "delivered late must still find the deletions it reports"
            )
        return self

    @field_validator("log_level")
    @classmethod
    def _known_log_level(cls, value: str) -> str:
        upper = value.upper()
        if upper not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return upper

    @field_validator("secret_keys", "webhook_allowed_hosts", "caldav_allowed_hosts", mode="before")
    @classmethod
    def _split_keys(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("secret_keys")
    @classmethod
    def _fernet_keys(cls, value: list[str]) -> list[str]:
        for index, key in enumerate(value):
            try:
                Fernet(key.encode())
            except (ValueError, TypeError):
                raise ValueError(
                    f"key {index + 1} is not a Fernet key (32 url-safe base64 bytes; "
                    "generate one with `syncd keys generate`)"
                ) from None
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config_path = _CONFIG_PATH.get("path")
        if config_path is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=config_path))
        return tuple(sources)


SYSTEM_CONFIG = Path("/etc/syncd/syncd.toml")
SYSTEM_DATABASE = Path("/var/lib/syncd/syncd.db")

#: ``SYNCD_*`` variables that are not settings (the test suite, the demo, CLI inputs).
#: SYNCD_ variables that are not settings but are read elsewhere: the config file's path,
#: the test suite's, the operator password (``syncd operator set-password``), and the CA bundle the
#: Microsoft adapter trusts (``providers.microsoft.auth.CA_BUNDLE_ENV``).
_OTHER_VARIABLES = (
    "SYNCD_CONFIG",
    "SYNCD_TEST_",
    "SYNCD_OPERATOR_PASSWORD",
    "SYNCD_MICROSOFT_CA_BUNDLE",
)

log = logging.getLogger(__name__)


def _xdg(variable: str, fallback: str) -> Path:
    value = os.environ.get(variable, "").strip()
    return Path(value) if value else Path.home() / fallback


def user_config_path() -> Path:
    """Where ``syncd init`` writes, and the first place every command looks."""
    return _xdg("XDG_CONFIG_HOME", ".config") / "syncd" / "syncd.toml"


def user_data_dir() -> Path:
    return _xdg("XDG_DATA_HOME", ".local/share") / "syncd"


def find_config_path(explicit: str | Path | None = None) -> Path | None:
    """``--config``, else ``SYNCD_CONFIG``, else the user's or the system's file if present."""
    given = str(explicit) if explicit else os.environ.get("SYNCD_CONFIG", "").strip()
    if given:
        return Path(given)
    for candidate in (user_config_path(), SYSTEM_CONFIG):
        if candidate.is_file():
            return candidate
    return None


def default_database_url(config_path: Path | None = None) -> str:
    """SQLite in the user's data folder, or in ``/var/lib/syncd`` beside a system config."""
    if config_path is not None and config_path.parent == SYSTEM_CONFIG.parent:
        return f"sqlite:///{SYSTEM_DATABASE}"
    return f"sqlite:///{user_data_dir() / 'syncd.db'}"


# The TOML path for the Settings() call in progress (pydantic-settings takes sources from
# the class, so the path is passed through here rather than through a constructor argument).
_CONFIG_PATH: dict[str, Path | None] = {"path": None}


def load_settings(config_path: str | Path | None = None, **overrides: Any) -> Settings:
    """Read settings; raise ConfigError naming the offending key when they are invalid.

    An unknown ``SYNCD_*`` variable is logged as a warning naming the closest setting.
    """
    path = find_config_path(config_path)
    if "secret_keys" not in overrides and _is_blank(os.environ.get("SYNCD_SECRET_KEYS")):
        raise ConfigError(
            "SYNCD_SECRET_KEYS is set but empty: unset it to use the keys in the config "
            "file, or set it to the output of `syncd keys generate`"
        )
    _warn_about_unknown_variables(os.environ)
    if path is not None:
        if not path.is_file():
            raise ConfigError(f"config file {path} does not exist")
        try:
            with path.open("rb") as handle:
                tomllib.load(handle)
        except tomllib.TOMLDecodeError as error:
            raise ConfigError(f"config file {path} is not valid TOML: {error}") from error
    _CONFIG_PATH["path"] = path
    try:
        return Settings(**overrides)
    except ValidationError as error:
        raise ConfigError(_describe_validation_error(error)) from None
    except SettingsError as error:  # an environment variable that does not parse
        raise ConfigError(f"invalid configuration: {error}") from None
    finally:
        _CONFIG_PATH["path"] = None


def _is_blank(value: str | None) -> bool:
    return value is not None and not value.replace(",", "").strip()


def setting_names() -> list[str]:
    """Every key a config file may set, sections as ``section.key``."""
    names: list[str] = []
    for name, field in Settings.model_fields.items():
        if field.annotation in (OAuthProviderSettings, WebSettings):
            section: type[BaseModel] = field.annotation
            names.extend(f"{name}.{key}" for key in section.model_fields)
        else:
            names.append(name)
    return names


def _variable_for(name: str) -> str:
    return "SYNCD_" + name.replace(".", "__").upper()


def closest(name: str, candidates: list[str]) -> str | None:
    found = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
    return found[0] if found else None


def _warn_about_unknown_variables(environment: Mapping[str, str]) -> None:
    known = [_variable_for(name) for name in setting_names()]
    for variable in sorted(environment):
        upper = variable.upper()
        if not upper.startswith("SYNCD_") or upper in known or upper.startswith(_OTHER_VARIABLES):
            continue
        if "_LIVE_" in upper:  # the live-provider test credentials
            continue
        suggestion = closest(upper, known)
        log.warning(
            "ignoring unknown environment variable %s%s",
            variable,
            f" (did you mean {suggestion}?)" if suggestion else "",
        )


def _describe_validation_error(error: ValidationError) -> str:
    problems = []
    for item in error.errors():
        key = ".".join(str(part) for part in item["loc"]) or "(root)"
        if item["type"] == "extra_forbidden":
            suggestion = closest(key, setting_names())
            message = "unknown key" + (f" (did you mean {suggestion}?)" if suggestion else "")
        else:
            message = item["msg"].removeprefix("Value error, ")
        problems.append(f"{key}: {message}")
    return "invalid configuration: " + "; ".join(problems)
