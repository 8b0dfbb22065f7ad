"""The one table of connection states: every state says its label, explanation, tone,
outcome kind and the actions a person can take, and unknown states fall back."""

from __future__ import annotations

import pytest

from powens_django.models import Connection
from powens_django.services import Outcome, outcome_for
from powens_django.states import (
    ACTION_LABELS,
    KNOWN_STATES,
    Action,
    OutcomeKind,
    actions_for,
    describe_state,
    kind_for_state,
)


@pytest.mark.parametrize("state", sorted(KNOWN_STATES, key=lambda s: s or ""))
def test_every_known_state_has_a_kind_a_tone_and_ends_with_delete(state):
    info = describe_state(state)

    assert info.known
    assert info.kind != OutcomeKind.UNKNOWN_STATE
    assert info.tone in ("ok", "attention", "waiting", "error")
    assert info.actions[-1] == Action.DELETE
    assert len(set(info.actions)) == len(info.actions)


def test_only_a_null_state_is_ok():
    assert [s for s in KNOWN_STATES if describe_state(s).ok] == [None]


@pytest.mark.parametrize(
    ("state", "kind"),
    [
        (None, OutcomeKind.CONNECTED),
        ("SCARequired", OutcomeKind.REAUTHENTICATE),
        ("webauthRequired", OutcomeKind.REAUTHENTICATE),
        ("additionalInformationNeeded", OutcomeKind.NEEDS_FIELDS),
        ("decoupled", OutcomeKind.DECOUPLED),
        ("validating", OutcomeKind.VALIDATING),
        ("wrongpass", OutcomeKind.WRONG_CREDENTIALS),
        ("passwordExpired", OutcomeKind.ACTION_NEEDED),
        ("actionNeeded", OutcomeKind.ACTION_NEEDED),
        ("rateLimiting", OutcomeKind.TEMPORARY_ERROR),
        ("websiteUnavailable", OutcomeKind.TEMPORARY_ERROR),
        ("bug", OutcomeKind.TEMPORARY_ERROR),
        ("notSupported", OutcomeKind.NOT_SUPPORTED),
        ("someFutureState", OutcomeKind.UNKNOWN_STATE),
    ],
)
def test_each_state_has_one_outcome_kind_used_by_the_services(state, kind):
    assert kind_for_state(state) == kind
    assert outcome_for(Connection(powens_id=1, state=state)).kind == kind


@pytest.mark.parametrize("state", ["passwordExpired", "actionNeeded", "wrongpass"])
def test_states_asking_for_new_credentials_offer_to_reenter_them_or_reconnect(state):
    assert Action.REENTER_CREDENTIALS in actions_for(state, auth_mechanism="credentials")
    assert Action.RECONNECT not in actions_for(state, auth_mechanism="credentials")
    assert Action.RECONNECT in actions_for(state, auth_mechanism="webauth")
    assert Action.REENTER_CREDENTIALS not in actions_for(state, auth_mechanism="webauth")


def test_a_connection_whose_login_method_is_unknown_keeps_every_repair():
    actions = actions_for("wrongpass", auth_mechanism=None)

    assert Action.REENTER_CREDENTIALS in actions
    assert Action.RECONNECT in actions


def test_an_unknown_state_is_generic_asks_attention_and_offers_a_sync():
    info = describe_state("someFutureState")

    assert (info.known, info.needs_user, info.kind) == (False, True, OutcomeKind.UNKNOWN_STATE)
    assert info.actions == (Action.SYNC, Action.DELETE)


def test_every_action_has_a_label():
    assert set(ACTION_LABELS) == set(Action)
    assert all(str(action.label) for action in Action)


def test_an_outcome_explains_itself_in_plain_words():
    assert str(Outcome(kind=OutcomeKind.CANCELLED).text).startswith("You cancelled")
    assert Outcome(kind=OutcomeKind.WRONG_CREDENTIALS, message="Mot de passe").text == (
        "Mot de passe"
    )
    assert Outcome(kind=OutcomeKind.CONNECTED, state=None).text == describe_state(None).explanation


@pytest.mark.parametrize(
    ("name", "mechanism", "words"),
    [
        ("openapi", None, "On your bank's website"),
        ("directaccess", None, "With your login details"),
        ("fallback", "webauth", "On your bank's website"),
        ("fallback", "credentials", "With your login details"),
        ("fallback", None, "Another way (fallback)"),
    ],
)
def test_sources_are_told_in_the_persons_words(name, mechanism, words):
    from powens_django.states import describe_source

    assert str(describe_source(name, mechanism)) == words
