"""The one contract every predictor follows, and the registry that names them.

A predictor says how many bars it needs (``min_bars``) and turns a window of candles
(oldest first, a polars DataFrame with at least ``timestamp, open, high, low, close,
volume``; extra indicator columns may already be there and are reused) into a
:class:`Prediction`: probabilities for down / flat / up over the label horizon and a
confidence in [0, 1]. The ensemble only ever sees this contract, so adding a predictor
never edits the ensemble: give it an entry in :mod:`models.predictors.registry`.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import polars as pl

from models.errors import ConfigError, InsufficientDataError
from models.predictors.registry import PREDICTORS, load_target, predictor_entry
from models.vocabulary import DEFAULT_HORIZON

if TYPE_CHECKING:
    from models.registry import ModelArtifact


@dataclass(frozen=True)
class Prediction:
    """What one predictor says about one window.

    ``probabilities`` are (down, flat, up) and sum to 1; ``confidence`` is in [0, 1] and
    is the predictor's own measure of how sure it is (documented per predictor).
    ``details`` carries explanatory values (rule scores, SMC events) for the API.
    """

    model: str
    probabilities: tuple[float, float, float]
    confidence: float
    horizon_bars: int = DEFAULT_HORIZON
    version: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        probs = tuple(float(p) for p in self.probabilities)
        if len(probs) != 3:
            raise ValueError(f"probabilities need 3 entries (down, flat, up), got {len(probs)}")
        if any(not math.isfinite(p) or p < -1e-9 for p in probs):
            raise ValueError(f"probabilities must be finite and non-negative, got {probs}")
        total = sum(probs)
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"probabilities must sum to 1, got {total}")
        conf = float(self.confidence)
        if not math.isfinite(conf) or not 0.0 <= conf <= 1.0:
            raise ValueError(f"confidence must be in [0, 1], got {self.confidence}")
        object.__setattr__(self, "probabilities", tuple(max(p, 0.0) for p in probs))
        object.__setattr__(self, "confidence", conf)

    @property
    def direction(self) -> int:
        """-1 (down), 0 (flat) or +1 (up): the most probable class."""
        probs = self.probabilities
        return max(range(3), key=probs.__getitem__) - 1


def probabilities_from_score(score: float, flat_mass: float = 0.5) -> tuple[float, float, float]:
    """Map a signed rule score in [-1, 1] to (down, flat, up).

    A score of 0 puts ``flat_mass`` on flat and splits the rest evenly; as |score| grows,
    mass moves from flat and from the opposite side to the side the score points at.
    Rule-based predictors use this so their probabilities mean the same thing.
    """
    s = max(-1.0, min(1.0, float(score)))
    flat = flat_mass * (1.0 - abs(s))
    side = 1.0 - flat
    up = side * (0.5 + 0.5 * s)
    down = side - up
    return (down, flat, up)


class Predictor(ABC):
    """Base class of all predictors: a name, the bars it needs, and ``predict``."""

    name: ClassVar[str] = ""
    version: str | None = None
    """The loaded model's registry version (trained predictors; None for rules)."""

    @property
    @abstractmethod
    def min_bars(self) -> int:
        """Fewest bars a window must have for :meth:`predict`."""

    @abstractmethod
    def predict(self, window: pl.DataFrame) -> Prediction:
        """Predict from ``window`` (oldest first); only its last row is 'now'."""

    @classmethod
    def from_artifact(
        cls, artifact: ModelArtifact, device: str = "auto", precision: str = "float32"
    ) -> Predictor:
        """The predictor of a trained model from the registry (trained kinds override it;
        how serving loads every version, whatever the kind)."""
        raise ConfigError(f"{cls.name}: predictor is not built from a trained model")

    @classmethod
    def set_threads(cls, threads: int) -> None:
        """Use ``threads`` OpenMP / intra-op threads in this process (a Serve replica calls
        it once); predictors without a threaded library ignore it."""
        del threads

    def predict_batch(self, windows: Sequence[pl.DataFrame]) -> list[Prediction]:
        """Predict many windows; neural predictors override this to batch on the device."""
        return [self.predict(w) for w in windows]

    def predict_frame(
        self, frame: pl.DataFrame, rows: Sequence[int], window_bars: int | None = None
    ) -> list[Prediction]:
        """A prediction for each of ``rows`` of ``frame``, each using only bars up to its row.

        Row ``t`` is predicted from the window ``frame[t - window_bars + 1 : t + 1]``
        (``window_bars=None``: every bar up to ``t``), exactly as :meth:`predict` would be
        called live at ``t``. Evaluation replays a whole period with it; indicator columns
        already on ``frame`` are reused by every window (they are causal, so a column computed
        over the frame holds at row ``t`` what it would hold computed on bars ``<= t``).
        Rule-based predictors override this with a one-pass version giving the same answers.
        """
        starts = window_starts(rows, window_bars, frame.height)
        windows = [frame.slice(s, t + 1 - s) for t, s in starts]
        return self.predict_batch(windows)

    def check_window(self, window: pl.DataFrame) -> None:
        """Raise :class:`InsufficientDataError` when ``window`` is too short."""
        self._check_bars(window.height)

    def _check_bars(self, bars: int) -> None:
        if bars < self.min_bars:
            raise InsufficientDataError(self.min_bars, bars, f"{self.name} window")

    def _replay_rows(self, rows: Sequence[int], height: int) -> Iterator[int]:
        """``rows`` for a one-pass :meth:`predict_frame` over the whole history up to each.

        All rows are first checked to be in the frame; each is then checked, as it comes,
        to have ``min_bars`` bars up to it (what :meth:`predict` would demand of that prefix).
        """
        for t, _ in window_starts(rows, None, height):
            self._check_bars(t + 1)
            yield t


