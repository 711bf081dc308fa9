"""Requests that are not valid HTTP/1.1 are answered by uvicorn's HTTP layer, as the docs say."""

from __future__ import annotations

import socket

import pytest

from twitchrules.service import SERVICE_ID

BROKEN_HEADERS = [b"Content-Length: abc\r\n", b"Content-Length: 2\r\nContent-Length: 3\r\n",
                  b"Transfer-Encoding: gzip\r\n"]


def raw_exchange(server, request: bytes) -> bytes:
    """Send ``request`` on a new connection; everything sent back until the server closes it."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(request)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    return received


@pytest.mark.parametrize("header", BROKEN_HEADERS)
def test_unparsable_http_is_a_plain_400_from_the_http_layer(serve, header) -> None:
    """`Content-Length: abc` and the like: 400 text/plain, connection closed, no call audited."""
    server = serve()
    request = (f"POST /cds-services/{SERVICE_ID} HTTP/1.1\r\nHost: x\r\n"
               "Content-Type: application/json\r\n").encode() + header + b"\r\n{}"
    received = raw_exchange(server, request)
    head, _, body = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400")
    assert b"content-type: text/plain" in head.lower()
    assert b"OperationOutcome" not in body and body.count(b"\n") <= 1
    assert not server.audit_log.exists() or b'"call"' not in server.audit_log.read_bytes()
