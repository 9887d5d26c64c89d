"""The stack's MongoDB readiness check (scripts/stack.d/ferretdb/ping.py), which uses only Python's
standard library: its OP_MSG against pymongo's BSON codec, its reply parsing against a fake server."""
import importlib.util
import os
import socket
import struct
import threading

import bson
import pytest

PING_PY = os.path.join(os.path.dirname(__file__), "..", "..", "scripts", "stack.d", "ferretdb", "ping.py")


def load_ping():
    spec = importlib.util.spec_from_file_location("stack_ping", PING_PY)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


ping = load_ping()


def test_the_request_is_a_ping_to_admin_in_an_op_msg():
    message = ping.op_msg(7, ping.bson_ping())
    length, request_id, response_to, opcode = struct.unpack_from("<iiii", message)
    assert (length, request_id, response_to, opcode) == (len(message), 7, 0, 2013)
    assert message[16:21] == b"\x00\x00\x00\x00\x00"  # flagBits 0, then a kind-0 section
    assert bson.decode(message[21:]) == {"ping": 1, "$db": "admin"}


@pytest.mark.parametrize("reply, ok", [
    ({"ok": 1.0}, 1.0),
    ({"ok": 1}, 1),
    ({"ok": bson.Int64(1)}, 1),
    ({"ok": True}, 1),
    ({"ok": 0.0, "errmsg": "no"}, 0.0),
    ({"errmsg": "x", "code": 13, "ok": 0}, 0),
    ({"s": "text", "d": {"a": [1, 2]}, "b": b"\x00\x01", "oid": bson.ObjectId(), "n": None, "l": bson.Int64(2),
      "f": 2.5, "t": True, "ok": 1.0}, 1.0),
    ({"no_ok": 1}, None),
    ({"ok": "1"}, None),  # not a number: not ok
])
def test_top_level_ok(reply, ok):
    assert ping.top_level_ok(bson.encode(reply)) == ok


def fake_server(reply_bytes):
    """A one-shot server on a free port that reads one message and answers reply_bytes."""
    listener = socket.create_server(("127.0.0.1", 0))

    def serve():
        connection, _ = listener.accept()
        with connection:
            header = connection.recv(16)
            length = struct.unpack_from("<i", header)[0]
            remaining = length - len(header)
            while remaining > 0:
                remaining -= len(connection.recv(remaining))
            connection.sendall(reply_bytes)
        listener.close()

    threading.Thread(target=serve, daemon=True).start()
    return listener.getsockname()[1]


def op_msg_reply(document, response_to=1, opcode=2013):
    payload = b"\x00\x00\x00\x00\x00" + bson.encode(document)
    return struct.pack("<iiii", 16 + len(payload), 99, response_to, opcode) + payload


@pytest.mark.parametrize("reply, code", [
    (op_msg_reply({"ok": 1.0}), 0),
    (op_msg_reply({"ok": 0.0, "errmsg": "starting"}), 1),
    (op_msg_reply({"ok": 1.0}, response_to=5), 1),
    (op_msg_reply({"ok": 1.0}, opcode=1), 1),
    (op_msg_reply({"ok": 1.0})[:20], 1),  # the server hangs up mid-reply
    (b"", 1),
])
def test_main_against_a_fake_server(reply, code):
    port = fake_server(reply)
    assert ping.main(["ping.py", "127.0.0.1", str(port), "5"]) == code


def test_main_when_nothing_listens():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # bound, not listening: connections are refused
        assert ping.main(["ping.py", "127.0.0.1", str(port), "1"]) == 1


def test_main_usage():
    assert ping.main(["ping.py"]) == 2
