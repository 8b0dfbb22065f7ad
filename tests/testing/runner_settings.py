"""tests/settings.py for Django's own test runner, as a host project's test settings
would be: the runner turns ``DEBUG`` off and runs the system checks, so the sandbox
must be allowed without ``DEBUG`` (``powens_sandbox.E006``) in test settings only."""

from tests.settings import *  # noqa: F403
from tests.settings import POWENS_SANDBOX

POWENS_SANDBOX = {**POWENS_SANDBOX, "ALLOW_WITHOUT_DEBUG": True}
