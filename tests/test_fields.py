"""The Powens token at rest: Fernet ciphertext in the database, plaintext in Python, and
nowhere else (forms, serializers, reprs, error messages); keys rotate without downtime."""

import io
import json

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.core import serializers
from django.core.exceptions import FieldError, ImproperlyConfigured
from django.core.management import CommandError, call_command
from django.db import connection
from django.forms import modelform_factory
from django.test import override_settings

from powens_django.fields import DecryptionError
from powens_django.models import PowensUser

pytestmark = pytest.mark.django_db

TOKEN = "kB7xQ2pL9mZ-powens-permanent-token"
CURRENT_KEY = settings.POWENS["TOKEN_ENCRYPTION_KEYS"][0]
NEW_KEY = Fernet.generate_key().decode()
OTHER_KEY = Fernet.generate_key().decode()


def encryption_keys(*keys):
    return override_settings(POWENS={**settings.POWENS, "TOKEN_ENCRYPTION_KEYS": list(keys)})


def stored_token(powens_user):
    """What the database holds, read with raw SQL (no field conversion)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT token FROM powens_django_powensuser WHERE id = %s", [powens_user.pk])
        [(value,)] = cursor.fetchall()
    return value


@pytest.fixture
def make_powens_user(django_user_model):
    counter = iter(range(1, 1000))

    def make(token=TOKEN):
        n = next(counter)
        user = django_user_model.objects.create_user(f"user{n}")
        return PowensUser.objects.create(user=user, powens_id=n, token=token)

    return make


def test_token_is_stored_as_ciphertext_that_the_configured_key_decrypts(make_powens_user):
    stored = stored_token(make_powens_user())

    assert TOKEN not in stored
    assert Fernet(CURRENT_KEY).decrypt(stored.encode()).decode() == TOKEN


def test_token_reads_back_as_plaintext(make_powens_user):
    powens_user = make_powens_user()

    assert PowensUser.objects.get(pk=powens_user.pk).token == TOKEN


def test_the_same_token_is_stored_as_a_different_ciphertext_each_time(make_powens_user):
    first, second = make_powens_user(), make_powens_user()

    assert stored_token(first) != stored_token(second)


def test_no_token_is_stored_as_null(make_powens_user):
    powens_user = make_powens_user(token=None)

    assert stored_token(powens_user) is None
    assert PowensUser.objects.get(pk=powens_user.pk).token is None


def test_an_empty_token_is_stored_as_null(make_powens_user):
    powens_user = make_powens_user(token="")

    assert stored_token(powens_user) is None


def test_a_token_encrypted_with_an_old_key_decrypts_when_that_key_is_second(make_powens_user):
    powens_user = make_powens_user()

    with encryption_keys(NEW_KEY, CURRENT_KEY):
        assert PowensUser.objects.get(pk=powens_user.pk).token == TOKEN


def test_a_token_saved_after_a_new_key_is_added_uses_the_new_key(make_powens_user):
    with encryption_keys(NEW_KEY, CURRENT_KEY):
        stored = stored_token(make_powens_user())

    assert Fernet(NEW_KEY).decrypt(stored.encode()).decode() == TOKEN
    with pytest.raises(InvalidToken):
        Fernet(CURRENT_KEY).decrypt(stored.encode())


def test_an_undecryptable_token_raises_instead_of_returning_ciphertext(make_powens_user):
    powens_user = make_powens_user()

    with encryption_keys(NEW_KEY):
        loaded = PowensUser.objects.get(pk=powens_user.pk)  # loading does not decrypt
        with pytest.raises(DecryptionError):
            loaded.token  # noqa: B018


def test_a_row_whose_token_is_not_read_loads_and_saves_without_any_key(make_powens_user):
    powens_user = make_powens_user()
    stored = stored_token(powens_user)

    with encryption_keys(NEW_KEY):
        loaded = PowensUser.objects.select_related("user").get(pk=powens_user.pk)
        assert loaded.is_linked
        loaded.save()

    assert stored_token(powens_user) == stored  # written back untouched
    assert PowensUser.objects.get(pk=powens_user.pk).token == TOKEN


def test_values_give_a_mask_never_ciphertext_nor_the_token(make_powens_user):
    powens_user = make_powens_user()
    stored = stored_token(powens_user)

    (value,) = PowensUser.objects.filter(pk=powens_user.pk).values_list("token", flat=True)

    assert str(value) == repr(value) == "<encrypted>"
    assert TOKEN not in f"{value} {value!r}"
    assert stored not in f"{value} {value!r}"


def test_the_decryption_error_names_no_ciphertext_token_or_key(make_powens_user):
    powens_user = make_powens_user()
    stored = stored_token(powens_user)

    with encryption_keys(NEW_KEY), pytest.raises(DecryptionError) as caught:
        PowensUser.objects.get(pk=powens_user.pk).token  # noqa: B018

    text = f"{caught.value} {caught.value!r}"
    for secret in (stored, TOKEN, CURRENT_KEY, NEW_KEY):
        assert secret not in text
    assert "TOKEN_ENCRYPTION_KEYS" in text


@pytest.mark.parametrize(
    "lookup", ["token", "token__exact", "token__iexact", "token__icontains", "token__startswith"]
)
def test_token_lookups_other_than_isnull_raise(make_powens_user, lookup):
    make_powens_user()

    with pytest.raises(NotImplementedError):
        PowensUser.objects.filter(**{lookup: TOKEN}).exists()


def test_token_in_lookup_raises(make_powens_user):
    with pytest.raises(NotImplementedError):
        PowensUser.objects.filter(token__in=[TOKEN]).exists()


def test_token_isnull_lookup_finds_users_with_and_without_a_token(make_powens_user):
    with_token, without = make_powens_user(), make_powens_user(token=None)

    assert list(PowensUser.objects.filter(token__isnull=False)) == [with_token]
    assert list(PowensUser.objects.filter(token__isnull=True)) == [without]


def test_token_is_absent_from_a_model_form_of_all_fields():
    form_class = modelform_factory(PowensUser, fields="__all__")

    assert "token" not in form_class.base_fields


def test_a_model_form_cannot_ask_for_the_token():
    with pytest.raises(FieldError):
        modelform_factory(PowensUser, fields=["token"])


def test_serialized_powens_user_has_no_token(make_powens_user):
    powens_user = make_powens_user()
    stored = stored_token(powens_user)

    output = serializers.serialize("json", PowensUser.objects.filter(pk=powens_user.pk))

    [record] = json.loads(output)
    assert record["fields"]["powens_id"] == powens_user.powens_id
    assert "token" not in record["fields"]
    assert TOKEN not in output and stored not in output


def test_repr_and_str_hold_no_token(make_powens_user):
    powens_user = PowensUser.objects.get(pk=make_powens_user().pk)
    stored = stored_token(powens_user)

    for text in (repr(powens_user), str(powens_user)):
        assert TOKEN not in text and stored not in text
    assert str(powens_user.powens_id) in str(powens_user)


def test_rotate_keys_reencrypts_every_token_with_the_new_first_key(make_powens_user):
    tokens = {make_powens_user(token=f"{TOKEN}-{n}").pk: f"{TOKEN}-{n}" for n in range(3)}

    with encryption_keys(NEW_KEY, CURRENT_KEY):
        call_command("powens_rotate_keys", stdout=io.StringIO())

    only_new = Fernet(NEW_KEY)
    for pk, token in tokens.items():
        stored = stored_token(PowensUser(pk=pk))
        assert only_new.decrypt(stored.encode()).decode() == token
    with encryption_keys(NEW_KEY):
        assert {p.pk: p.token for p in PowensUser.objects.all()} == tokens


def test_rotate_keys_reports_how_many_tokens_it_reencrypted(make_powens_user):
    make_powens_user(), make_powens_user(), make_powens_user(token=None)
    out = io.StringIO()

    with encryption_keys(NEW_KEY, CURRENT_KEY):
        call_command("powens_rotate_keys", stdout=out)

    assert "Re-encrypted 2 Powens tokens." in out.getvalue()


def test_rotate_keys_leaves_users_without_a_token_without_one(make_powens_user):
    powens_user = make_powens_user(token=None)

    with encryption_keys(NEW_KEY, CURRENT_KEY):
        call_command("powens_rotate_keys", stdout=io.StringIO())

    assert stored_token(powens_user) is None


def all_stored_tokens():
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, token FROM powens_django_powensuser")
        return dict(cursor.fetchall())


# transaction=True: the command's own transaction, as in production, is what rolls back.
@pytest.mark.django_db(transaction=True)
def test_rotate_keys_changes_nothing_when_a_token_cannot_be_decrypted(django_user_model):
    # More readable tokens than the command saves at once, so a batch is re-encrypted
    # before it meets the unreadable token (created last).
    users = django_user_model.objects.bulk_create(
        django_user_model(username=f"user{n}") for n in range(601)
    )
    PowensUser.objects.bulk_create(
        PowensUser(user=user, powens_id=n, token=TOKEN) for n, user in enumerate(users[:600])
    )
    with encryption_keys(OTHER_KEY):
        PowensUser.objects.create(user=users[600], powens_id=600, token=TOKEN)
    before = all_stored_tokens()

    with (
        encryption_keys(NEW_KEY, CURRENT_KEY),
        pytest.raises(CommandError, match="Nothing was changed") as raised,
    ):
        call_command("powens_rotate_keys", stdout=io.StringIO())

    assert all_stored_tokens() == before
    assert not any(str(token) in str(raised.value) for token in dict(before).values())


def test_rotate_keys_without_keys_is_improperly_configured_even_with_no_tokens():
    with encryption_keys(), pytest.raises(ImproperlyConfigured):
        call_command("powens_rotate_keys", stdout=io.StringIO())


def test_saving_a_token_without_keys_is_improperly_configured(make_powens_user):
    with encryption_keys(), pytest.raises(ImproperlyConfigured):
        make_powens_user()


def test_reading_a_token_without_keys_is_improperly_configured(make_powens_user):
    powens_user = make_powens_user()

    with encryption_keys(), pytest.raises(ImproperlyConfigured):
        PowensUser.objects.get(pk=powens_user.pk).token  # noqa: B018


def test_rotate_keys_without_keys_is_improperly_configured(make_powens_user):
    make_powens_user()

    with encryption_keys(), pytest.raises(ImproperlyConfigured):
        call_command("powens_rotate_keys", stdout=io.StringIO())


def test_a_malformed_key_is_improperly_configured_without_echoing_it(make_powens_user):
    malformed = "not-a-fernet-key-but-still-a-secret"

    with encryption_keys(malformed), pytest.raises(ImproperlyConfigured) as caught:
        make_powens_user()

    assert malformed not in str(caught.value)


def test_a_deferred_token_is_checked_for_presence_without_being_decrypted(make_powens_user):
    powens_user = make_powens_user()

    with encryption_keys(NEW_KEY):
        deferred = PowensUser.objects.defer("token").get(pk=powens_user.pk)
        assert deferred.is_linked is True
        with pytest.raises(DecryptionError):
            deferred.token  # noqa: B018
