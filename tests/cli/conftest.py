"""Fixtures for the command line's tests: the library's, so every test runs in a private home
(PARLOUR_HOME, HOME and the folders other programs keep models in, all empty and temporary),
and `parlour models search|download` can talk to the Hub stand-in on 127.0.0.1."""

from __future__ import annotations

from tests.library.conftest import hub, private_home  # noqa: F401  (fixtures, registered by being here)
