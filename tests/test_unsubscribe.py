"""Unsubscribes: ``roundup serve`` on 127.0.0.1, asked as mail providers and browsers ask it.

The end-to-end test runs the real commands in their own processes: ``roundup send`` to a
real aiosmtpd server, ``roundup serve`` answering the one-click POST exactly as a mail
provider sends it (RFC 8058), then the next ``roundup send``, which skips the address.
The rest start the server in-process (:func:`roundup.serve.create_server`) on a free port
and talk to it over a real socket with httpx.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from roundup.cli import cli
from roundup.config import Config, load_config
from roundup.message import list_id, unsubscribe_token
from roundup.serve import UnsubscribeServer, create_server, startup_lines
from roundup.store import UNSUBSCRIBED, StatusRecord, Store
from roundup.subscribers import Subscriber
from tests.browser import chromium, open_page, require_chromium, screenshot
from tests.smtpserver import SmtpServer, smtp_server
from tests.test_send import COMMAND, ROOT, WEEK, cli_project

__all__ = ["smtp_server"]  # the fixture, imported for pytest

SECRET = "unsubscribe-test-secret"
NOW = datetime(2015, 8, 20, 9, 30, tzinfo=UTC)
PEOPLE = ("ann@example.com", "bob@example.com", "cy@example.com")
ROWS = "email,name\nann@example.com,Ann\nBob@Example.com,Bob\ncy@example.com,Cy\n"
ONE_CLICK = b"List-Unsubscribe=One-Click"
FORM = "application/x-www-form-urlencoded"


def post_one_click(url: str, *, host: str = "example.org") -> httpx.Response:
    """The request a mail provider makes for ``List-Unsubscribe-Post: List-Unsubscribe=One-Click``:
    a POST to the https URI (here via the proxy: the public Host), no cookies, no redirects."""
    return httpx.post(
        url,
        content=ONE_CLICK,
        headers={"Host": host, "Content-Type": FORM},
        follow_redirects=False,
        trust_env=False,
    )


# --- end to end: real processes -----------------------------------------------------------


def test_one_click_then_the_next_send_skips_the_address(
    tmp_path: Path, smtp_server: SmtpServer
) -> None:
    """Send, one-click POST to a real `roundup serve`, send the next issue: skipped."""
    config_path = cli_project(tmp_path, smtp_server, ROWS)
    environ = {k: v for k, v in os.environ.items() if k != "ROUNDUP_SECRET"}
    roundup = [*COMMAND, "--config", str(config_path)]

    first = subprocess.run(
        [*roundup, "send", "--week", WEEK], env=environ, capture_output=True, text=True
    )
    secret_file = tmp_path / ".roundup" / "state.secret"
    assert first.returncode == 0, first.stderr
    assert first.stderr == (
        f"Created the signing secret for unsubscribe links in {secret_file} (readable only by"
        " you). Keep it: links already sent stop working without it. To use your own, set"
        " $ROUNDUP_SECRET instead.\n"
    )
    assert secret_file.stat().st_mode & 0o777 == 0o600
    (received,) = smtp_server.handler.to("Bob@Example.com")
    message = received.message()
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    public = str(message["List-Unsubscribe"]).split(",")[0].strip(" <>")
    token = public.rsplit("/", 1)[1]
    assert public == f"https://example.org/roundup/unsubscribe/{token}"

    with subprocess.Popen(
        [*roundup, "serve", "--port", "0"],
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    ) as server:
        assert server.stdout is not None
        banner = [server.stdout.readline() for _ in range(4)]
        assert banner[0].startswith("Answering unsubscribes at http://127.0.0.1:")
        assert banner[0].endswith("/roundup/unsubscribe/{token}\n")
        assert banner[1:] == [
            "Proxy https://example.org/roundup/unsubscribe/ here, the path unchanged.\n",
            f"Tokens are checked with the secret from {secret_file}.\n",
            "Press Ctrl+C to stop.\n",
        ]
        local = banner[0].split(" at ", 1)[1].removesuffix("{token}\n")
        # What the proxy forwards: the public path and Host, unchanged.
        try:
            response = post_one_click(local + token)
        finally:
            server.terminate()
    assert response.status_code == 200
    assert "location" not in response.headers
    assert "Bob@Example.com will get no more issues" in response.text

    assert (
        CliRunner().invoke(cli, ["--config", str(config_path), "build", "--week", "2015-W34", "-q"])
    ).exit_code == 0
    second = subprocess.run(
        [*roundup, "send", "--week", "2015-W34"], env=environ, capture_output=True, text=True
    )
    assert second.returncode == 0, second.stderr
    assert second.stderr == ""  # the secret exists now: nothing more to say about it
    assert second.stdout.splitlines()[1:] == [
        "Sent 2015-W34: accepted for 2 recipients.",
        "Skipped 1 unsubscribed.",
    ]
    assert second.stdout.splitlines()[0].endswith("1 unsubscribed will be skipped.")
    counts = [smtp_server.handler.count(who) for who in ("ann@example.com", "Bob@Example.com")]
    assert counts == [2, 1]
    listed = CliRunner().invoke(cli, ["--config", str(config_path), "subscribers", "list"])
    assert listed.output.splitlines()[1].startswith(
        "Bob@Example.com  unsubscribed  20"
    ) and listed.output.splitlines()[1].endswith(" UTC (one-click)")


# --- the service over a socket -----------------------------------------------------------------


@pytest.fixture
def config(tmp_path: Path) -> Config:
    """The bundled project, sending directly to subscribers.csv (nothing built: the service
    needs only feeds.yaml, the CSV and the store)."""
    text = re.sub(r"(?m)^  to: .*\n", "", (ROOT / "feeds.yaml").read_text())
    text += "smtp: {host: 127.0.0.1, port: 2525, subscribers: subscribers.csv}\n"
    (tmp_path / "feeds.yaml").write_text(text, encoding="utf-8")
    (tmp_path / "subscribers.csv").write_text(ROWS, encoding="utf-8")
    return load_config(tmp_path / "feeds.yaml")


@pytest.fixture
def service(config: Config) -> Iterator[UnsubscribeServer]:
    with create_server(config, secret=SECRET, clock=lambda: NOW, port=0) as server:
        yield server


def token_for(config: Config, address: str) -> str:
    return unsubscribe_token(SECRET, list_id(config), address)


def statuses(config: Config) -> dict[str, tuple[str, datetime, str]]:
    with Store.open(config.state) as store:
        return {a: (r.status, r.at, r.how) for a, r in store.subscriber_statuses().items()}


def request(server: UnsubscribeServer, method: str, path: str, **kwargs: Any) -> httpx.Response:
    with httpx.Client(base_url=server.url, trust_env=False) as client:
        return client.request(method, path, **kwargs)


def test_get_shows_one_button_and_changes_nothing(
    config: Config, service: UnsubscribeServer
) -> None:
    """A link scanner's GET unsubscribes nobody: it gets the page with the button."""
    response = request(service, "GET", f"/unsubscribe/{token_for(config, 'cy@example.com')}")
    assert response.status_code == 200
    assert "Stop sending The Elicitor Weekly Roundup to cy@example.com?" in response.text
    assert response.text.count("<button") == 1 and '<form method="post">' in response.text
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["cache-control"] == "no-store"
    assert "script-src" not in response.headers["content-security-policy"]
    assert statuses(config) == {}


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status", "text"),
    [
        ("GET", "/unsubscribe/AAAAAAAAAAAAAAAAAAAAAA", {}, 404, "link is not valid"),
        ("POST", "/unsubscribe/AAAAAAAAAAAAAAAAAAAAAA", {"content": ONE_CLICK}, 404, "not valid"),
        ("GET", "/unsubscribe/short", {}, 404, "There is nothing here."),
        ("GET", "/", {}, 404, "There is nothing here."),
        ("GET", "/unsubscribe/{ann}", {"headers": {"Host": "evil.test"}}, 403, "not for &#39;evil"),
        ("PUT", "/unsubscribe/{ann}", {"content": ONE_CLICK}, 501, ""),
        ("POST", "/unsubscribe/{ann}", {"content": b"List-Unsubscribe=Yes"}, 400, "One-Click"),
        ("POST", "/unsubscribe/{ann}", {"content": b""}, 400, "One-Click"),
        (
            "POST",
            "/unsubscribe/{ann}",
            {"content": iter([ONE_CLICK])},  # chunked: no length up front
            411,
            "Content-Length",
        ),
    ],
)
def test_refusals(
    config: Config,
    service: UnsubscribeServer,
    method: str,
    path: str,
    kwargs: dict[str, Any],
    status: int,
    text: str,
) -> None:
    """Unknown tokens, other paths, other hosts, other methods, bodies that do not say
    One-Click, and oversized or unframed bodies: refused, and nobody is unsubscribed."""
    path = path.replace("{ann}", token_for(config, "ann@example.com"))
    headers = {"Content-Type": FORM, **kwargs.pop("headers", {})}
    response = request(service, method, path, headers=headers, **kwargs)
    assert response.status_code == status
    assert text in response.text
    assert statuses(config) == {}


