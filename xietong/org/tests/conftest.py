"""The organisation tests' fixtures (``org_fixtures``), shared by its test modules."""

from xietong.org.tests.org_fixtures import company_admin, people, positions

__all__ = ["company_admin", "people", "positions"]
