import time, pytest
from django.core.management import call_command
from django.db import connection

@pytest.mark.django_db(transaction=True, available_apps=["powens_django.sandbox"])
def test_x():
    from django.core.management.sql import sql_flush
    from django.core.management.color import no_style
    for _ in range(3):
        t=time.monotonic()
        call_command("flush", verbosity=0, interactive=False, database="default", reset_sequences=False, allow_cascade=True, inhibit_post_migrate=True)
        print("flush", time.monotonic()-t)
    sql = sql_flush(no_style(), connection, allow_cascade=True)
    print(sql)
