"""What the HTTP list engines (:mod:`roundup.mailman`, :mod:`roundup.listmonk`,
:mod:`roundup.buttondown`) share: their client, and their answers and faults in words.

The client takes an injectable ``transport`` (tests pass one to reach a local server or
to fail on purpose); everything else is httpx's defaults with the backend's timeout.
"""

from __future__ import annotations

import httpx


class ApiClient:
    """One API's client, opened on first use and closed by :meth:`close`: a backend keeps
    one connection across a send, and after a fault (``reset``) the next call opens anew.
    """

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url
        self.timeout = timeout
        self.headers = headers
        self.auth = auth
        self.transport = transport
        self.client: httpx.Client | None = None

    def open(self) -> httpx.Client:
        """The client, opened now if it is not open yet."""
        if self.client is None:
            self.client = httpx.Client(
                base_url=self.base_url,
                headers=self.headers,
                auth=self.auth,
                timeout=self.timeout,
                transport=self.transport,
            )
        return self.client

    def close(self) -> None:
        """Close the client, if open; the next :meth:`open` makes a new one."""
        client, self.client = self.client, None
        if client is not None:
            client.close()


def status_line(response: httpx.Response) -> str:
    """``"404 Not Found: the body's first words"``, for error lines and the ledger."""
    detail = " ".join(response.text.split())[:200]
    return f"{response.status_code} {response.reason_phrase}" + (f": {detail}" if detail else "")


def why(exc: BaseException) -> str:
    """A transport fault in words: its kind, and its message when it has one."""
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
