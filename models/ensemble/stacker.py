"""The stacker: an online multinomial logistic model on the experts' log-probabilities.

For inputs ``p_j`` (each member's vector and the base rate's), with centred log-probabilities
``l_j = log p_j - mean(log p_j)`` (zero for a member that sleeps) and the detected regime
``r``, the logits of (down, flat, up) are

    z = b + sum_j beta_j l_j + b_r + sum_j delta_{r,j} l_j,      q = softmax(z).

``beta_j`` is a signed trust in input ``j``: 0 ignores it, 1 takes it as it is, above 1
sharpens it, below 0 flips it (an anti-predictive member becomes useful). ``b_r`` and
``delta_r`` let the regime shift the classes and the trust (learned, never hand-set; an
L2 pull towards 0 keeps them at 0 until a regime has evidence). The parameters are shared
by every symbol, so evidence is not split by symbol; the symbol enters through its own
base rate. It starts as the base rate (``beta_base = 1``, everything else 0) and learns by
AdaGrad on the log loss of each resolved outcome (the gradient of the logits is ``q - y``).
Outcomes arrive late; the update uses the inputs stored with the forecast.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from models.ensemble.learning_config import StackerConfig
from models.errors import EnsembleInputError
from models.regime.state import REGIMES

Vector = tuple[float, float, float]

NO_REGIME = "none"
"""Regime key of a forecast made without a detected regime."""

PROB_FLOOR = 1e-4
"""Smallest probability taken into a logarithm (a rule's hard 0 stays a finite feature)."""

_GROUPS = ("bias", "coef", "regime_bias", "regime_coef")


class OnlineStacker:
    """Signed log-linear pooling of named inputs, learned online, shared across symbols."""

    def __init__(self, inputs: Sequence[str], prior_one: str, config: StackerConfig) -> None:
        self.inputs = tuple(inputs)
        self.config = config
        self.regimes = (*REGIMES, NO_REGIME)
        self._index = {name: i for i, name in enumerate(self.inputs)}
        self._rindex = {name: i for i, name in enumerate(self.regimes)}
        f, r = len(self.inputs), len(self.regimes)
        self._prior = np.zeros(f)
        self._prior[self._index[prior_one]] = 1.0
        self.params = {
            "bias": np.zeros(3),
            "coef": self._prior.copy(),
            "regime_bias": np.zeros((r, 3)),
            "regime_coef": np.zeros((r, f)),
        }
        self._sq = {name: np.zeros_like(p) for name, p in self.params.items()}
        self.updates = 0

    def features(self, probs: Mapping[str, Vector]) -> np.ndarray:
        """(inputs x 3) centred log-probabilities; zero rows for inputs not given."""
        x = np.zeros((len(self.inputs), 3))
        for name, vector in probs.items():
            i = self._index.get(name)
            if i is not None:
                logs = np.log(np.maximum(np.asarray(vector, dtype=float), PROB_FLOOR))
                x[i] = logs - logs.mean()
        return x

    def forecast(self, probs: Mapping[str, Vector], regime: str | None) -> Vector:
        q = self._softmax(self.features(probs), self._regime(regime))
        return (float(q[0]), float(q[1]), float(q[2]))

    def update(self, probs: Mapping[str, Vector], regime: str | None, outcome: int) -> None:
        """One AdaGrad step on the log loss of ``outcome`` (0 down, 1 flat, 2 up)."""
        x, r = self.features(probs), self._regime(regime)
        g = self._softmax(x, r)
        g[outcome] -= 1.0
        cfg, p = self.config, self.params
        grads = {
            "bias": g,
            "coef": x @ g + cfg.l2 * (p["coef"] - self._prior),
        }
        if cfg.use_regime:
            grads["regime_bias"] = g + cfg.regime_l2 * p["regime_bias"][r]
            grads["regime_coef"] = x @ g + cfg.regime_l2 * p["regime_coef"][r]
        for name, grad in grads.items():
            row = (r,) if name.startswith("regime") else ()
            self._sq[name][row] += grad * grad
            p[name][row] -= cfg.learning_rate * grad / (np.sqrt(self._sq[name][row]) + 1e-8)
        self.updates += 1

    def coefficients(self) -> dict[str, float]:
        """The shared signed coefficient of every input."""
        return dict(zip(self.inputs, self.params["coef"].tolist(), strict=True))

    def _regime(self, regime: str | None) -> int:
        return self._rindex.get(regime or NO_REGIME, self._rindex[NO_REGIME])

    def _softmax(self, x: np.ndarray, r: int) -> np.ndarray:
        p = self.params
        z = p["bias"] + p["coef"] @ x
        if self.config.use_regime:
            z = z + p["regime_bias"][r] + p["regime_coef"][r] @ x
        z = np.exp(z - z.max())
        probabilities: np.ndarray = z / z.sum()
        return probabilities

    # state -----------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {
            "inputs": list(self.inputs),
            "regimes": list(self.regimes),
            "updates": self.updates,
            "params": {k: v.tolist() for k, v in self.params.items()},
            "sq": {k: v.tolist() for k, v in self._sq.items()},
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore parameters saved for the same regimes.

        Saved for other inputs (a member added or removed), each kept input keeps its
        coefficients; a new one starts at its prior (0: as if it had always been asleep, whose
        feature row is zero, so nothing it never said has moved) and a removed one is dropped.
        """
        if not isinstance(state, Mapping):
            raise EnsembleInputError(f"ensemble state stacker: expected a mapping, got {state!r}")
        saved = [str(n) for n in state.get("inputs", ())]
        if list(state.get("regimes", ())) != list(self.regimes) or len(set(saved)) != len(saved):
            raise EnsembleInputError(
                f"ensemble state stacker: saved for inputs {state.get('inputs')!r} and regimes "
                f"{state.get('regimes')!r}, configured {list(self.inputs)} and {list(self.regimes)}"
            )
        f, r = len(saved), len(self.regimes)
        shapes = {"bias": (3,), "coef": (f,), "regime_bias": (r, 3), "regime_coef": (r, f)}
        params, sq = {}, {}
        for name in _GROUPS:
            shape = shapes[name]
            try:
                params[name] = self._carried(saved, name, _shaped(state["params"][name], shape))
                sq[name] = self._carried(saved, name, _shaped(state["sq"][name], shape), sq=True)
            except (KeyError, TypeError, ValueError) as exc:
                raise EnsembleInputError(f"ensemble state stacker.{name}: {exc}") from None
        self.params, self._sq, self.updates = params, sq, int(state.get("updates", 0))

    def _carried(
        self, saved: Sequence[str], group: str, values: np.ndarray, sq: bool = False
    ) -> np.ndarray:
        """A parameter group saved over ``saved`` inputs, over this stacker's inputs."""
        if list(saved) == list(self.inputs) or group.endswith("bias"):
            return values
        out = np.zeros_like(self.params[group]) if sq else self._initial(group)
        for i, name in enumerate(saved):
            j = self._index.get(name)
            if j is not None:
                out[..., j] = values[..., i]
        return out

    def _initial(self, group: str) -> np.ndarray:
        return self._prior.copy() if group == "coef" else np.zeros_like(self.params[group])


def _shaped(values: Any, shape: tuple[int, ...]) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    if array.shape != shape or not np.all(np.isfinite(array)):
        raise ValueError(f"need finite values of shape {shape}")
    return array
