"""The socket `previ serve --workers N` shares gives accepted connections TCP_NODELAY (uvicorn #3149)."""

from __future__ import annotations

import asyncio
import socket

from service.asgi import NoDelayConfig


async def _accepted_nodelay(listener: socket.socket) -> int:
    """TCP_NODELAY of a connection accepted by asyncio on ``listener`` (as each worker accepts)."""
    loop = asyncio.get_running_loop()
    seen: asyncio.Future[int] = loop.create_future()

    class Report(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            accepted = transport.get_extra_info("socket")
            seen.set_result(accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            transport.close()

    server = await loop.create_server(Report, sock=listener)
    port = listener.getsockname()[1]
    _, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        return await asyncio.wait_for(seen, timeout=10)
    finally:
        writer.close()
        server.close()
        await server.wait_closed()


def test_connections_accepted_on_the_shared_socket_send_without_waiting_for_acks() -> None:
    listener = NoDelayConfig("service.asgi:app_from_environment", host="127.0.0.1", port=0).bind_socket()
    assert listener.proto == socket.IPPROTO_TCP and listener.get_inheritable()
    assert asyncio.run(_accepted_nodelay(listener)) != 0


def test_a_listener_bound_as_uvicorn_binds_it_would_leave_nagle_on() -> None:
    """The check above can fail: a listener with ``proto`` 0 (as uvicorn 0.54 binds) leaves Nagle on."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    assert asyncio.run(_accepted_nodelay(listener)) == 0
