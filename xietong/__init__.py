"""Xietong (协同): a self-hosted collaborative office platform."""

__version__ = "0.1.0"
