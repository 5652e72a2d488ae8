"""Causal Smart Money Concepts: swings, structure breaks, order blocks, gaps, liquidity.

Every event is reported at the bar whose close makes it knowable (see ``analyzer``).
"""

from models.smc.analyzer import SMC_COLUMNS, analyze_smc
from models.smc.config import SmcConfig

__all__ = ["SMC_COLUMNS", "SmcConfig", "analyze_smc"]
