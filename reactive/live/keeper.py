"""Keeping a player: built off the window's thread, and in kiosk mode built again after a
failure, with a growing delay while it keeps failing.

The window asks ``collect(now)`` each tick for a newly built player, reports a failure of the
running one with ``recover(exc, now)``, and starts a build when ``due(now)``. A user's
mistake (an ``InputError`` on the first build) and, outside kiosk mode, any error are raised
to the window: retrying cannot fix them.
"""

from __future__ import annotations

import logging
import threading
import traceback
from typing import Callable

from reactive.errors import InputError

log = logging.getLogger(__name__)

# Kiosk recovery: the first restart after 0.5 s, doubling while the player keeps failing
# within STABLE_S of its start, never waiting more than MAX_RESTART_DELAY_S.
FIRST_RESTART_DELAY_S = 0.5
MAX_RESTART_DELAY_S = 60.0
STABLE_S = 30.0


class _Build:
    """``build()`` + ``warm(player)`` on a worker thread; ``done``, then ``player`` or
    ``error``."""

    def __init__(self, build: Callable[[], object], warm: Callable[[object], None]) -> None:
        self.player = None
        self.error: BaseException | None = None
        self.done = False
        self._thread = threading.Thread(target=self._work, args=(build, warm),
                                        name="reactive-build", daemon=True)
        self._thread.start()

    def _work(self, build, warm) -> None:
        try:
            player = build()
            warm(player)
            self.player = player
        except BaseException as exc:  # handed to the main thread, which decides
            self.error = exc
        self.done = True


class PlayerKeeper:
    """Builds the player (``build()`` then ``warm(player)``, on a worker thread) and, with
    ``kiosk``, builds it again after failures. ``status(text)`` is told what happens."""

    def __init__(self, build: Callable[[], object], warm: Callable[[object], None], *,
                 kiosk: bool, status: Callable[[str], None] = lambda s: None) -> None:
        self._make = build
        self._warm = warm
        self.kiosk = kiosk
        self.status = status
        self.rebuilds = 0             # players dropped after an error in the frame loop
        self._build: _Build | None = None
        self._rebuild_at: float | None = None
        self._failures = 0            # consecutive failed runs / builds (the back-off)
        self._player_since = 0.0
        self._errors: dict[tuple, int] = {}

    def start(self) -> None:
        """Start building a player now."""
        self._rebuild_at = None
        self._build = _Build(self._make, self._warm)

    def due(self, now: float) -> bool:
        """A restart was scheduled, its time has come and no build runs."""
        return self._rebuild_at is not None and now >= self._rebuild_at and self._build is None

    def collect(self, now: float):
        """The newly built player, or None (still building, nothing to build, or the build
        failed in kiosk mode: a restart is scheduled). Raises what retrying cannot fix."""
        build = self._build
        if build is None or not build.done:
            return None
        self._build = None
        if build.error is not None:
            exc = build.error
            if isinstance(exc, InputError) and self.rebuilds == 0:
                raise exc  # the user's mistake, even in kiosk mode
            if not self.kiosk or not isinstance(exc, Exception):
                raise exc
            self._log_error(exc, "building the player failed")
            self.status(f"building the player failed: {exc}; retrying")
            self._schedule_restart(now)
            return None
        self._player_since = now
        return build.player

    def recover(self, exc: Exception, now: float) -> None:
        """Kiosk: the running player failed -> log it once, build a new one after a delay."""
        self._log_error(exc, "error in the player loop; restarting the player")
        if now - self._player_since >= STABLE_S:
            self._failures = 0  # it ran fine for a while: restart quickly again
        self.rebuilds += 1
        self._schedule_restart(now)

    def _schedule_restart(self, now: float) -> None:
        self._failures += 1
        delay = min(MAX_RESTART_DELAY_S, FIRST_RESTART_DELAY_S * 2 ** (self._failures - 1))
        self._rebuild_at = now + delay
        log.warning("kiosk: restarting the player in %.1f s", delay)

    def _log_error(self, exc: BaseException, what: str) -> None:
        """Traceback once per distinct error (type, message, where); one line after that."""
        tb = traceback.extract_tb(exc.__traceback__)
        where = (tb[-1].filename, tb[-1].lineno) if tb else None
        key = (type(exc).__name__, str(exc), where)
        count = self._errors.get(key, 0) + 1
        self._errors[key] = count
        if count == 1:
            log.error("kiosk: %s: %s: %s", what, type(exc).__name__, exc, exc_info=exc)
        else:
            log.error("kiosk: %s again (%d times): %s: %s", what, count, type(exc).__name__,
                      exc)
