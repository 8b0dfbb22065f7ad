"""``manage.py sandbox_retry_webhooks``: send the webhooks not delivered yet."""

from typing import Any

from django.core.management.base import BaseCommand

from ...webhooks import send_pending


class Command(BaseCommand):
    help = (
        "Send every recorded sandbox webhook that is not delivered and has attempts left "
        "(failed ones, and all of them in WEBHOOK_DELIVERY='manual' mode)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        sent, failed = send_pending()
        self.stdout.write(f"Sandbox webhooks: {sent} delivered, {failed} failed.")
