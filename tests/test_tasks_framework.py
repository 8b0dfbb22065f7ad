"""Which tasks framework the app's tasks come from: ``django.tasks`` on Django 6, the
``django-tasks`` backport on Django 5.2 (the nox matrix runs both lines)."""

from __future__ import annotations

import django
from django.conf import settings

from powens_django import tasks

EXPECTED = "django.tasks" if django.VERSION >= (6, 0) else "django_tasks"


def test_the_task_decorator_comes_from_the_framework_of_this_django():
    assert tasks.task.__module__.startswith(EXPECTED + ".")


def test_the_tasks_are_objects_of_that_framework():
    for task in (tasks.refresh_catalogue, tasks.refresh_connection, tasks.sync_connection):
        assert type(task).__module__.startswith(EXPECTED + "."), type(task)


def test_the_test_settings_use_a_backend_of_that_framework():
    backend = settings.TASKS["default"]["BACKEND"]
    assert backend.startswith(EXPECTED + ".backends."), backend
