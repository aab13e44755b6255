"""The editor's desk: ``roundup preview`` serves a local page to review, edit and approve an issue.

:mod:`roundup.desk.app` is the web app and says how it works and what keeps it safe;
:mod:`roundup.desk.server` puts it on a socket.
"""

from __future__ import annotations

from roundup.desk.app import STALE, Desk, create_app
from roundup.desk.server import DeskServer, create_server, serve

__all__ = ["STALE", "Desk", "DeskServer", "create_app", "create_server", "serve"]
