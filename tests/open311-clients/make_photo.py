#!/usr/bin/env python3
"""Write a tiny, valid baseline JPEG (8x8 mid-grey, 1 component) with the
standard library only. Usage: make_photo.py OUT.jpg

The image is one 8x8 block whose DC difference is 0 and whose AC
coefficients are all zero (EOB). The Huffman tables each hold a single
1-bit code ('0'): category 0 for DC, EOB for AC, so the entropy-coded
segment is the two bits '00' padded with 1-bits: 0x3F.
"""
import struct
import sys


def segment(marker: int, payload: bytes) -> bytes:
    return struct.pack(">HH", 0xFF00 | marker, len(payload) + 2) + payload


def tiny_jpeg() -> bytes:
    app0 = segment(0xE0, b"JFIF\x00" + bytes([1, 1, 0]) + struct.pack(">HH", 1, 1) + bytes([0, 0]))
    dqt = segment(0xDB, bytes([0x00]) + bytes([1] * 64))
    sof0 = segment(0xC0, bytes([8]) + struct.pack(">HH", 8, 8) + bytes([1, 1, 0x11, 0]))
    counts = bytes([1] + [0] * 15)
    dht_dc = segment(0xC4, bytes([0x00]) + counts + bytes([0x00]))
    dht_ac = segment(0xC4, bytes([0x10]) + counts + bytes([0x00]))
    sos = segment(0xDA, bytes([1, 1, 0x00, 0, 63, 0]))
    return b"\xff\xd8" + app0 + dqt + sof0 + dht_dc + dht_ac + sos + b"\x3f" + b"\xff\xd9"


def main() -> int:
    if len(sys.argv) != 2:
        print("usage: make_photo.py OUT.jpg", file=sys.stderr)
        return 2
    with open(sys.argv[1], "wb") as f:
        f.write(tiny_jpeg())
    return 0


if __name__ == "__main__":
    sys.exit(main())