def test_invalid_link_page_says_what_to_do(config: Config, service: UnsubscribeServer) -> None:
    """A token that names nobody: the page says how else to leave the list."""
    response = request(service, "GET", "/unsubscribe/AAAAAAAAAAAAAAAAAAAAAA")
    assert (
        "To unsubscribe, open the link from the most recent issue again, or write to"
        " roundup-leave@example.org and ask to be removed." in response.text
    )


def test_oversized_length_is_refused_before_the_body_is_read(
    config: Config, service: UnsubscribeServer
) -> None:
    """A POST announcing a huge body gets 413 at once, its body unread, the line closed."""
    token = token_for(config, "ann@example.com")
    head = (
        f"POST /unsubscribe/{token} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Content-Type: {FORM}\r\nContent-Length: 100000000\r\n\r\n"
    )
    host, port = service.server_address[:2]
    with socket.create_connection((str(host), int(port)), timeout=5) as sock:
        sock.sendall(head.encode())
        answer = sock.recv(65536).decode()
    assert answer.startswith("HTTP/1.1 413 ")
    assert "Connection: close" in answer
    assert statuses(config) == {}


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (ONE_CLICK, FORM),
        (ONE_CLICK, f"{FORM}; charset=utf-8"),
        (b"List-Unsubscribe=One-Click&extra=1", FORM),
        (
            b'--XyZ\r\nContent-Disposition: form-data; name="List-Unsubscribe"\r\n\r\n'
            b"One-Click\r\n--XyZ--\r\n",
            "multipart/form-data; boundary=XyZ",
        ),
    ],
)
def test_one_click_bodies_unsubscribe_once(
    config: Config, service: UnsubscribeServer, body: bytes, content_type: str
) -> None:
    """RFC 8058 allows both form encodings; a second POST keeps the first time."""
    path = f"/unsubscribe/{token_for(config, 'Bob@Example.com')}"
    headers = {"Content-Type": content_type}
    first = request(service, "POST", path, content=body, headers=headers)
    service.app.clock = lambda: NOW.replace(day=21)
    second = request(service, "POST", path, content=body, headers=headers)
    assert (first.status_code, second.status_code) == (200, 200)
    assert statuses(config) == {"bob@example.com": (UNSUBSCRIBED, NOW, "one-click")}
    page = request(service, "GET", path)
    assert "Bob@Example.com unsubscribed from The Elicitor Weekly Roundup on 2015-08-20" in (
        page.text
    )
    assert "<button" not in page.text


