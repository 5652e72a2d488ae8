"""Reliability and security tests (a package, so the app fixture lives only as long as
these tests: ``scope="package"`` ends with this directory)."""
