"""uvicorn's HTTP/1.1 protocol (h11) with a deadline for a request's head.

uvicorn closes a connection idle *after* a response (``timeout_keep_alive``), but not one that connects and then
sends nothing, or sends its request line and headers a byte at a time (slowloris): each would hold a connection
slot forever. Here the head of every request (a new connection's first, or the next one on a kept-alive
connection) must arrive within `HEAD_SECONDS`; a request's body has its own deadline (`uploads.UPLOAD_SECONDS`,
the JSON limit).
"""

from __future__ import annotations

import asyncio

from uvicorn.protocols.http.h11_impl import H11Protocol

HEAD_SECONDS = 10.0
"""Longest a request line and headers may take to arrive (a browser sends them in one packet)."""


class DeadlineH11Protocol(H11Protocol):
    head_seconds = HEAD_SECONDS

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self._head_deadline: asyncio.TimerHandle | None = None
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.cycle is not None and not self.cycle.response_complete:
            self._disarm()  # a request is being answered: its head arrived
        else:
            self._arm()  # between requests: the next head must arrive in time

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        if self._head_deadline is None:
            self._head_deadline = self.loop.call_later(self.head_seconds, self._too_slow)

    def _disarm(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None

    def _too_slow(self) -> None:
        self._head_deadline = None
        if self.cycle is None or self.cycle.response_complete:
            self.transport.close()
