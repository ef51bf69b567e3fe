"""Typed, validated configuration loaded from the TOML files in ``config/``.

``load_settings()`` reads ``config/defaults.toml`` and, when given, a user file whose tables
override the defaults key by key. A bad file raises :class:`ConfigError` naming the file, the key
and the problem.
"""

from __future__ import annotations

import os
import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import (BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator,
                      model_validator)

from allocator import construction as _construction
from allocator.errors import ConfigError

CONFIG_DIR = Path(__file__).resolve().parents[1] / "config"
ENV_DB_URL = "ALLOCATOR_DB_URL"
ENV_CONFIG = "ALLOCATOR_CONFIG"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DatabaseSettings(_Strict):
    url: str = "sqlite:///allocator.db"


class CostSettings(_Strict):
    cost_bps: float = Field(23.0, ge=0, le=500)
    min_commission: float = Field(5.0, ge=0)
    lot_size: int = Field(100, gt=0)


class RebalanceSettings(_Strict):
    cash_buffer: float = Field(0.005, ge=0, lt=1)
    min_trade_value: float = Field(1000.0, ge=0)


class ScheduleSettings(_Strict):
    rebalance: Literal["monthly", "semimonthly", "weekly"] = "monthly"
    fill: Literal["close", "open"] = "close"
    daily_job_time: str = "16:30"
    timezone: str = "Asia/Shanghai"

    @field_validator("daily_job_time")
    @classmethod
    def _hhmm(cls, value: str) -> str:
        hh, _, mm = value.partition(":")
        if not (hh.isdigit() and mm.isdigit() and 0 <= int(hh) < 24 and 0 <= int(mm) < 60):
            raise ValueError(f"expected HH:MM, got {value!r}")
        return value


class UniverseSettings(_Strict):
    default: str = "cn_sw_l1"


class DataSettings(_Strict):
    stale_after_days: int = Field(5, ge=0)
    # Plausibility of incoming bars (imports and `data update`; allocator.data.plausibility).
    max_daily_move: float = Field(0.25, gt=0, le=10)
    max_daily_move_stock: float = Field(0.45, gt=0, le=10)


class FreshnessSettings(_Strict):
    """How many trading days an input may lag the signal date and still count as current
    (:mod:`allocator.freshness`)."""

    industries: int = Field(0, ge=0)
    benchmark: int = Field(0, ge=0)
    etfs: int = Field(3, ge=0)
    stocks: int = Field(3, ge=0)


class ConstructionSettings(_Strict):
    """The construction of each kind of run (:mod:`allocator.construction`; text as
    ``Construction.parse`` reads it): ``client`` for what a client holds (``rebalance``, new paper
    books), ``research`` for what measures a model (``backtest``, ``report backtest``)."""

    client: str = _construction.DEFAULTS["client"]
    research: str = _construction.DEFAULTS["research"]

    @field_validator("client", "research")
    @classmethod
    def _parses(cls, v: str) -> str:
        try:
            return _construction.Construction.parse(v).label()
        except ConfigError as exc:
            raise ValueError(str(exc)) from None


class AkshareSettings(_Strict):
    timeout_s: float = Field(30.0, gt=0)
    retries: int = Field(3, ge=0, le=10)
    backoff_s: float = Field(2.0, ge=0)
    throttle_s: float = Field(1.0, ge=0)


class TelegramPushSettings(_Strict):
    bot_token: SecretStr = SecretStr("")
    chat_id: str = ""
    api_base: str = "https://api.telegram.org"

    @field_validator("chat_id", mode="before")
    @classmethod
    def _chat_id_text(cls, value: object) -> object:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


class FeishuPushSettings(_Strict):
    webhook_url: SecretStr = SecretStr("")
    secret: SecretStr = SecretStr("")


