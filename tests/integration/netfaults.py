"""A real TCP proxy in front of PostgreSQL that cuts a connection at a chosen point of
the protocol, the way a network failure or a server crash would: the outside world,
faked at the socket, with leadpipe and PostgreSQL both real."""

from __future__ import annotations

import socket
import threading
from contextlib import suppress
from typing import Literal

from sqlalchemy import make_url

Cut = Literal["commit_lost_on_the_way", "commit_answer_lost"]


class CuttingProxy:
    """Forwards connections to PostgreSQL. When armed with a cut, the first connection to
    reach that point is closed both ways: ``commit_lost_on_the_way`` drops the client's
    COMMIT before the server sees it; ``commit_answer_lost`` lets the server commit and
    drops its answer. ``refuse_after_cut`` also refuses every connection after it, as a
    server that went away would."""

    def __init__(self, postgres_url: str) -> None:
        url = make_url(postgres_url)
        self._target = (url.host or "127.0.0.1", url.port or 5432)
        self._listener = socket.create_server(("127.0.0.1", 0))
        port = self._listener.getsockname()[1]
        # Without SSL or GSS negotiation every server message is typed and framed.
        self.url = (
            url.set(host="127.0.0.1", port=port)
            .update_query_dict({"sslmode": "disable", "gssencmode": "disable"})
            .render_as_string(hide_password=False)
        )
        self.cut: Cut | None = None
        self.refuse_after_cut = False
        self.cuts = 0
        self._lock = threading.Lock()
        self._open: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self._listener.close()
        for sock in self._open:
            with suppress(OSError):
                sock.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if self.refuse_after_cut and self.cuts:
                client.close()
                continue
            server = socket.create_connection(self._target)
            self._open += [client, server]
            threading.Thread(target=self._to_server, args=(client, server), daemon=True).start()
            threading.Thread(target=self._to_client, args=(server, client), daemon=True).start()

    def _fire(self, cut: Cut, *socks: socket.socket) -> bool:
        with self._lock:
            if self.cut != cut:
                return False
            self.cut = None
            self.cuts += 1
        for sock in socks:
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        return True

    def _to_server(self, client: socket.socket, server: socket.socket) -> None:
        with suppress(OSError):
            while data := client.recv(65536):
                if b"COMMIT" in data and self._fire("commit_lost_on_the_way", client, server):
                    return
                server.sendall(data)
        with suppress(OSError):
            server.shutdown(socket.SHUT_WR)

    def _to_client(self, server: socket.socket, client: socket.socket) -> None:
        buffered = b""
        with suppress(OSError):
            while data := server.recv(65536):
                buffered += data
                complete, buffered = _whole_messages(buffered)
                for message in complete:
                    if _is_commit_done(message) and self._fire(
                        "commit_answer_lost", client, server
                    ):
                        return
                    client.sendall(message)
        with suppress(OSError):
            client.shutdown(socket.SHUT_WR)


def _is_commit_done(message: bytes) -> bool:
    """CommandComplete for a COMMIT."""
    return message.startswith(b"C") and message[5:].startswith(b"COMMIT\0")


def _whole_messages(data: bytes) -> tuple[list[bytes], bytes]:
    """The complete messages at the start of ``data`` (a type byte, then a length that
    counts itself and the body), and what is left."""
    messages = []
    while len(data) >= 5:
        end = 1 + int.from_bytes(data[1:5], "big")
        if len(data) < end:
            break
        messages.append(data[:end])
        data = data[end:]
    return messages, data
