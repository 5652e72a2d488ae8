"""From signal to position: expected return after costs, the position rule, the portfolio,
the certificate and the books, shared by the live service and the evaluation.

Ray-free. One step per closed bar (:class:`Desk`); ``docs/trading.md`` has the rules.
"""

from models.trading.book import Book, EquityPoint, Fill, Position
from models.trading.certificate import Certificate, Look, bootstrap_pvalue
from models.trading.config import CertificateSettings, TradingSettings
from models.trading.costs import Costs
from models.trading.desk import BOOKS, PAPER, SHADOW, Desk, Quote, StepResult
from models.trading.expected import Estimate, ExpectedReturnModel
from models.trading.portfolio import Target, allocate
from models.trading.rule import Decision, Holding, decide, kelly_size
from models.trading.score import answer_score, probability_score, signal_score

__all__ = [
    "BOOKS",
    "PAPER",
    "SHADOW",
    "Book",
    "Certificate",
    "CertificateSettings",
    "Costs",
    "Decision",
    "Desk",
    "EquityPoint",
    "Estimate",
    "ExpectedReturnModel",
    "Fill",
    "Holding",
    "Look",
    "Position",
    "Quote",
    "StepResult",
    "Target",
    "TradingSettings",
    "allocate",
    "answer_score",
    "bootstrap_pvalue",
    "decide",
    "kelly_size",
    "probability_score",
    "signal_score",
]
