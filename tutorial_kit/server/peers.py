"""Who is on the other end: a loopback server answers only its own operating-system user.

Every user of a shared machine (a JupyterHub with a local spawner, a lab computer) can connect to
127.0.0.1, and every kit server accepts ``ADMIN``/``ADMIN``. So, on a loopback listener, the server
looks up which user owns the client's end of each new connection and refuses the connection's
requests (HTTP 403 and an error envelope) when that is not the user the server runs as.

On Linux the kernel says who owns a socket. The server asks it once per connection, never once per
request (the verdict is kept with the connection), with one ``sock_diag`` netlink query for
exactly the client's socket (about 30 µs, the query ``ss`` makes, open to every user). Where
netlink is not available it reads ``/proc/net/tcp`` (``/proc/net/tcp6`` for IPv6), whose line with
the client's address and port as local and the server's as remote gives the same uid; that read
walks the kernel's whole connection table, about 8 ms on a machine with 24 GiB, so it is only the
fallback. Elsewhere (macOS has no ``/proc``) the check cannot be made and the server says so once
in its log. ``docs/security.md`` ("Learners on one machine") explains what it does and does not cover.
"""

from __future__ import annotations

import logging
import os
import pwd
import socket
import struct
import sys
import weakref
from pathlib import Path

from tornado import httputil

__all__ = ["PeerCheck", "RefusedMessage", "diag_uid", "peer_uid", "proc_net_key", "proc_uid"]

log = logging.getLogger(__name__)

_PROC_NET = Path("/proc/net")
_JSON = "application/json; charset=utf-8"
_FORBIDDEN = httputil.ResponseStartLine("HTTP/1.1", 403, "Forbidden")


def proc_net_key(host: str, port: int) -> tuple[str, str]:
    """(file name, ``ADDRESS:PORT``) as ``/proc/net/tcp[6]`` writes an endpoint: hex, host byte order."""
    try:
        packed = socket.inet_pton(socket.AF_INET, host)
        return "tcp", f"{struct.unpack('=I', packed)[0]:08X}:{port:04X}"
    except OSError:
        packed = socket.inet_pton(socket.AF_INET6, host.split("%", 1)[0])
        words = struct.unpack("=4I", packed)
        return "tcp6", "".join(f"{word:08X}" for word in words) + f":{port:04X}"


_SOCK_DIAG_BY_FAMILY, _NETLINK_SOCK_DIAG, _NLMSG_ERROR = 20, 4, 2
_NO_COOKIE = 0xFFFFFFFF
_UID_OFFSET = 16 + 64  # nlmsghdr, then inet_diag_msg: 4 bytes, the 48-byte socket id, 3 counters, uid


def _family(host: str) -> int:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def diag_uid(peer: tuple[str, int], local: tuple[str, int]) -> int | None:
    """The uid of the socket whose local end is ``peer`` and remote end ``local``, from sock_diag.

    None when the kernel has no such socket; OSError when netlink cannot be used here.
    """
    family = _family(peer[0])

    def address(host: str) -> bytes:
        return socket.inet_pton(family, host.split("%", 1)[0]).ljust(16, b"\0")

    sockid = (struct.pack("!HH", peer[1], local[1]) + address(peer[0]) + address(local[0])
              + struct.pack("=III", 0, _NO_COOKIE, _NO_COOKIE))
    request = struct.pack("=BBBBI", family, socket.IPPROTO_TCP, 0, 0, 0xFFFFFFFF) + sockid
    header = struct.pack("=IHHII", 16 + len(request), _SOCK_DIAG_BY_FAMILY, 1, 1, 0)  # NLM_F_REQUEST
    with socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, _NETLINK_SOCK_DIAG) as nl:
        nl.settimeout(1.0)
        nl.send(header + request)
        answer = nl.recv(4096)
    kind = struct.unpack_from("=H", answer, 4)[0]
    if kind == _NLMSG_ERROR or len(answer) < _UID_OFFSET + 4:
        return None  # (ENOENT: no such socket)
    return int(struct.unpack_from("=I", answer, _UID_OFFSET)[0])