def test_a_subscriber_added_later_is_found(config: Config, service: UnsubscribeServer) -> None:
    """The token table follows the subscribers CSV as it changes, without a restart."""
    assert config.smtp is not None and config.smtp.subscribers is not None
    with config.smtp.subscribers.open("a", encoding="utf-8") as handle:
        handle.write("dee@example.com,Dee\n")
    response = request(service, "GET", f"/unsubscribe/{token_for(config, 'dee@example.com')}")
    assert "to dee@example.com?" in response.text


def test_head_answers_like_get_without_a_page(config: Config, service: UnsubscribeServer) -> None:
    """A link checker's HEAD: 200, no body, nobody unsubscribed."""
    response = request(service, "HEAD", f"/unsubscribe/{token_for(config, 'cy@example.com')}")
    assert response.status_code == 200 and response.content == b""
    assert int(response.headers["content-length"]) > 0
    assert statuses(config) == {}


def test_answers_go_on_while_a_changed_csv_is_signed(
    config: Config, service: UnsubscribeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A long list takes seconds to sign again after the CSV changed: meanwhile the others
    are answered from the table as it was, and the new address once it is signed."""
    from roundup import pipeline

    assert config.smtp is not None and config.smtp.subscribers is not None
    reading, release = threading.Event(), threading.Event()
    slow = pipeline.subscriber_list

    def slowly(config: Config) -> list[Subscriber]:
        reading.set()
        assert release.wait(10)
        return slow(config)

    monkeypatch.setattr(pipeline, "subscriber_list", slowly)
    with config.smtp.subscribers.open("a", encoding="utf-8") as handle:
        handle.write("dee@example.com,Dee\n")
    answers: list[httpx.Response] = []
    dee = f"/unsubscribe/{token_for(config, 'dee@example.com')}"
    first = threading.Thread(target=lambda: answers.append(request(service, "GET", dee)))
    first.start()
    assert reading.wait(10)
    ann = request(service, "GET", f"/unsubscribe/{token_for(config, 'ann@example.com')}")
    assert "to ann@example.com?" in ann.text and answers == []
    release.set()
    first.join(10)
    assert "to dee@example.com?" in answers[0].text


def test_addresses_only_the_store_knows_are_found(
    config: Config, service: UnsubscribeServer
) -> None:
    """Someone who unsubscribed and was then dropped from the CSV still gets a true answer;
    so does an address whose status was recorded after the table was built."""
    assert config.smtp is not None and config.smtp.subscribers is not None
    path = f"/unsubscribe/{token_for(config, 'ann@example.com')}"
    assert request(service, "POST", path, content=ONE_CLICK).status_code == 200
    config.smtp.subscribers.write_text("email\ncy@example.com\n", encoding="utf-8")
    assert "ann@example.com unsubscribed from" in request(service, "GET", path).text
    with Store.open(config.state) as store:
        store.set_statuses([StatusRecord("zed@example.net", UNSUBSCRIBED, NOW, "import")])
    service.app.refresh_after = 0.0  # a miss may look in the store again at once
    zed = request(service, "GET", f"/unsubscribe/{token_for(config, 'zed@example.net')}")
    assert "zed@example.net unsubscribed from" in zed.text


@pytest.mark.parametrize(
    ("url", "prefixes", "proxy_line"),
    [
        (
            "https://example.org/unsubscribe/{token}",
            ("/unsubscribe/",),
            "Proxy https://example.org/unsubscribe/ here, the path unchanged.",
        ),
        (
            "https://example.org/news/u/{token}",
            ("/unsubscribe/", "/news/u/"),
            "Proxy https://example.org/news/u/ here, the path unchanged.",
        ),
        (
            "https://example.org/u?t={token}",
            ("/unsubscribe/",),
            "Proxy https://example.org/u?t={token} here, its path rewritten to"
            " /unsubscribe/{token} (only a path that ends in {token} is answered as it is).",
        ),
    ],
)
def test_the_configured_path_is_answered_too(
    config: Config, url: str, prefixes: tuple[str, ...], proxy_line: str
) -> None:
    """A proxy may pass the public path as it is; /unsubscribe/ always works."""
    ours = replace(config, newsletter=replace(config.newsletter, unsubscribe_url=url))
    token = token_for(ours, "ann@example.com")
    with create_server(ours, secret=SECRET, clock=lambda: NOW, port=0) as server:
        assert server.app.prefixes == prefixes
        assert startup_lines(ours, server, "$ROUNDUP_SECRET")[1] == proxy_line
        for prefix in prefixes:
            page = request(server, "GET", f"{prefix}{token}", headers={"Host": "example.org"})
            assert "to ann@example.com?" in page.text
        other = request(server, "GET", f"/elsewhere/{token}")
    assert other.status_code == 404


def test_needs_direct_sends_and_a_secret(config: Config) -> None:
    """No subscribers CSV, or no secret: the service refuses to start, saying why."""
    from roundup.errors import ConfigError, SendError

    listless = replace(config, smtp=None)
    with pytest.raises(ConfigError, match=r"smtp\.subscribers is not set"):
        create_server(listless, secret=SECRET, clock=lambda: NOW, port=0)
    with pytest.raises(ConfigError, match=r"no signing secret"):
        create_server(config, secret="", clock=lambda: NOW, port=0)
    assert config.smtp is not None and config.smtp.subscribers is not None
    config.smtp.subscribers.unlink()
    with pytest.raises(SendError, match=r"subscribers\.csv: no such file"):
        create_server(config, secret=SECRET, clock=lambda: NOW, port=0)


def test_startup_warns_without_an_unsubscribe_url(config: Config) -> None:
    """Without newsletter.unsubscribe_url no issue links here: serve says what to set."""
    bare = replace(config, newsletter=replace(config.newsletter, unsubscribe_url=""))
    with create_server(bare, secret=SECRET, clock=lambda: NOW, port=0) as server:
        lines = startup_lines(bare, server, "$ROUNDUP_SECRET")
    assert lines[1] == (
        "Warning: newsletter.unsubscribe_url is not set, so no issue links here; set it to"
        " https://YOUR-SITE/unsubscribe/{token} and proxy /unsubscribe/ to this port."
    )


def test_recorded_status_survives_a_send_of_the_same_address(config: Config) -> None:
    """Unsubscribing is by address, any case: the store keeps one lower-cased row."""
    with Store.open(config.state) as store:
        store.set_statuses([StatusRecord("Ann@Example.COM", UNSUBSCRIBED, NOW, "command")])
        assert store.is_unsubscribed("ann@example.com")
        assert store.unsubscribed() == {"ann@example.com"}


# --- the page in a browser ---------------------------------------------------------------------


@pytest.mark.browser
def test_the_button_unsubscribes_in_a_browser(config: Config, service: UnsubscribeServer) -> None:
    """Chromium opens the link, sees one button, presses it: unsubscribed, from the page."""
    require_chromium()
    url = f"{service.url}unsubscribe/{token_for(config, 'cy@example.com')}"
    with chromium() as browser, open_page(browser, url, width=390) as (page, report):
        assert page.locator("button").count() == 1  # type: ignore[attr-defined]
        assert statuses(config) == {}
        page.click("button")  # type: ignore[attr-defined]
        page.wait_for_selector("text=You are unsubscribed")  # type: ignore[attr-defined]
        screenshot(page, "unsubscribe-done.png")
        assert page.url == url  # type: ignore[attr-defined]
    assert report.console_errors == [] and report.failed == []
    assert statuses(config) == {"cy@example.com": (UNSUBSCRIBED, NOW, "page")}


def test_serve_without_direct_sends_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`roundup serve` for a newsletter sent to list addresses: exit 1, saying why."""
    (tmp_path / "feeds.yaml").write_text((ROOT / "feeds.yaml").read_text(), encoding="utf-8")
    monkeypatch.setenv("ROUNDUP_SECRET", SECRET)
    result = CliRunner().invoke(cli, ["--config", str(tmp_path / "feeds.yaml"), "serve"])
    assert (result.exit_code, result.output) == (
        1,
        f"Error: {tmp_path / 'feeds.yaml'}: smtp.subscribers is not set: subscribers and"
        " unsubscribes are for direct sends (a list address under newsletter.to is run by"
        " its list engine)\n",
    )
