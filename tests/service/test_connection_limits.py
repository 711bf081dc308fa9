"""Slow and many clients (issue 17, item 13): header and body timeouts, a connection cap."""

from __future__ import annotations

import socket
import time

import pytest

from twitchrules.service import SERVICE_ID


def connect(server) -> socket.socket:
    """A raw TCP connection to the live server."""
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    return sock


def read_until_closed(sock: socket.socket, limit: float = 10) -> tuple[bytes, float]:
    """Everything the server sends until it closes the connection, and how long that took."""
    started = time.monotonic()
    sock.settimeout(limit)
    received = b""
    try:
        while chunk := sock.recv(65536):
            received += chunk
    except (ConnectionResetError, TimeoutError):
        pass
    return received, time.monotonic() - started


@pytest.fixture
def strict(serve):
    """A server with one-second header and body timeouts and room for four connections."""
    return serve(header_timeout_seconds=1, body_timeout_seconds=1, max_connections=4)


def test_silent_connection_is_closed_after_the_header_timeout(strict) -> None:
    """A client that connects and sends nothing is disconnected (not kept for ever)."""
    sock = connect(strict)
    received, waited = read_until_closed(sock)
    assert received == b""
    assert 0.5 < waited < 5


def test_dribbled_headers_get_408(strict) -> None:
    """Headers sent a byte at a time past the timeout get 408 and the connection closes."""
    sock = connect(strict)
    request = f"POST /cds-services/{SERVICE_ID} HTTP/1.1\r\nHost: x\r\n".encode()
    for byte in request[:6]:  # 0.6 s of dribbling, then nothing more: never a full head
        sock.send(bytes([byte]))
        time.sleep(0.1)
    received, waited = read_until_closed(sock)
    assert waited < 5
    assert received.startswith(b"HTTP/1.1 408")
    assert b"OperationOutcome" in received


def test_slow_body_gets_408(strict) -> None:
    """A body promised by Content-Length and not sent in time gets 408."""
    sock = connect(strict)
    sock.sendall(f"POST /cds-services/{SERVICE_ID} HTTP/1.1\r\nHost: x\r\n"
                 "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{".encode())
    received, waited = read_until_closed(sock)
    assert received.startswith(b"HTTP/1.1 408")
    assert waited < 5


def test_connections_past_the_cap_get_503(strict, client) -> None:
    """With four connections held open, a fifth is answered 503 and closed at once."""
    held = [connect(strict) for _ in range(4)]
    time.sleep(0.2)
    extra = connect(strict)
    received, waited = read_until_closed(extra, limit=5)
    assert received.startswith(b"HTTP/1.1 503")
    assert waited < 1
    for sock in held:
        sock.close()
    time.sleep(0.3)
    assert client.get(f"{strict.url}/cds-services").status_code == 200


def test_held_connections_are_released_by_the_timeout(strict, client) -> None:
    """Idle connections filling the cap are closed by the header timeout, and service resumes."""
    held = [connect(strict) for _ in range(4)]
    time.sleep(1.8)
    assert client.get(f"{strict.url}/cds-services").status_code == 200
    for sock in held:
        sock.close()


def test_keep_alive_requests_still_work(strict) -> None:
    """Two requests on one connection, each within the timeouts, are both answered."""
    sock = connect(strict)
    for _ in range(2):
        sock.sendall(b"GET /cds-services HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = b""
        while b"\r\n\r\n" not in answer:
            answer += sock.recv(65536)
        assert answer.startswith(b"HTTP/1.1 200")
        head, _, rest = answer.partition(b"\r\n\r\n")
        length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                          if line.lower().startswith(b"content-length")))
        while len(rest) < length:
            rest += sock.recv(65536)
    sock.close()


def test_steady_dribble_does_not_extend_the_deadline(strict) -> None:
    """A byte every 0.2 s never completes the head: the connection is closed near the timeout."""
    sock = connect(strict)
    request = f"POST /cds-services/{SERVICE_ID} HTTP/1.1\r\nHost: x\r\nX-Pad: {'y' * 40}\r\n".encode()
    started = time.monotonic()
    try:
        for byte in request:
            sock.send(bytes([byte]))
            time.sleep(0.2)
    except (BrokenPipeError, ConnectionResetError):
        pass
    read_until_closed(sock)
    assert time.monotonic() - started < 4
