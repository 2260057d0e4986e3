"""What a request may do. The studio has no login, so three rules keep other web pages out.

1. **Host.** A page on another site can point its own domain name at 127.0.0.1 ("DNS
   rebinding") and then read our answers as if they were its own. Its requests still carry its
   domain in the `Host` header, so a request is served only when `Host` names the address the
   server was started on (or `localhost`, or, when it listens on every interface, an IP address
   or this machine's own name).
2. **Origin.** A page elsewhere can make the browser send a POST here (start a training run,
   say). Browsers add an `Origin` header to such requests; a request that changes anything is
   refused unless its Origin is this page's own. A request that reads is refused too when the
   browser marks it as sent by another site (`Sec-Fetch-Site: cross-site`), except following a
   link to the page itself. The page's Content-Security-Policy lets it run only its own scripts.
3. **Run names.** A run name from the browser is a path *inside* `--runs`: no absolute paths,
   no `..`, nothing that resolves outside it (a symbolic link included).
"""

from __future__ import annotations

import ipaddress
import socket
from pathlib import Path, PurePosixPath

from nn2gpt.errors import UserError

WRITES = {"POST", "PUT", "PATCH", "DELETE"}


class Forbidden(Exception):
    """A request refused by one of the rules above (HTTP 403)."""


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name.strip("[]"))
        return True
    except ValueError:
        return False


def split_host(value: str) -> tuple[str, str]:
    """'127.0.0.1:8000' -> ('127.0.0.1', '8000'); '[::1]:80' -> ('[::1]', '80')."""
    value = value.strip().lower()
    if value.startswith("["):
        name, _, rest = value.partition("]")
        return name + "]", rest.lstrip(":")
    name, _, port = value.rpartition(":") if value.count(":") == 1 else (value, "", "")
    return name, port


class Guard:
    """The Host and Origin rules for a server started on `host`:`port`."""

    def __init__(self, host: str, port: int):
        self.port = str(port)
        self.any_interface = host in ("0.0.0.0", "::", "")
        self.names = {host.lower(), "localhost", "127.0.0.1", "[::1]"}
        if self.any_interface:
            self.names |= {socket.gethostname().lower(), socket.getfqdn().lower()}

    def host_ok(self, host_header: str | None) -> bool:
        if not host_header:
            return False
        name, port = split_host(host_header)
        if port and port != self.port:
            return False
        return name in self.names or (self.any_interface and _is_ip(name))

    def check(self, method: str, headers) -> None:
        """Raise Forbidden unless the request (its method and headers) may be served."""
        host = headers.get("host")
        if not self.host_ok(host):
            raise Forbidden(f"this studio answers only at its own address, not at Host {host!r}")
        origin = headers.get("origin")
        if method in WRITES and origin is not None and origin != f"http://{host}":
            raise Forbidden(f"a request from {origin} may not change anything here; use the studio's own page")
        navigating = method == "GET" and headers.get("sec-fetch-mode") == "navigate"  # a link to the page
        if headers.get("sec-fetch-site") == "cross-site" and not navigating:
            raise Forbidden("requests sent by another website are refused; open the studio's own page")


def resolve_run(runs_dir: Path, name: str) -> Path:
    """The directory of run `name` inside `runs_dir`; UserError for anything that would leave it."""
    if not isinstance(name, str) or not name.strip():
        raise UserError("no run was chosen; pick one from the list")
    pure = PurePosixPath(name)
    if pure.is_absolute() or "\\" in name or ".." in pure.parts or "\0" in name:
        raise UserError(f"run {name!r} is not a run name; names are folders inside the studio's --runs")
    root = runs_dir.resolve()
    path = (root / pure).resolve()
    if root not in path.parents:  # the folder itself is not a run either
        raise UserError(f"run {name!r} is not a run inside the studio's --runs folder")
    if not path.is_dir():
        raise UserError(f"there is no run {name!r} in {runs_dir}; pick one from the list")
    return path
