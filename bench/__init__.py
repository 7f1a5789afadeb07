"""Baseline load benchmark of the platform (see README.md); not part of the product."""
