"""``hub.http.app_state.AppState``: starlette's ``State`` whose values are read as plain attributes.

It relies on how starlette's ``State`` stores values (``__setattr__``/``__getattr__``/``__delattr__``); these tests
fail if an upgrade changes that so the subclass no longer behaves as a ``State`` or reads go through
``__getattr__`` again."""

from __future__ import annotations

import pytest
from starlette.datastructures import State

from hub.http.app_state import AppState


def test_it_is_a_state_that_reads_without_getattr(monkeypatch):
    state = AppState()
    state.db = "the databases"
    calls = []
    original = State.__getattr__

    def counting(self, key):
        calls.append(key)
        return original(self, key)

    monkeypatch.setattr(State, "__getattr__", counting)
    assert isinstance(state, State)
    assert state.db == "the databases"
    assert calls == []  # found by the ordinary lookup
    assert State.__getattr__(state, "db") == "the databases"  # and State's own storage has it too


def test_overwrite_delete_and_missing_values_behave_as_in_state():
    state = AppState()
    state.policy = 1
    state.policy = 2
    assert state.policy == 2 and State.__getattr__(state, "policy") == 2
    del state.policy
    for each in (state, State()):
        with pytest.raises(AttributeError, match="object has no attribute 'policy'"):
            each.policy  # noqa: B018
    for each in (state, State()):
        with pytest.raises(KeyError):  # State's own answer to deleting what it does not hold
            del each.policy


def test_the_app_reads_its_state_without_getattr(client, gql, monkeypatch):
    """The served app's state is one (a GraphQL request reads it five times)."""
    assert type(client.app.state) is AppState
    calls = []
    original = State.__getattr__
    monkeypatch.setattr(State, "__getattr__", lambda self, key: calls.append(key) or original(self, key))
    assert gql("{ __typename }") == {"data": {"__typename": "Query"}}
    assert calls == []
