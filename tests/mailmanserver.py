"""A real GNU Mailman 3 core on 127.0.0.1 for the Mailman delivery tests.

Mailman lives in its own virtual environment, made by ``bash scripts/mailman-venv``
(``.ci/run`` calls it; locally, run it once). Without it the tests skip with that advice,
except under ``CI=true``, where they fail. The ``mailman`` fixture (one per test session)
starts Mailman with SQLite in a temporary folder, only the runners a post needs, its REST
API on a free port and its outgoing SMTP pointed at an aiosmtpd sink
(:class:`tests.smtpserver.SmtpServer`), and stops it at the end::

    def test_x(mailman: Mailman) -> None:
        list_id = mailman.create_list("news@lists.example.org", members)
        ...
        mailman.wait_idle()
        assert mailman.sink.handler.count("m01@example.com") == 1
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.smtpserver import SmtpServer

ROOT = Path(__file__).resolve().parent.parent
VENV = Path(os.environ.get("ROUNDUP_MAILMAN_VENV", ROOT / ".cache" / "mailman-venv"))
REST_USER, REST_PASSWORD = "restadmin", "rest-secret"
MODERATOR_PASSWORD = "moderator-secret"
DOMAIN = "lists.example.org"
START_TIMEOUT = 240.0  # seconds: a dozen Python processes on a busy 2-core machine
# Runners a post does not need: fewer processes start faster.
IDLE_RUNNERS = ("archive", "bounces", "command", "digest", "lmtp", "nntp", "retry", "task")
# The queues a post passes through on its way out (the archive queue just fills up).
BUSY_QUEUES = ("in", "pipeline", "out", "virgin")


@dataclass
class Mailman:
    """A running Mailman: its REST client, its configuration file and the SMTP sink."""

    api_url: str
    config: Path
    sink: SmtpServer
    api: httpx.Client

    def create_list(self, address: str, members: Sequence[str]) -> str:
        """A list with ``members`` (no welcome mail) and :data:`MODERATOR_PASSWORD`."""
        domain = address.partition("@")[2]
        if self.api.get(f"/domains/{domain}").status_code == 404:
            _ok(self.api.post("/domains", data={"mail_host": domain}))
        _ok(self.api.post("/lists", data={"fqdn_listname": address}))
        list_id = str(self.api.get(f"/lists/{address}").json()["list_id"])
        settings = {"moderator_password": MODERATOR_PASSWORD, "send_welcome_message": False}
        _ok(self.api.patch(f"/lists/{list_id}/config", data=settings))
        roster = self.config.parent / f"{list_id}.members"
        roster.write_text("\n".join(members) + "\n", encoding="utf-8")
        # One command for all members: the REST API takes one request per member.
        subprocess.run(
            [*self.command(), "addmembers", "--no-welcome-msg", str(roster), address],
            check=True,
            capture_output=True,
            timeout=START_TIMEOUT,
        )
        return list_id

    def command(self) -> list[str]:
        return [str(VENV / "bin" / "mailman"), "--run-as-root", "-C", str(self.config)]

    def wait_idle(self, timeout: float = 120.0) -> None:
        """Wait until the queues a post passes through are empty (it has gone out)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            queues = self.api.get("/queues").json()["entries"]
            if all(q["count"] == 0 for q in queues if q["name"] in BUSY_QUEUES):
                return
            time.sleep(0.5)
        raise AssertionError(f"Mailman's queues did not empty in {timeout:.0f} s")

    def wait_for_copies(self, recipients: Sequence[str], timeout: float = 120.0) -> None:
        """Wait until every one of ``recipients`` has at least one copy, then until idle."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(self.sink.handler.count(who) for who in recipients):
                break
            time.sleep(0.5)
        self.wait_idle(max(deadline - time.monotonic(), 5.0))


def require_mailman() -> None:
    """Skip when Mailman's environment is missing; fail instead under ``CI=true``."""
    if (VENV / "bin" / "mailman").exists():
        return
    problem = f"GNU Mailman is not installed in {VENV}: run `bash scripts/mailman-venv`"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"the Mailman tests must run in CI: {problem}")
    pytest.skip(problem)


@pytest.fixture(scope="session")
def mailman(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mailman]:
    """Mailman 3 core on 127.0.0.1, for the whole session."""
    require_mailman()
    home = tmp_path_factory.mktemp("mailman")
    with SmtpServer() as sink:
        port = _free_port()
        config = home / "mailman.cfg"
        config.write_text(_configuration(home, port, sink.port), encoding="utf-8")
        api_url = f"http://127.0.0.1:{port}/3.1"
        log = (home / "start.log").open("wb")
        subprocess.run(
            [str(VENV / "bin" / "mailman"), "--run-as-root", "-C", str(config), "start"],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            check=True,
            timeout=START_TIMEOUT,
        )
        api = httpx.Client(base_url=api_url, auth=(REST_USER, REST_PASSWORD), timeout=60)
        try:
            _wait_for_rest(api, home)
            yield Mailman(api_url, config, sink, api)
        finally:
            api.close()
            _stop(home)
            log.close()


def _configuration(home: Path, rest_port: int, smtp_port: int) -> str:
    idle = "".join(f"\n[runner.{name}]\nstart: no\n" for name in IDLE_RUNNERS)
    return f"""\
[mailman]
site_owner: owner@example.org
layout: roundup

[paths.roundup]
var_dir: {home}/var
pid_file: {home}/var/master.pid

[database]
class: mailman.database.sqlite.SQLiteDatabase
url: sqlite:///{home}/var/data/mailman.db

[mta]
incoming: mailman.mta.null.NullMTA
smtp_host: 127.0.0.1
smtp_port: {smtp_port}
lmtp_host: 127.0.0.1
lmtp_port: {_free_port()}

[webservice]
hostname: 127.0.0.1
port: {rest_port}
admin_user: {REST_USER}
admin_pass: {REST_PASSWORD}

[passwords]
# Mailman's own quick hashing for tests: the default takes a second per password check.
configuration: python:mailman.testing.passlib

[logging.root]
level: warning
{idle}"""


def _wait_for_rest(api: httpx.Client, home: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        try:
            if api.get("/system/versions").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    logs = (home / "var" / "logs" / "mailman.log").read_text(errors="replace")[-2000:]
    raise AssertionError(f"Mailman's REST API did not start in {START_TIMEOUT:.0f} s:\n{logs}")


def _stop(home: Path) -> None:
    """SIGTERM the master (it stops its runners); SIGKILL the group if it lingers."""
    pid_file = home / "var" / "master.pid"
    if not pid_file.exists():
        return
    pid = int(pid_file.read_text().split()[0])
    if not _alive(pid):
        return
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 5  # its state is thrown away: no need to wait long
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.2)
    if _alive(pid):
        os.killpg(pid, signal.SIGKILL)  # started in its own session: the group is Mailman's


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (exited, not yet reaped by init) counts as gone
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().split()[2] != "Z"
    except OSError:
        return True


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _ok(response: httpx.Response) -> None:
    assert response.status_code < 300, f"{response.request.url}: {response.text}"
