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
ENV_UNIVERSE = "ALLOCATOR_UNIVERSE"


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
    default: str = "cn_sw_l1"  # a shipped name, or a path to a universe file or directory


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
    """One industry (sector) of a universe: the code its series is stored under and its names."""

    index_code: str = Field(min_length=1, max_length=16)
    name: str = Field(min_length=1)
    name_en: str = ""
    # SW universes only: the two-digit prefix of the 6-digit SW code stocks carry (48 -> 银行).
    class_prefix: str | None = Field(None, pattern=r"^\d{2}$")

    def label(self, lang: str) -> str:
        return self.name_en or self.name if lang == "en" else self.name


A_SHARE_CALENDAR = "cn_a_share"


class ClassificationSpec(_Strict):
    """Where a universe's stock -> industry memberships come from.

    ``sw_prefix``: the stored SW classification (``data import --kind classification`` with
    6-digit SW codes), mapped by each industry's ``class_prefix``. ``members``: the universe's own
    memberships, imported with ``sector`` codes under ``scheme`` (default: the universe's name).
    """

    kind: Literal["sw_prefix", "members"]
    scheme: str = Field("", max_length=32)
    name: str = ""
    name_en: str = ""


class Universe(_Strict):
    """A market to rotate in: its industries, benchmarks, calendar, costs, ETF map and
    classification (:func:`load_universe`; README "Bring your own market")."""

    name: str = Field(min_length=1, max_length=32)
    description: str = ""
    # What one industry is called in texts ("申万一级行业" / "SW L1 industry").
    label: str = "行业"
    label_en: str = "industry"
    benchmark_price: str
    benchmark_total_return: str = ""  # default: the price benchmark
    benchmark_name: str = ""  # the price benchmark in texts ("沪深300"); default its code
    benchmark_name_en: str = ""
    calendar: str = A_SHARE_CALENDAR  # or an exchange_calendars name (XHKG, XSTC, ...)
    currency: str = "CNY"
    lot_size: int | None = Field(None, gt=0)  # None: [costs] lot_size
    cost_bps: float | None = Field(None, ge=0, le=500)
    min_commission: float | None = Field(None, ge=0)
    etf_map: str | None = None  # path (absolute once loaded); None: index level
    core_etf: str | None = None  # the benchmark's tracking ETF (core-satellite at ETF level)
    classification: ClassificationSpec | None = None
    industries: tuple[Industry, ...] = Field(min_length=1)
    path: str = ""  # the file it was loaded from (set by load_universe)

    @field_validator("industries")
    @classmethod
    def _unique(cls, value: tuple[Industry, ...]) -> tuple[Industry, ...]:
        for attr in ("index_code", "class_prefix", "name"):
            seen = [getattr(i, attr) for i in value if getattr(i, attr) is not None]
            dupes = sorted({s for s in seen if seen.count(s) > 1})
            if dupes:
                raise ValueError(f"duplicate {attr}: {', '.join(dupes)}")
        return value

    @model_validator(mode="after")
    def _complete(self) -> Universe:
        if not self.benchmark_total_return:
            object.__setattr__(self, "benchmark_total_return", self.benchmark_price)
        if self.classification is None and all(i.class_prefix for i in self.industries):
            # Every industry names its SW prefix: that is the declaration of an SW classification.
            object.__setattr__(self, "classification", ClassificationSpec(kind="sw_prefix"))
        spec = self.classification
        if spec is not None and spec.kind == "sw_prefix":
            missing = [i.index_code for i in self.industries if not i.class_prefix]
            if missing:
                raise ValueError(f"classification kind 'sw_prefix' needs class_prefix on every industry; "
                                 f"missing on {', '.join(missing[:5])}")
        if spec is not None and spec.kind == "members" and not spec.scheme:
            object.__setattr__(self, "classification", spec.model_copy(update={"scheme": self.name}))
        if self.benchmark_price in self.codes:
            raise ValueError(f"benchmark_price {self.benchmark_price} is also an industry")
        return self

    @property
    def codes(self) -> list[str]:
        return [i.index_code for i in self.industries]

    @property
    def benchmarks(self) -> list[str]:
        return list(dict.fromkeys((self.benchmark_price, self.benchmark_total_return)))

    @property
    def book_benchmark(self) -> str:
        """A paper book's default benchmark, like for like: the price index for a book of price
        indices (index level), the total-return index for a book of ETFs."""
        return self.benchmark_price if self.index_level else self.benchmark_total_return

    @property
    def index_level(self) -> bool:
        """No ETF map: recommendations, backtests and paper books hold the industry indices."""
        return self.etf_map is None

    def by_code(self) -> dict[str, Industry]:
        return {i.index_code: i for i in self.industries}

    def by_prefix(self) -> dict[str, Industry]:
        return {i.class_prefix: i for i in self.industries if i.class_prefix}

    def industry_label(self, lang: str) -> str:
        """What one industry is called ("申万一级行业" / "SW L1 industry")."""
        return self.label_en if lang == "en" else self.label

    def benchmark_label(self, lang: str) -> str:
        """The price benchmark as texts name it ("沪深300" / "CSI 300"), else its code."""
        name = (self.benchmark_name_en or self.benchmark_name) if lang == "en" else self.benchmark_name
        return name or self.benchmark_price

    def classification_label(self, lang: str) -> str:
        spec = self.classification
        if spec is None:
            return "无成分股分类" if lang == "zh" else "no classification"
        return (spec.name_en or spec.name or spec.scheme or spec.kind) if lang == "en" else \
            (spec.name or spec.scheme or spec.kind)


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


