"""Docker's multiplexed attach stream: frames are split into stdout and stderr, whatever the chunking."""

import socket
import struct
import threading
import time

from sandbox._engine import AttachedStream


def frame(kind: int, data: bytes) -> bytes:
    return struct.pack(">BxxxL", kind, len(data)) + data


def test_result_line_is_reassembled_from_split_frames() -> None:
    ours, theirs = socket.socketpair()
    stream = AttachedStream(ours)
    data = frame(2, b"warning\n") + frame(1, b'{"status": ') + frame(1, b'"success"}\nextra')

    def send_in_pieces() -> None:
        for index in range(0, len(data), 3):
            theirs.sendall(data[index : index + 3])
            time.sleep(0.001)

    sender = threading.Thread(target=send_in_pieces)
    sender.start()
    assert stream.read_line(time.monotonic() + 5, max_stdout=1024) == "line"
    assert stream.take_line() == b'{"status": "success"}'
    sender.join()
    assert bytes(stream.stderr) == b"warning\n"
    stream.close()
    theirs.close()


def test_closed_stream_reports_eof_and_silence_reports_timeout() -> None:
    ours, theirs = socket.socketpair()
    stream = AttachedStream(ours)
    assert stream.read_line(time.monotonic() + 0.05, max_stdout=1024) == "timeout"
    theirs.close()
    assert stream.read_line(time.monotonic() + 1, max_stdout=1024) == "eof"
    stream.close()


def test_endless_stdout_without_a_newline_is_an_overflow() -> None:
    ours, theirs = socket.socketpair()
    stream = AttachedStream(ours)
    theirs.sendall(frame(1, b"x" * 5000))
    assert stream.read_line(time.monotonic() + 1, max_stdout=1000) == "overflow"
    stream.close()
    theirs.close()
