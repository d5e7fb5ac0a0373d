"""The serving life cycle the test API server and the real control plane's fault proxy share: a context manager,
down periods (connections refused, open ones dropped) and timed actions, over one `httpserver.HttpServer`."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from tests.apiserver import faults, httpserver


class Serving:
    """Mixed into a server class that sets `_http`, `faults`, `_timers` (empty) and `_started` (False) in its
    `__init__` and defines `start()` and `stop()`; `_drop()` is called around a down period's listener close (the
    fault proxy cuts its upstream connections there)."""

    _http: httpserver.HttpServer
    faults: faults.Faults
    _timers: list[threading.Timer]
    _started: bool

    def start(self) -> Any:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Any:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return self._http.port

    @property
    def is_up(self) -> bool:
        return self._http._listener is not None

    def down(self, seconds: float | None = None) -> None:
        """Refuse all connections (and drop open ones, watches included) — for `seconds`, or until `up()`."""
        self._drop()
        self._http.close_listener()
        self._drop()
        if seconds is not None:
            self._later(seconds, self.up)

    def up(self) -> None:
        if not self.is_up and self._started:
            self._http.listen()

    def _drop(self) -> None:
        """What else a down period cuts (nothing here)."""

    def _later(self, seconds: float, action: Callable[[], None]) -> None:
        timer = threading.Timer(seconds, action)
        timer.daemon = True
        self._timers.append(timer)
        timer.start()

    def _end_timers(self) -> None:
        """On stop: no timed action fires afterwards, and hanging requests are let go."""
        for timer in self._timers:
            timer.cancel()
            if timer is not threading.current_thread():
                timer.join(timeout=5)
        self._timers.clear()
        self.faults.release_hangs.set()