def window_starts(
    rows: Sequence[int], window_bars: int | None, height: int
) -> list[tuple[int, int]]:
    """``(row, first row of its window)`` for each requested row (checked to be in the frame)."""
    if window_bars is not None and window_bars < 1:
        raise ConfigError(f"window_bars: must be >= 1 or None, got {window_bars}")
    out = []
    for t in rows:
        t = int(t)
        if not 0 <= t < height:
            raise ConfigError(f"rows: must be in [0, {height}) (the frame's rows), got {t}")
        out.append((t, 0 if window_bars is None else max(0, t + 1 - window_bars)))
    return out


P = TypeVar("P", bound=type[Predictor])

# name -> class, or the entry's "module:Class" imported on first use (keeps torch off the
# import path of code that only needs the rule-based predictors).
_CLASSES: dict[str, type[Predictor] | str] = {e.name: e.target for e in PREDICTORS}


def register_predictor(name: str) -> Callable[[P], P]:
    """Class decorator: the class of registry entry ``name`` (:mod:`models.predictors.registry`).

    A name without an entry is refused: the entry is what the service, the ensemble and the
    training CLI read, so a class alone would be a predictor nothing serves.
    """

    def decorate(cls: P) -> P:
        predictor_entry(name)
        cls.name = name
        _CLASSES[name] = cls
        return cls

    return decorate


def predictor_class(name: str) -> type[Predictor]:
    """The class registered under ``name`` (imported on first use)."""
    entry = _CLASSES.get(name) or predictor_entry(name).target  # unknown: names the known
    if isinstance(entry, str):
        cls: type[Predictor] = load_target(entry)
        _CLASSES[name] = cls
        cls.name = name
        return cls
    return entry


def create_predictor(name: str, **kwargs: Any) -> Predictor:
    """Build the predictor registered under ``name`` with ``kwargs``."""
    return predictor_class(name)(**kwargs)


def load_trained(
    name: str,
    artifact: ModelArtifact,
    device: str = "auto",
    precision: str = "float32",
    leader_candles: pl.DataFrame | None = None,
) -> Predictor:
    """The trained predictor ``name`` from one of its artifacts: the one way a trained kind
    loads, read from its registry entry (``target.from_artifact``; when the entry names a
    ``leader``, its candles are passed as ``leader_candles=`` if given)."""
    entry = predictor_entry(name)
    if not entry.trained:
        raise ConfigError(f"{name}: predictor is not built from a trained model")
    loader: Callable[..., Predictor] = predictor_class(name).from_artifact
    extra = {"leader_candles": leader_candles}
    if entry.leader is None or leader_candles is None:
        extra = {}
    return loader(artifact, device=device, precision=precision, **extra)
