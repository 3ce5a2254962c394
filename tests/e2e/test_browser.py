"""End to end in headless Chromium: log in, see the start page, log out; axe-core on every page."""

from __future__ import annotations

import re

import pytest

from tests.conftest import TEST_PASSWORD
from tests.e2e.conftest import NO_PLAYWRIGHT

expect = pytest.importorskip("playwright.sync_api", reason=NO_PLAYWRIGHT).expect

pytestmark = pytest.mark.e2e

START_SCREENSHOT = "/tmp/e2e-start.png"


def log_in(page, email: str, password: str = TEST_PASSWORD) -> None:
    """Fill the German login form and send it."""
    page.get_by_label("E-Mail-Adresse").fill(email)
    page.get_by_label("Passwort", exact=True).fill(password)
    page.get_by_role("button", name="Anmelden").click()


def test_login_start_page_and_logout(page, make_user):
    user = make_user(name="Anna Schmidt")
    console_errors: list[str] = []
    page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: console_errors.append(str(exc)))

    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login\?next=%2F$"))
    expect(page.locator("html")).to_have_attribute("lang", "de")
    expect(page.get_by_role("heading", name="Anmelden")).to_be_visible()

    log_in(page, user.email)
    expect(page).to_have_url(re.compile(r"127\.0\.0\.1:\d+/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Willkommen, Anna Schmidt")
    nav = page.get_by_role("navigation", name="Hauptnavigation")
    expect(nav.get_by_role("link", name="Mein Konto")).to_be_visible()
    expect(nav.get_by_role("link", name="Verwaltung")).to_have_count(0)  # caseworker
    page.screenshot(path=START_SCREENSHOT, full_page=True)

    page.get_by_role("button", name="Abmelden").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.get_by_role("status")).to_contain_text("Sie wurden abgemeldet.")

    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login\?next=%2F$"))
    expect(page.get_by_role("heading", name="Anmelden")).to_be_visible()
    expect(page.get_by_role("button", name="Abmelden")).to_have_count(0)
    # The pages must work under their own Content-Security-Policy (violations are console errors).
    assert console_errors == []


def test_login_page_passes_axe(axe_page, axe, make_user):
    user = make_user()
    axe_page.goto("/login")
    axe.check(axe_page, "login page")

    log_in(axe_page, user.email, "not-the-password")
    expect(axe_page.locator('[aria-invalid="true"]')).to_have_count(1)
    axe.check(axe_page, "login page with a wrong password")

    log_in(axe_page, "", "")
    expect(axe_page.locator('[aria-invalid="true"]')).to_have_count(2)
    axe.check(axe_page, "login page with empty fields")

    assert not axe.problems, axe.summary()


def test_signed_in_pages_pass_axe(axe_page, axe, make_user, make_org):
    org = make_org(name="Stadt Rietberg", kind="kommune")
    make_org(name="Caritasverband Gütersloh", kind="wohlfahrtsverband")
    admin = make_user(role="network_admin", org=org, name="Petra Verwaltung")
    make_user(role="caseworker", org=org, name="Sven Hoffmann")
    page = axe_page
    page.goto("/login")
    log_in(page, admin.email)
    expect(page.get_by_role("heading", level=1)).to_have_text("Willkommen, Petra Verwaltung")
    axe.check(page, "start page")

    for path, label in [
        ("/account/", "Mein Konto"),
        ("/admin/organisations", "admin organisations list"),
        ("/admin/organisations/new", "admin organisation form"),
        ("/admin/users", "admin users list"),
        ("/admin/users/new", "admin user form"),
    ]:
        response = page.goto(path)
        assert response is not None and response.status == 200, f"{path}: {response}"
        axe.check(page, label)

    page.get_by_role("button", name="Speichern").click()
    expect(page.locator('[aria-invalid="true"]').first).to_be_visible()
    axe.check(page, "admin user form with errors")

    page.goto("/admin/no-such-page")
    axe.check(page, "error page")

    assert not axe.problems, axe.summary()