class EmailPushSettings(_Strict):
    host: str = ""
    port: int = Field(0, ge=0, le=65535)  # 0: 465 with ssl, 587 with starttls, else 25
    username: str = ""
    password: SecretStr = SecretStr("")
    sender: str = ""
    recipients: tuple[str, ...] = ()
    starttls: bool = True
    ssl: bool = False

    @model_validator(mode="after")
    def _one_tls_mode(self) -> EmailPushSettings:
        if self.ssl and self.starttls:
            raise ValueError("ssl and starttls are exclusive; set one of them to false")
        return self


class PushSettings(_Strict):
    retries: int = Field(3, ge=0, le=10)
    backoff_s: float = Field(1.0, ge=0)
    timeout_s: float = Field(10.0, gt=0)
    telegram: TelegramPushSettings = TelegramPushSettings()
    feishu: FeishuPushSettings = FeishuPushSettings()
    email: EmailPushSettings = EmailPushSettings()


class Settings(_Strict):
    database: DatabaseSettings = DatabaseSettings()
    costs: CostSettings = CostSettings()
    rebalance: RebalanceSettings = RebalanceSettings()
    schedule: ScheduleSettings = ScheduleSettings()
    universe: UniverseSettings = UniverseSettings()
    data: DataSettings = DataSettings()
    freshness: FreshnessSettings = FreshnessSettings()
    construction: ConstructionSettings = ConstructionSettings()
    akshare: AkshareSettings = AkshareSettings()
    push: PushSettings = PushSettings()


class Industry(_Strict):
    index_code: str
    name: str
    name_en: str
    class_prefix: str = Field(pattern=r"^\d{2}$")


class Universe(_Strict):
    name: str
    description: str = ""
    benchmark_price: str
    benchmark_total_return: str
    industries: tuple[Industry, ...]

    @field_validator("industries")
    @classmethod
    def _unique(cls, value: tuple[Industry, ...]) -> tuple[Industry, ...]:
        for attr in ("index_code", "class_prefix", "name"):
            seen = [getattr(i, attr) for i in value]
            dupes = sorted({s for s in seen if seen.count(s) > 1})
            if dupes:
                raise ValueError(f"duplicate {attr}: {', '.join(dupes)}")
        return value

    @property
    def codes(self) -> list[str]:
        return [i.index_code for i in self.industries]

    def by_code(self) -> dict[str, Industry]:
        return {i.index_code: i for i in self.industries}

    def by_prefix(self) -> dict[str, Industry]:
        return {i.class_prefix: i for i in self.industries}


def read_toml(path: Path) -> dict[str, Any]:
    """Parse a TOML file, turning every failure into a ConfigError that names the file."""
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def validate(model: type[BaseModel], data: dict[str, Any], path: Path) -> Any:
    """Validate ``data`` into ``model``; errors name the file, the dotted key and the problem."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(p) for p in first["loc"]) or "(top level)"
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise ConfigError(f"{path}: {key}: {first['msg']}{more}") from None


def load_settings(user_file: str | Path | None = None) -> Settings:
    """Defaults from ``config/defaults.toml`` overridden by ``user_file`` and the environment."""
    defaults_path = CONFIG_DIR / "defaults.toml"
    data = read_toml(defaults_path)
    settings = validate(Settings, data, defaults_path)
    user_file = user_file or os.environ.get(ENV_CONFIG)
    if user_file:
        path = Path(user_file)
        settings = validate(Settings, _merge(data, read_toml(path)), path)
    return settings


@lru_cache(maxsize=8)
def load_universe(name: str = "cn_sw_l1") -> Universe:
    path = CONFIG_DIR / "universes" / f"{name}.toml"
    if not path.exists():
        known = sorted(p.stem for p in (CONFIG_DIR / "universes").glob("*.toml"))
        raise ConfigError(f"{path}: unknown universe {name!r}; known: {', '.join(known)}")
    return validate(Universe, read_toml(path), path)


def database_url(cli_value: str | None, settings: Settings) -> str:
    """--db wins over ALLOCATOR_DB_URL, which wins over the config file."""
    return cli_value or os.environ.get(ENV_DB_URL) or settings.database.url