def validation_problems(model: type[BaseModel], data: dict[str, Any]) -> list[str]:
    """Every problem of ``data`` against ``model``, one line each (``key: problem``)."""
    try:
        model.model_validate(data)
    except ValidationError as exc:
        return [f"{'.'.join(str(p) for p in e['loc']) or '(top level)'}: {e['msg'].removeprefix('Value error, ')}"
                for e in exc.errors()]
    return []


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


BUILTIN_UNIVERSES = CONFIG_DIR / "universes"


def universe_path(name_or_path: str | Path) -> Path:
    """The TOML of a universe: a shipped name (``cn_sw_l1``), a ``.toml`` file, or a directory
    holding ``universe.toml``."""
    text = str(name_or_path)
    p = Path(text).expanduser()
    if p.is_dir():
        p = p / "universe.toml"
        if not p.exists():
            raise ConfigError(f"{p.parent}: a universe directory needs a universe.toml")
        return p
    if p.suffix == ".toml" or "/" in text or os.sep in text:
        if not p.exists():
            raise ConfigError(f"{p}: universe file not found")
        return p
    shipped = BUILTIN_UNIVERSES / f"{text}.toml"
    if not shipped.exists():
        known = sorted(q.stem for q in BUILTIN_UNIVERSES.glob("*.toml"))
        raise ConfigError(f"unknown universe {text!r}; give a path to a universe file or directory, "
                          f"or one of: {', '.join(known)}")
    return shipped


def universe_data(path: Path) -> dict[str, Any]:
    """The universe file's keys as :class:`Universe` reads them (``etf_map`` resolved against the
    file, ``path`` set)."""
    data = read_toml(path)
    if isinstance(data.get("etf_map"), str):
        etf_map = Path(data["etf_map"]).expanduser()
        data["etf_map"] = str(etf_map if etf_map.is_absolute() else (path.parent / etf_map).resolve())
    data["path"] = str(path.resolve())
    return data


@lru_cache(maxsize=8)
def _load_universe(path: Path, mtime: float) -> Universe:
    return validate(Universe, universe_data(path), path)


def universe_reference(universe: Universe) -> str:
    """How a book records its universe: a shipped universe's name, else the absolute path of
    its file."""
    path = Path(universe.path)
    return path.stem if path.parent == BUILTIN_UNIVERSES.resolve() else str(path)


def book_universe(reference: str, settings: Settings) -> Universe:
    """The universe a paper book runs in: the one it recorded, or -- a book made before books
    recorded one (``""``) -- the configured default it has always run on."""
    return load_universe(reference or settings.universe.default)


def load_universe(name: str | Path = "cn_sw_l1") -> Universe:
    """The universe named (a shipped one) or at a path; see :func:`universe_path`."""
    path = universe_path(name)
    return _load_universe(path.resolve(), path.stat().st_mtime)


#: Lot of an index-level book: one notional unit of the index (an index has no exchange lot).
INDEX_LEVEL_LOT = 1


def settings_for(settings: Settings, universe: Universe) -> Settings:
    """``settings`` with the universe's own costs and lot size where it states them; a universe
    without an ETF map (index level) trades notional units of its indices in lots of one."""
    update = {k: getattr(universe, k) for k in ("cost_bps", "min_commission", "lot_size")
              if getattr(universe, k) is not None}
    if universe.index_level:
        update["lot_size"] = INDEX_LEVEL_LOT
    if not update:
        return settings
    return settings.model_copy(update={"costs": settings.costs.model_copy(update=update)})


def database_url(cli_value: str | None, settings: Settings) -> str:
    """--db wins over ALLOCATOR_DB_URL, which wins over the config file."""
    return cli_value or os.environ.get(ENV_DB_URL) or settings.database.url
