"""The config files' one reader: a YAML file whose top level is a mapping.

Every config (the serve config, the ensemble's, the trading desk's) fails the same way,
with a :class:`~models.errors.ConfigError` naming what it configures, the file and the
reason, so a user sees one shape of message whichever file is wrong.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from models.errors import ConfigError


def read_mapping(path: str | Path, what: str, allow_empty: bool = True) -> dict[str, Any]:
    """The mapping in ``path`` (``what``: the config's name in messages); an empty file is
    ``{}`` when ``allow_empty``, else an error like any other non-mapping."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{what}: file {path} does not exist") from None
    except OSError as exc:
        raise ConfigError(f"{what} {path}: cannot read ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{what} {path}: not valid YAML ({exc})") from None
    if data is None and allow_empty:
        return {}
    if not isinstance(data, dict):
        got = "nothing" if data is None else type(data).__name__
        raise ConfigError(f"{what} {path}: expected a mapping at the top level, got {got}")
    return data
