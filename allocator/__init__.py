"""ETF allocation recommender for the A-share market: core package."""

__version__ = "0.1.0"
