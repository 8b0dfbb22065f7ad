"""Prepare the example site: migrate, create the demo accounts, load the sandbox catalogue."""

from typing import Any

from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = (
        "Migrate, create the demo users (demo/demo, admin/admin) and load the sandbox's "
        "connector catalogue. Idempotent."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG:
            raise CommandError(
                "demo_setup creates the accounts admin/admin and demo/demo: it runs only "
                "with DEBUG=True (development)."
            )
        call_command("migrate", interactive=False, verbosity=0)
        User = get_user_model()
        for username, password, staff in (("demo", "demo", False), ("admin", "admin", True)):
            user, created = User.objects.get_or_create(username=username)
            if created or not user.check_password(password):
                user.set_password(password)
            user.is_staff = user.is_superuser = staff
            user.save()
        # The sandbox's shipped connectors, matched on uuid: running again updates them.
        if apps.is_installed("powens_django.sandbox"):
            call_command("sandbox_load_catalogue", verbosity=0, stdout=self.stdout)
        self.stdout.write(self.style.SUCCESS("Demo ready: users demo/demo and admin/admin."))
