"""Loading and validation of the domain data set (JSON lines).

Every row must be a JSON object with a non-empty "text" and a "label" from
the known label set. Bad rows are never used silently: load_jsonl returns
them counted by reason, and strict callers refuse the file.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

# The 14 MMLU-Pro categories, in score order (index = class id).
LABELS: tuple[str, ...] = (
    "biology",
    "business",
    "chemistry",
    "computer science",
    "economics",
    "engineering",
    "health",
    "history",
    "law",
    "math",
    "other",
    "philosophy",
    "physics",
    "psychology",
)

# Relative to the repository root, per shared/data/README.md.
DEFAULT_DATA_DIR = Path("..") / "shared" / "data" / "domain"


class DataError(Exception):
    """The data set is missing or (in strict mode) has bad rows."""


@dataclass
class Dataset:
    """Validated examples plus a count of every row that was left out."""

    texts: list[str] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)
    # the optional "source" field of each kept row ("" when absent)
    sources: list[str] = field(default_factory=list)
    # reason -> number of rows dropped for it
    dropped: Counter = field(default_factory=Counter)
    # unknown label -> count, for the report
    unknown_labels: Counter = field(default_factory=Counter)

    def __len__(self) -> int:
        return len(self.texts)

    def report(self) -> str:
        """One line: kept rows and every dropped reason with its count."""
        parts = [f"{len(self)} rows kept"]
        for reason, n in sorted(self.dropped.items()):
            parts.append(f"{n} dropped ({reason})")
        if self.unknown_labels:
            top = ", ".join(f"{k!r}×{v}" for k, v in self.unknown_labels.most_common(5))
            parts.append(f"unknown labels: {top}")
        return "; ".join(parts)


def data_dir(repo_root: str | os.PathLike | None = None) -> Path:
    """Returns the domain data folder, or raises DataError saying where it was looked for.

    DOMAIN_DATA_DIR overrides the default ../shared/data/domain (relative to the
    repository root).
    """
    env = os.environ.get("DOMAIN_DATA_DIR")
    if env:
        d = Path(env)
    else:
        root = Path(repo_root) if repo_root else Path(__file__).resolve().parents[2]
        d = root / DEFAULT_DATA_DIR
    if not (d / "train.jsonl").is_file() or not (d / "dev.jsonl").is_file():
        raise DataError(
            f"domain data not found: expected train.jsonl and dev.jsonl in {d.resolve()} "
            "(the shared data folder ../shared/data/domain beside the repository, "
            "or set DOMAIN_DATA_DIR)"
        )
    return d


def load_jsonl(path: str | os.PathLike, labels=LABELS, strict: bool = False) -> Dataset:
    """Reads and validates one JSON-lines file.

    Rows that are empty, not JSON, not an object, lack text or label, carry an
    unknown label or repeat an earlier (text, label) row are dropped and
    counted. A text seen earlier with a different label is a conflict: both
    labels cannot be right, so the later row is dropped and counted apart.
    With strict=True any dropped row raises DataError with the report.
    """
    index = {name: i for i, name in enumerate(labels)}
    ds = Dataset()
    seen: dict[str, int] = {}
    try:
        fh = open(path, encoding="utf-8")
    except OSError as err:
        raise DataError(f"cannot read {path}: {err}") from err
    with fh:
        for raw in fh:
            line = raw.strip()
            if not line:
                ds.dropped["empty line"] += 1
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                ds.dropped["invalid JSON"] += 1
                continue
            if not isinstance(row, dict):
                ds.dropped["not a JSON object"] += 1
                continue
            text, label = row.get("text"), row.get("label")
            if not isinstance(text, str) or not text.strip():
                ds.dropped["missing or empty text"] += 1
                continue
            if not isinstance(label, str):
                ds.dropped["missing label"] += 1
                continue
            if label not in index:
                ds.dropped["unknown label"] += 1
                ds.unknown_labels[label] += 1
                continue
            key = " ".join(text.split()).lower()
            if key in seen:
                if seen[key] == index[label]:
                    ds.dropped["duplicate row"] += 1
                else:
                    ds.dropped["same text, conflicting label"] += 1
                continue
            seen[key] = index[label]
            ds.texts.append(text)
            ds.labels.append(index[label])
            src = row.get("source")
            ds.sources.append(src if isinstance(src, str) else "")
    if strict and ds.dropped:
        raise DataError(f"{path}: {ds.report()}")
    return ds


def load_split(name: str, directory: str | os.PathLike | None = None, strict: bool = False) -> Dataset:
    """Loads train or dev from the domain data folder and prints its report."""
    d = Path(directory) if directory else data_dir()
    ds = load_jsonl(d / f"{name}.jsonl", strict=strict)
    print(f"data {name}: {ds.report()}", flush=True)
    return ds
