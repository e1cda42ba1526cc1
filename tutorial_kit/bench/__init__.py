"""``python -m tutorial_kit.bench``: the kit's performance benchmark (``make bench``).

One run prints a table and, with ``--json PATH``, writes every figure as JSON. What it measures
(the targets are in the design's "Performance targets"):

* **request cost** on loopback with keep-alive, for ``pingSession`` with a token and for
  ``describeSessions`` of one token (both ``"debug": "none"``), side by side with a bare tornado
  ``RequestHandler`` that returns a constant JSON envelope, in the same run. The figure is the
  *server's* CPU seconds per request: each server runs in a subprocess of its own (ours is the real
  ``python -m tutorial_kit serve``), a load process drives a fixed number of requests over one
  keep-alive connection, and the server's CPU time is read from ``/proc/<pid>`` before and after.
  Both servers get byte-identical requests (same path, same body) and the bare one answers with the
  very bytes ours answered, so the difference is only the work each server does. Rounds alternate
  between the two servers; the median round counts. ``ratio = bare / ours`` (target >= 0.9).
  Throughput and latency p50/p99 are the load process's view of the same rounds.
* **start and restart** of the in-process server (:class:`~tutorial_kit.server.EmulatorServer`,
  from the call to the first answered request) and of the background process
  (``python -m tutorial_kit serve --port 0``, from spawn to the first answered request).
* **spawns side by side** (issue 15): in the same run, interleaved round by round, a bare
  ``python -c "import tornado.web"`` (spawn to exit), a server start on a fresh, empty home and a
  restart of a home holding 2,000 permanent sessions, both started as the lessons'
  ``ServerControl`` starts them (:func:`~tutorial_kit.control.spawn.spawn_server`) and timed from
  spawn to the first answered request. Each is reported with its ratio to the bare spawn of the
  same round (targets: fresh start <= 1.3x, restart <= 1.5x).
* **describeSessions** of every session (debug none), round trip, with N live sessions.
* **growth**: each of those with 100, 1,000 and 10,000 sessions.

Setting up thousands of sessions through ``createSession`` would cost one scrypt hash (~40 ms)
each, so the benchmark inserts them directly: permanent sessions are rows written with
:meth:`Store.insert_session <tutorial_kit.server.store.Store.insert_session>` into the home before
the server starts; live temporary sessions are :class:`~tutorial_kit.server.sessions.Session`
objects added to ``backend.sessions`` on the server's loop with
:meth:`EmulatorServer.call_in_loop` (built the way ``actions.create_session`` builds them).

Network: loopback only. Every loop is bounded in count and in time.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    from .cli import main as _main

    return _main(argv)
