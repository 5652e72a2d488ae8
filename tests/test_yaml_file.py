"""The config files' one reader: one error shape for every way a config file can be wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from models.errors import ConfigError
from models.yaml_file import read_mapping


def test_a_mapping_is_read_and_an_empty_file_is_empty_when_allowed(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("a: 1\nb: {c: 2}\n")
    assert read_mapping(path, "x config") == {"a": 1, "b": {"c": 2}}
    path.write_text("")
    assert read_mapping(path, "x config") == {}
    with pytest.raises(ConfigError, match=r"x config .*c\.yaml: expected a mapping .*got nothing"):
        read_mapping(path, "x config", allow_empty=False)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("- a\n- b\n", "expected a mapping at the top level, got list"),
        ("a: [", "not valid YAML"),
        ("just text", "expected a mapping at the top level, got str"),
    ],
)
def test_each_bad_file_names_the_config_the_file_and_the_reason(
    tmp_path: Path, text: str, reason: str
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        read_mapping(path, "trading config")
    message = str(info.value)
    assert message.startswith(f"trading config {path}: ") and reason in message


def test_a_missing_or_unreadable_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"ensemble config: file .*absent\.yaml does not exist"):
        read_mapping(tmp_path / "absent.yaml", "ensemble config")
    with pytest.raises(ConfigError, match="cannot read"):
        read_mapping(tmp_path, "ensemble config")  # a directory
