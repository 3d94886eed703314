"""Settings, read from the environment in exactly this one place."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

Provider = Literal["offline", "openai"]
PREFIX = "INTERVIEWER_"


class SettingsError(ValueError):
    """A setting is missing or malformed; the message is one sentence naming the variable."""


def default_data_dir(env: Mapping[str, str]) -> Path:
    """Per-user data folder: $XDG_DATA_HOME/interviewer, else ~/.local/share/interviewer."""
    xdg = env.get("XDG_DATA_HOME")
    base = Path(xdg) if xdg else Path.home() / ".local" / "share"
    return base / "interviewer"


class Settings(BaseModel):
    """Everything configurable about `interviewer`; build it with `Settings.from_env()`."""

    model_config = ConfigDict(frozen=True)

    data_dir: Path
    provider: Provider = "offline"
    model: str = "gpt-4o-mini"
    openai_api_key: SecretStr | None = None
    openai_base_url: str | None = None
    request_timeout_s: float = Field(default=30.0, gt=0)
    temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    """Sampling temperature of every model call (INTERVIEWER_TEMPERATURE, 0-2)."""
    max_tokens: int = Field(default=1024, ge=1, le=131_072)
    """Reply cap (max_tokens) of a model call that sets none itself (INTERVIEWER_MAX_TOKENS)."""
    turn_token_budget: int = Field(default=3000, ge=500, le=1_000_000)
    """Token budget of one model-voice interviewer prompt (INTERVIEWER_TURN_TOKEN_BUDGET)."""
    grade_max_tokens: int = Field(default=2048, ge=64, le=131_072)
    """Completion cap of the model grader's call (INTERVIEWER_GRADE_MAX_TOKENS)."""
    max_retries: int = Field(default=2, ge=0, le=10)
    """SDK retries (with backoff) on 429, 5xx and connection errors (INTERVIEWER_MAX_RETRIES)."""
    store_timeout_s: float = Field(default=5.0, gt=0, le=600)
    """Seconds a session-store write waits for another writer's lock before saying busy (INTERVIEWER_STORE_TIMEOUT)."""
    retrieval: Literal["hybrid", "dense", "bm25"] = "hybrid"
    ui_users: SecretStr | None = None
    """Optional app login: `user:password` pairs separated by commas (INTERVIEWER_UI_USERS)."""

    def ui_credentials(self) -> list[tuple[str, str]]:
        """The app's (user, password) pairs; empty when login is off. Malformed pairs raise SettingsError."""
        if self.ui_users is None:
            return []
        pairs: list[tuple[str, str]] = []
        for item in self.ui_users.get_secret_value().split(","):
            user, sep, password = item.strip().partition(":")
            if not sep or not user.strip() or not password:
                raise SettingsError("INTERVIEWER_UI_USERS must look like 'alice:secret,bob:other'.")
            pairs.append((user.strip(), password))
        return pairs

    @property
    def index_dir(self) -> Path:
        """Folder of the persistent chromadb collection."""
        return self.data_dir / "index"

    @property
    def cache_dir(self) -> Path:
        """Folder for derived files that can be rebuilt (ONNX model, tiktoken BPE files)."""
        return self.data_dir / "cache"

    @property
    def sessions_db(self) -> Path:
        """SQLite file holding interview sessions."""
        return self.data_dir / "sessions.sqlite3"

    def require_api_key(self) -> SecretStr:
        """Return the API key for the model provider, or raise naming the variable to set."""
        if self.openai_api_key is None:
            raise SettingsError("The openai provider needs an API key: set OPENAI_API_KEY.")
        return self.openai_api_key

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Read settings from environment variables (INTERVIEWER_*, OPENAI_*), then apply overrides."""
        env = os.environ if env is None else env
        values: dict[str, object] = {
            "data_dir": Path(env[PREFIX + "DATA_DIR"]).expanduser()
            if env.get(PREFIX + "DATA_DIR")
            else default_data_dir(env),
        }
        mapping = {
            "provider": PREFIX + "PROVIDER",
            "model": PREFIX + "MODEL",
            "request_timeout_s": PREFIX + "TIMEOUT",
            "temperature": PREFIX + "TEMPERATURE",
            "max_tokens": PREFIX + "MAX_TOKENS",
            "turn_token_budget": PREFIX + "TURN_TOKEN_BUDGET",
            "grade_max_tokens": PREFIX + "GRADE_MAX_TOKENS",
            "max_retries": PREFIX + "MAX_RETRIES",
            "store_timeout_s": PREFIX + "STORE_TIMEOUT",
            "retrieval": PREFIX + "RETRIEVAL",
            "ui_users": PREFIX + "UI_USERS",
            "openai_api_key": "OPENAI_API_KEY",
            "openai_base_url": "OPENAI_BASE_URL",
        }
        for field_name, var in mapping.items():
            if env.get(var):
                values[field_name] = env[var]
        values.update({k: v for k, v in overrides.items() if v is not None})
        try:
            return cls.model_validate(values)
        except ValidationError as e:
            err = e.errors()[0]
            name = str(err["loc"][0]) if err["loc"] else "setting"
            var = mapping.get(name, PREFIX + name.upper())
            raise SettingsError(f"Invalid value for {var}: {err['msg']}.") from e
