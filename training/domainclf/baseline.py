"""TF-IDF (word 1-2 grams) + linear SVM baseline on the same split, with latency.

    python -m domainclf.baseline [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from . import data, metrics


def run(directory=None, iters: int = 500) -> dict:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import make_pipeline
    from sklearn.svm import LinearSVC

    train = data.load_split("train", directory)
    dev = data.load_split("dev", directory)
    clf = make_pipeline(TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1), LinearSVC(C=1.0))
    clf.fit(train.texts, train.labels)
    res = metrics.scores(dev.labels, clf.predict(dev.texts), data.LABELS)
    times = []
    for i in range(iters):
        t = time.perf_counter()
        clf.predict([dev.texts[i % len(dev)]])
        times.append((time.perf_counter() - t) * 1e3)
    res["latency"] = {"what": "batch 1, one dev question, scikit-learn", "p50_ms": round(float(np.median(times)), 3)}
    return res


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--data", default=None)
    p.add_argument("--json", default=None)
    args = p.parse_args(argv)
    try:
        res = run(args.data)
    except data.DataError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"tfidf+linear-svm: accuracy {res['accuracy']:.4f} macro-F1 {res['macro_f1']:.4f} "
          f"p50 {res['latency']['p50_ms']} ms", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
