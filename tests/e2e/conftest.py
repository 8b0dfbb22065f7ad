"""Browser tests: Debian's headless Chromium driven by Selenium against the sandbox on
``live_server``. Skipped, with the reason, where Chromium or its driver is missing.

On failure a screenshot and the page source are saved under ``$TEST_OUTPUT_DIR``
(default ``test-output/``), named after the test.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: Any, call: Any) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


def _output_dir() -> Path:
    return Path(os.environ.get("TEST_OUTPUT_DIR") or "test-output")


def _save_evidence(driver: Any, nodeid: str) -> None:
    directory = _output_dir()
    directory.mkdir(parents=True, exist_ok=True)
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", nodeid)
    driver.save_screenshot(str(directory / f"{name}.png"))
    (directory / f"{name}.html").write_text(driver.page_source, encoding="utf-8")


@pytest.fixture(scope="session")
def _chromium_present() -> None:
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not shutil.which(path)]
    if missing:
        pytest.skip(
            f"browser tests need Debian's chromium and chromium-driver ({', '.join(missing)} "
            "not found): apt-get install chromium chromium-driver"
        )


def launch_chromium(*, javascript: bool = True) -> tuple[Any, str]:
    """Debian's headless Chromium under Selenium, with a profile of its own (a folder
    to remove after ``quit()``); ``javascript=False`` turns scripts off."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="powens-e2e-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1280,900",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    if not javascript:
        options.add_experimental_option(
            "prefs", {"profile.managed_default_content_settings.javascript": 2}
        )
    browser = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    browser.set_page_load_timeout(20)
    return browser, profile


@contextmanager
def chromium(request: Any, *, javascript: bool = True) -> Iterator[Any]:
    """:func:`launch_chromium` for one test; on its failure a screenshot and the page
    source are saved first."""
    browser, profile = launch_chromium(javascript=javascript)
    try:
        yield browser
    finally:
        failed = any(
            getattr(request.node, f"report_{when}", None) is not None
            and getattr(request.node, f"report_{when}").failed
            for when in ("setup", "call")
        )
        try:
            if failed:
                _save_evidence(browser, request.node.nodeid)
        finally:
            browser.quit()
            shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def driver(_chromium_present: None, request: Any) -> Iterator[Any]:
    with chromium(request) as browser:
        yield browser


@pytest.fixture
def sandbox(powens_sandbox: Any) -> Any:
    """Powens is the sandbox at ``{live_server}/sandbox/2.0/``, its catalogue mirrored:
    ``powens_sandbox`` from ``powens_django.testing``, as host projects get it."""
    return powens_sandbox


@pytest.fixture
def site(sandbox: Any, driver: Any, client: Any, django_user_model: Any) -> Any:
    """The browser, logged in as a new person on the live server."""
    person = django_user_model.objects.create_user("alice", password="unused-password")
    client.force_login(person)
    driver.get(sandbox.url + "/static-not-found/")  # a page on the domain, to set the cookie
    driver.add_cookie(
        {"name": "sessionid", "value": client.cookies["sessionid"].value, "path": "/"}
    )
    return Site(driver, sandbox.url)


class Site:
    """The browser on the live site, with the few moves the scenarios need."""

    def __init__(self, driver: Any, root: str) -> None:
        self.driver = driver
        self.root = root

    def open(self, path: str) -> None:
        self.driver.get(self.root + path)

    def wait_for_text(self, text: str, timeout: float = 10) -> None:
        from selenium.common.exceptions import NoSuchElementException, WebDriverException
        from selenium.webdriver.support.ui import WebDriverWait

        # The page may be navigating or reloading itself (the waiting page does):
        # a body gone stale is read again on the next poll.
        WebDriverWait(
            self.driver,
            timeout,
            poll_frequency=0.1,
            ignored_exceptions=(NoSuchElementException, WebDriverException),
        ).until(lambda d: text in d.find_element("tag name", "body").text)

    def click(self, text: str) -> None:
        """Click the button or link showing ``text``."""
        xpath = f"//button[normalize-space()='{text}'] | //a[normalize-space()='{text}']"
        self.driver.find_element("xpath", xpath).click()

    def fill(self, name: str, value: str) -> None:
        element = self.driver.find_element("name", name)
        if element.tag_name == "select":
            from selenium.webdriver.support.ui import Select

            Select(element).select_by_value(value)
        else:
            element.clear()
            element.send_keys(value)

    @property
    def text(self) -> str:
        return self.driver.find_element("tag name", "body").text
