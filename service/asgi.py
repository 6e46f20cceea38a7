"""The app factory each worker of `previ serve --workers N` calls, and the service's log format.

uvicorn starts N worker processes and, in each, imports
:func:`app_from_environment` (factory mode), which reads the config file named
by ``PREVI_CONFIG_FILE`` (the ``--config`` of `previ serve`; unset: ./previ.yaml
or the defaults) and builds the app. The parent process has already upgraded
the databases and created the key files, so every worker opens the same stores
and the same keys.

:class:`NoDelayConfig` is uvicorn's Config with one fix: the listening socket
the workers share is created as a TCP socket (``IPPROTO_TCP``). uvicorn 0.54
binds it with ``proto`` 0, accepted sockets inherit that, and asyncio then
leaves Nagle's algorithm on (it sets ``TCP_NODELAY`` only for ``proto`` 6): every
keep-alive request after the first waited about 40 ms for the client's delayed
ACK (measured: 52 ms per POST /v1/scores from one client with 2 workers, 7.7 ms
with 1). uvicorn issue #3149, open as of uvicorn 0.54.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
from pathlib import Path
from typing import TextIO

import uvicorn
from fastapi import FastAPI

from previ.config import load_config
from service.heap import settle_heap
from service.main import create_app

__all__ = [
    "CONFIG_VARIABLE",
    "NoDelayConfig",
    "app_from_environment",
    "log_like_uvicorn",
    "serving_interpreter",
]

CONFIG_VARIABLE = "PREVI_CONFIG_FILE"
# How long a thread may hold the interpreter while another asks for it. The audit log's writer thread
# (service.group_commit) waits on the database between its statements, and at Python's default of 5 ms
# it then waited for the event loop's thread to let go each time: a batch took 13 ms to commit for
# 1.7 ms of CPU. At 1 ms one worker served 384-423 scores a second in process instead of 232-287
# (8 concurrent, PostgreSQL); at 0.2 ms the extra switches cost more than they saved.
SWITCH_INTERVAL_SECONDS = 0.001


def serving_interpreter() -> None:
    """Tune this process's interpreter for serving (each worker calls it: they are spawned, not forked)."""
    sys.setswitchinterval(SWITCH_INTERVAL_SECONDS)


def app_from_environment() -> FastAPI:
    """One worker's app, for the config file in ``PREVI_CONFIG_FILE``."""
    log_like_uvicorn()
    serving_interpreter()
    path = os.environ.get(CONFIG_VARIABLE)
    return create_app(load_config(Path(path) if path else None), after_model_swap=settle_heap)


class NoDelayConfig(uvicorn.Config):
    """uvicorn's Config whose shared listening socket is TCP, so accepted connections get TCP_NODELAY."""

    def bind_socket(self) -> socket.socket:
        sock = super().bind_socket()
        if sock.family not in (socket.AF_INET, socket.AF_INET6) or sock.proto == socket.IPPROTO_TCP:
            return sock
        tcp = socket.socket(sock.family, sock.type, socket.IPPROTO_TCP, fileno=sock.detach())
        tcp.set_inheritable(True)
        return tcp


class _StderrNow(logging.StreamHandler[TextIO]):
    """Writes to whatever ``sys.stderr`` is at the time (a test runner may swap and close it)."""

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        pass


def log_like_uvicorn() -> None:
    """The service's own messages (model loaded, refused, reloaded, the access log) in uvicorn's format.

    uvicorn's own access log is off: it printed paths and query strings.
    """
    logger = logging.getLogger("previ.service")
    if not logger.handlers:
        handler = _StderrNow()
        handler.setFormatter(logging.Formatter("%(levelname)s:     %(message)s"))
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
