"""Two Kafka requests over the wire protocol, stdlib only: a consumer group's committed offsets
(OffsetFetch v1) and the end offsets of partitions (ListOffsets v1, timestamp -1). Enough to
follow a consumer group's lag every 100-200 ms without starting a JVM
(kafka-consumer-groups.sh) for each look. Single-node broker: the group coordinator and the
partition leaders are the broker we connect to.
"""

import socket
import struct

OFFSET_FETCH, LIST_OFFSETS = 9, 2


def _str(s):
    b = s.encode()
    return struct.pack("!h", len(b)) + b


class _Reader:
    def __init__(self, data):
        self.d, self.o = data, 0

    def take(self, fmt):
        v = struct.unpack_from(fmt, self.d, self.o)
        self.o += struct.calcsize(fmt)
        return v[0] if len(v) == 1 else v

    def string(self):
        n = self.take("!h")
        if n < 0:
            return None
        s = self.d[self.o:self.o + n].decode()
        self.o += n
        return s


class Client:
    def __init__(self, broker, timeout=5.0):
        host, port = broker.rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=timeout)
        self.corr = 0

    def _call(self, api_key, version, body):
        self.corr += 1
        msg = struct.pack("!hhi", api_key, version, self.corr) + _str("rtmon-bench") + body
        self.sock.sendall(struct.pack("!i", len(msg)) + msg)
        n = struct.unpack("!i", self._exact(4))[0]
        data = self._exact(n)
        r = _Reader(data)
        if r.take("!i") != self.corr:
            raise IOError("kafka: correlation id mismatch")
        return r

    def _exact(self, n):
        out = b""
        while len(out) < n:
            chunk = self.sock.recv(n - len(out))
            if not chunk:
                raise IOError("kafka: connection closed")
            out += chunk
        return out

    @staticmethod
    def _topics(topics):
        return struct.pack("!i", len(topics)), sorted(topics.items())

    def committed(self, group, topics):
        """{(topic, partition): committed offset (-1: none)} for topics = {topic: [partitions]}."""
        head, items = self._topics(topics)
        body = _str(group) + head
        for t, parts in items:
            body += _str(t) + struct.pack("!i", len(parts)) + b"".join(
                struct.pack("!i", p) for p in parts)
        r = self._call(OFFSET_FETCH, 1, body)
        out = {}
        for _ in range(r.take("!i")):
            t = r.string()
            for _ in range(r.take("!i")):
                p, off = r.take("!iq")
                r.string()  # metadata
                err = r.take("!h")
                out[(t, p)] = off if err == 0 else -1
        return out

    def end_offsets(self, topics):
        """{(topic, partition): high watermark} for topics = {topic: [partitions]}."""
        head, items = self._topics(topics)
        body = struct.pack("!i", -1) + head
        for t, parts in items:
            body += _str(t) + struct.pack("!i", len(parts)) + b"".join(
                struct.pack("!iq", p, -1) for p in parts)
        r = self._call(LIST_OFFSETS, 1, body)
        out = {}
        for _ in range(r.take("!i")):
            t = r.string()
            for _ in range(r.take("!i")):
                p, err, _ts, off = r.take("!ihqq")
                out[(t, p)] = off if err == 0 else -1
        return out

    def lag(self, group, topics):
        """(total lag, committed sum, end sum); a partition without a commit counts from 0."""
        end = self.end_offsets(topics)
        com = self.committed(group, topics)
        lag = sum(max(0, e - max(com.get(k, -1), 0)) for k, e in end.items())
        return lag, sum(max(v, 0) for v in com.values()), sum(end.values())

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass
