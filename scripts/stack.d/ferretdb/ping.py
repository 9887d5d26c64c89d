"""Readiness check of the stack's MongoDB-wire server with Python's standard library only: one
OP_MSG `ping` over a socket, so `scripts/stack up` needs no pymongo (nor the project's venv).

    python3 scripts/stack.d/ferretdb/ping.py HOST PORT [TIMEOUT_SECONDS]

Exits 0 when the server replies `ok: 1`, 1 otherwise (the reason on stderr).
"""
import socket
import struct
import sys

OP_MSG = 2013
HEADER = struct.Struct("<iiii")  # messageLength, requestID, responseTo, opCode


def bson_ping():
    """The BSON document {ping: 1, $db: "admin"}."""
    body = b"\x10ping\x00" + struct.pack("<i", 1) + b"\x02$db\x00" + struct.pack("<i", 6) + b"admin\x00"
    return struct.pack("<i", len(body) + 5) + body + b"\x00"


def op_msg(request_id, document):
    payload = struct.pack("<I", 0) + b"\x00" + document  # flagBits, section kind 0 (body)
    return HEADER.pack(HEADER.size + len(payload), request_id, 0, OP_MSG) + payload


# size of a fixed-width BSON element value, by type byte
FIXED = {0x01: 8, 0x07: 12, 0x08: 1, 0x09: 8, 0x0A: 0, 0x10: 4, 0x11: 8, 0x12: 8, 0x13: 16, 0x7F: 0, 0xFF: 0}


def top_level_ok(document):
    """The numeric value of the top-level `ok` field of a BSON document, or None."""
    position, end = 4, struct.unpack_from("<i", document)[0] - 1
    while position < end:
        kind = document[position]
        name_end = document.index(b"\x00", position + 1)
        name = document[position + 1:name_end]
        position = name_end + 1
        if name == b"ok":
            if kind == 0x01:
                return struct.unpack_from("<d", document, position)[0]
            if kind == 0x10:
                return struct.unpack_from("<i", document, position)[0]
            if kind == 0x12:
                return struct.unpack_from("<q", document, position)[0]
            if kind == 0x08:
                return document[position]
            return None
        if kind in FIXED:
            position += FIXED[kind]
        elif kind in (0x02, 0x0D, 0x0E):  # string, JavaScript code, symbol: int32 length + bytes
            position += 4 + struct.unpack_from("<i", document, position)[0]
        elif kind in (0x03, 0x04):  # document, array: their own int32 length
            position += struct.unpack_from("<i", document, position)[0]
        elif kind == 0x05:  # binary: int32 length, subtype byte, bytes
            position += 5 + struct.unpack_from("<i", document, position)[0]
        else:
            return None
    return None


def receive(connection, size):
    chunks = b""
    while len(chunks) < size:
        chunk = connection.recv(size - len(chunks))
        if not chunk:
            raise ConnectionError("server closed the connection after %d of %d bytes" % (len(chunks), size))
        chunks += chunk
    return chunks


def ping(host, port, timeout):
    """True when the server at host:port answers a `ping` with ok: 1."""
    with socket.create_connection((host, port), timeout=timeout) as connection:
        connection.sendall(op_msg(1, bson_ping()))
        length, _request_id, response_to, opcode = HEADER.unpack(receive(connection, HEADER.size))
        reply = receive(connection, length - HEADER.size)
    if opcode != OP_MSG or response_to != 1 or reply[4] != 0:
        raise ValueError("unexpected reply: opCode %r, responseTo %r" % (opcode, response_to))
    return top_level_ok(reply[5:]) == 1


def main(argv):
    if len(argv) not in (3, 4):
        print("usage: ping.py HOST PORT [TIMEOUT_SECONDS]", file=sys.stderr)
        return 2
    try:
        answered = ping(argv[1], int(argv[2]), float(argv[3]) if len(argv) == 4 else 2.0)
    except (OSError, ValueError, struct.error) as error:
        print("ping %s:%s: %s" % (argv[1], argv[2], error), file=sys.stderr)
        return 1
    if not answered:
        print("ping %s:%s: the reply has no ok: 1" % (argv[1], argv[2]), file=sys.stderr)
    return 0 if answered else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
