"""Zeroes the CUDA fatbin payloads of every architecture but one in a shared
library, so that it compresses small enough to carry to a GPU machine.

    python3 trim_fatbin.py SRC DST [SM]   (SM default 90: H100/H200)

The CUDA runtime loads the image for the device's architecture, whose bytes
stay as they were; the file is for benchmark transfers only, never shipped.
"""
import struct
import subprocess
import sys

FATBIN_MAGIC = 0xBA55ED50


def section(path, name):
    out = subprocess.run(["readelf", "-SW", path], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        parts = line.replace("[ ", "[").split()
        if name in parts:
            i = parts.index(name)
            return int(parts[i + 3], 16), int(parts[i + 4], 16)
    raise SystemExit(f"{path}: no {name} section")


def main():
    src, dst = sys.argv[1], sys.argv[2]
    keep = int(sys.argv[3]) if len(sys.argv) > 3 else 90
    off, size = section(src, ".nv_fatbin")
    data = bytearray(open(src, "rb").read())
    p, end, kept, zeroed = off, off + size, 0, 0
    while p < end - 16:
        magic, _, hsz, fsz = struct.unpack_from("<IHHQ", data, p)
        if magic != FATBIN_MAGIC:
            p += 8
            continue
        q, stop = p + hsz, p + hsz + fsz
        while q < stop:
            _, _, ehsz, psz = struct.unpack_from("<HHIQ", data, q)
            arch, = struct.unpack_from("<I", data, q + 28)
            if arch == keep:
                kept += psz
            else:
                data[q + ehsz:q + ehsz + psz] = bytes(psz)
                zeroed += psz
            q += ehsz + psz
        p = stop
    if kept == 0:
        raise SystemExit(f"no sm_{keep} code in {src}")
    open(dst, "wb").write(data)
    print(f"sm_{keep}: kept {kept} bytes, zeroed {zeroed}")


if __name__ == "__main__":
    main()
