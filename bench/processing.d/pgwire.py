"""A minimal PostgreSQL frontend/backend protocol (v3) client, stdlib only.

Enough for the benchmark: connect over TCP with trust, cleartext, md5 or SCRAM-SHA-256
authentication, run simple queries (text results), LISTEN and receive asynchronous
notifications with the local receive time. One connection per thread.
"""

import base64
import hashlib
import hmac
import os
import select
import socket
import struct
import time


class PgError(Exception):
    pass


class Conn:
    def __init__(self, host, port, user, password, database, timeout=10.0):
        self.sock = socket.create_connection((host, int(port)), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.notifications = []  # (channel, payload, monotonic, wall) as received
        self.user, self.password = user, password
        params = b"user\0" + user.encode() + b"\0database\0" + database.encode() + b"\0" \
            + b"application_name\0rtmon-bench\0\0"
        body = struct.pack("!i", 196608) + params
        self.sock.sendall(struct.pack("!i", len(body) + 4) + body)
        self._auth()
        self.sock.settimeout(None)

    # -- framing

    def _fill(self, n, timeout=None):
        while len(self.buf) < n:
            if timeout is not None:
                r, _, _ = select.select([self.sock], [], [], timeout)
                if not r:
                    return False
            chunk = self.sock.recv(65536)
            if not chunk:
                raise PgError("connection closed by the server")
            self.buf += chunk
        return True

    def _read(self, timeout=None):
        """One backend message (type, payload); None if nothing arrived within timeout."""
        if not self._fill(5, timeout):
            return None
        t = self.buf[:1]
        n = struct.unpack("!i", self.buf[1:5])[0]
        self._fill(1 + n)
        payload = self.buf[5:1 + n]
        self.buf = self.buf[1 + n:]
        return t, payload

    def _send(self, t, payload):
        self.sock.sendall(t + struct.pack("!i", len(payload) + 4) + payload)

    @staticmethod
    def _error_text(payload):
        fields = {}
        for part in payload.split(b"\0"):
            if part:
                fields[part[:1]] = part[1:].decode(errors="replace")
        return "%s: %s" % (fields.get(b"S", "ERROR"), fields.get(b"M", "?"))

    def _note(self, payload):
        pid = struct.unpack("!i", payload[:4])[0]
        rest = payload[4:].split(b"\0")
        self.notifications.append((rest[0].decode(), rest[1].decode(), time.monotonic(),
                                   time.time(), pid))

    # -- startup

    def _auth(self):
        scram = None
        while True:
            t, p = self._read()
            if t == b"E":
                raise PgError(self._error_text(p))
            if t == b"R":
                code = struct.unpack("!i", p[:4])[0]
                if code == 0:
                    continue
                if code == 3:
                    self._send(b"p", self.password.encode() + b"\0")
                elif code == 5:
                    inner = hashlib.md5(self.password.encode() + self.user.encode()).hexdigest()
                    outer = hashlib.md5(inner.encode() + p[4:8]).hexdigest()
                    self._send(b"p", b"md5" + outer.encode() + b"\0")
                elif code == 10:
                    mechs = [m for m in p[4:].split(b"\0") if m]
                    if b"SCRAM-SHA-256" not in mechs:
                        raise PgError("no supported SASL mechanism in %r" % mechs)
                    nonce = base64.b64encode(os.urandom(18)).decode()
                    scram = {"bare": "n=,r=" + nonce, "nonce": nonce}
                    first = ("n,," + scram["bare"]).encode()
                    self._send(b"p", b"SCRAM-SHA-256\0" + struct.pack("!i", len(first)) + first)
                elif code == 11:
                    server_first = p[4:].decode()
                    attrs = dict(kv.split("=", 1) for kv in server_first.split(","))
                    if not attrs["r"].startswith(scram["nonce"]):
                        raise PgError("SCRAM: server nonce does not extend ours")
                    salted = hashlib.pbkdf2_hmac("sha256", self.password.encode(),
                                                 base64.b64decode(attrs["s"]), int(attrs["i"]))
                    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
                    stored = hashlib.sha256(client_key).digest()
                    without_proof = "c=biws,r=" + attrs["r"]
                    auth_msg = ",".join([scram["bare"], server_first, without_proof]).encode()
                    sig = hmac.new(stored, auth_msg, hashlib.sha256).digest()
                    proof = bytes(a ^ b for a, b in zip(client_key, sig))
                    self._send(b"p", (without_proof + ",p=" +
                                      base64.b64encode(proof).decode()).encode())
                elif code == 12:
                    continue  # server signature; not verified (loopback test cluster)
                else:
                    raise PgError("unsupported authentication method %d" % code)
            elif t == b"Z":
                return
            # S (parameter status), K (backend key), N (notice): ignored

    # -- queries

    def query(self, sql):
        """Runs sql (simple query protocol); rows of the last result as lists of str/None."""
        self._send(b"Q", sql.encode() + b"\0")
        rows, err = [], None
        while True:
            t, p = self._read()
            if t == b"D":
                n = struct.unpack("!h", p[:2])[0]
                off, row = 2, []
                for _ in range(n):
                    ln = struct.unpack("!i", p[off:off + 4])[0]
                    off += 4
                    if ln < 0:
                        row.append(None)
                    else:
                        row.append(p[off:off + ln].decode())
                        off += ln
                rows.append(row)
            elif t == b"T":
                rows = []
            elif t == b"E":
                err = self._error_text(p)
            elif t == b"A":
                self._note(p)
            elif t == b"Z":
                if err:
                    raise PgError(err)
                return rows

    def scalar(self, sql):
        rows = self.query(sql)
        return rows[0][0] if rows and rows[0] else None

    def wait_notifications(self, timeout):
        """Blocks up to timeout seconds for asynchronous messages; returns (and clears) the
        notifications received so far, each (channel, payload, monotonic, wall, pid)."""
        deadline = time.monotonic() + timeout
        while not self.notifications:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            m = self._read(timeout=left)
            if m is None:
                break
            t, p = m
            if t == b"A":
                self._note(p)
            elif t == b"E":
                raise PgError(self._error_text(p))
        out, self.notifications = self.notifications, []
        return out

    def close(self):
        try:
            self._send(b"X", b"")
            self.sock.close()
        except OSError:
            pass
