"""Default locations agree with platformdirs, which we skip importing on Linux for speed."""

from __future__ import annotations

import sys

import platformdirs
import pytest

from smartcontext_cli.config import _platform_dir


@pytest.mark.skipif(sys.platform != "linux", reason="the hand-written XDG rule is Linux-only")
@pytest.mark.parametrize("xdg", [None, "", "/srv/xdg"])
def test_default_dirs_match_platformdirs(monkeypatch: pytest.MonkeyPatch, xdg: str | None) -> None:
    for var in ("XDG_DATA_HOME", "XDG_CONFIG_HOME"):
        if xdg is None:
            monkeypatch.delenv(var, raising=False)
        else:
            monkeypatch.setenv(var, xdg and f"{xdg}/{var}")
    assert str(_platform_dir("data")) == platformdirs.user_data_dir("smartcontext", appauthor=False)
    assert str(_platform_dir("config")) == platformdirs.user_config_dir(
        "smartcontext", appauthor=False
    )