def peer_uid(peer: tuple[str, int], local: tuple[str, int], proc_net: Path = _PROC_NET) -> int | None:
    """The uid owning the client's end of a TCP connection on this machine, or None if not found.

    ``peer`` is the client's (address, port), ``local`` the server's end of the same connection.
    Asks sock_diag; reads ``proc_net`` (/proc/net/tcp[6]) where netlink cannot be used.
    """
    try:
        return diag_uid(peer, local)
    except OSError as exc:
        log.debug("sock_diag unavailable (%s): reading %s", exc, proc_net)
    return proc_uid(peer, local, proc_net)


def proc_uid(peer: tuple[str, int], local: tuple[str, int], proc_net: Path = _PROC_NET) -> int | None:
    """:func:`peer_uid` from the text of ``/proc/net/tcp`` or ``tcp6`` (the fallback)."""
    table, client = proc_net_key(*peer)
    _, server = proc_net_key(*local)
    needle = f" {client} {server} "
    text = (proc_net / table).read_text(encoding="ascii", errors="replace")
    at = text.find(needle)
    if at < 0:
        return None
    fields = text[at:text.find("\n", at)].split()
    # local, remote, state, tx:rx queues, timer, retransmits, uid, ...
    return int(fields[6]) if len(fields) > 6 and fields[6].isdigit() else None


def _who(uid: int) -> str:
    try:
        return f"{pwd.getpwuid(uid).pw_name} (uid {uid})"
    except KeyError:
        return f"uid {uid}"


class PeerCheck:
    """The per-connection verdict: None (answer it) or the reason to refuse, looked up once.

    ``uid`` is the user whose connections are answered (the server's own effective uid).
    """

    def __init__(self, uid: int | None = None, proc_net: Path = _PROC_NET) -> None:
        self.uid = os.geteuid() if uid is None else uid
        self.proc_net = proc_net
        self._verdicts: weakref.WeakKeyDictionary[object, str | None] = weakref.WeakKeyDictionary()

    @staticmethod
    def available(proc_net: Path = _PROC_NET) -> bool:
        """True where the owner of a connection can be looked up (Linux: netlink or /proc/net/tcp)."""
        return sys.platform.startswith("linux") and (hasattr(socket, "AF_NETLINK") or (proc_net / "tcp").is_file())

    def refusal(self, server_conn: object) -> str | None:
        """Why the requests of this connection (tornado's HTTP1ServerConnection) are refused, or None."""
        try:
            return self._verdicts[server_conn]
        except KeyError:
            verdict = self._verdicts[server_conn] = self._judge(server_conn)
            return verdict

    def _judge(self, server_conn: object) -> str | None:
        sock = getattr(getattr(server_conn, "stream", None), "socket", None)
        try:
            if sock is None:
                raise AttributeError("the connection has no socket")
            peer, local = sock.getpeername()[:2], sock.getsockname()[:2]
            uid = peer_uid(peer, local, self.proc_net)
        except (AttributeError, OSError, ValueError) as exc:
            log.warning("could not tell which user owns a connection (%s): refused", exc)
            uid = None
        if uid == self.uid:
            return None
        if uid is None:
            return ("This server answers only its own user's programs, and it could not tell whose "
                    "program this is. Send the request from your own notebook or terminal.")
        return (f"This server answers only its own user's programs ({_who(self.uid)}); this connection "
                f"is from {_who(uid)}. Run your own: a lesson's first cell, or `tutorial-kit serve`.")


class RefusedMessage(httputil.HTTPMessageDelegate):
    """One request of a refused connection: its body is read and dropped, the answer is HTTP 403
    with ``body`` (an error envelope), and the connection closes after it."""

    def __init__(self, conn: httputil.HTTPConnection, body: bytes) -> None:
        self.conn = conn
        self.body = body

    def headers_received(self, start_line: object, headers: httputil.HTTPHeaders) -> None:
        return None

    def data_received(self, chunk: bytes) -> None:
        return None

    def finish(self) -> None:
        headers = httputil.HTTPHeaders()
        headers["Content-Type"] = _JSON
        headers["Content-Length"] = str(len(self.body))
        headers["Connection"] = "close"
        self.conn.write_headers(_FORBIDDEN, headers, self.body)
        self.conn.finish()

    def on_connection_close(self) -> None:
        return None
