"""Render post16.svg to the PNG, ICO and ICNS files the installers use (run by hand after editing it).

    QT_QPA_PLATFORM=offscreen .venv/bin/python packaging/icons/make_icons.py

ICO and ICNS both accept PNG images inside, so no image library beyond Qt's SVG renderer is needed.
"""

from __future__ import annotations

import struct
from pathlib import Path

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

HERE = Path(__file__).resolve().parent


def render(renderer: QSvgRenderer, size: int) -> bytes:
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter)
    painter.end()
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    return bytes(data.data())


def ico(images: dict[int, bytes]) -> bytes:
    header = struct.pack("<HHH", 0, 1, len(images))
    offset = 6 + 16 * len(images)
    entries, blobs = b"", b""
    for size, png in sorted(images.items()):
        side = 0 if size >= 256 else size  # 0 means 256 in an ICO directory entry
        entries += struct.pack("<BBBBHHII", side, side, 0, 0, 1, 32, len(png), offset + len(blobs))
        blobs += png
    return header + entries + blobs


def icns(images: dict[int, bytes]) -> bytes:
    kinds = {128: b"ic07", 256: b"ic08", 512: b"ic09"}
    body = b"".join(kinds[s] + struct.pack(">I", 8 + len(p)) + p for s, p in sorted(images.items()))
    return b"icns" + struct.pack(">I", 8 + len(body)) + body


def main() -> None:
    _app = QGuiApplication([])
    renderer = QSvgRenderer(str(HERE / "post16.svg"))
    png = {size: render(renderer, size) for size in (16, 32, 48, 128, 256, 512)}
    (HERE / "post16.png").write_bytes(png[256])
    (HERE / "post16.ico").write_bytes(ico({s: png[s] for s in (16, 32, 48, 256)}))
    (HERE / "post16.icns").write_bytes(icns({s: png[s] for s in (128, 256, 512)}))


if __name__ == "__main__":
    main()
