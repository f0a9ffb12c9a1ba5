"""Sums Nsight Compute's CSV (--csv --metrics gpu__time_duration.sum) by kernel name."""
import collections
import csv
import sys

rows = [r for r in csv.reader(open(sys.argv[1])) if len(r) > 10]
head = rows[0]
name_i, val_i, unit_i = head.index("Kernel Name"), head.index("Metric Value"), head.index("Metric Unit")
total, count = collections.Counter(), collections.Counter()
scale = {"nsecond": 1e-3, "ns": 1e-3, "usecond": 1.0, "us": 1.0, "msecond": 1e3, "ms": 1e3, "second": 1e6, "s": 1e6}
for r in rows[1:]:
    if r[unit_i] not in scale:
        sys.exit(f"unknown unit {r[unit_i]!r}")
    us = float(r[val_i].replace(",", "")) * scale[r[unit_i]]
    k = r[name_i][:100]
    total[k] += us
    count[k] += 1
t = sum(total.values())
print(f"{sum(count.values())} kernels, {t / 1e3:.2f} ms GPU time")
for k, us in total.most_common(30):
    print(f"{us / 1e3:9.3f} ms {100 * us / t:5.1f}% x{count[k]:<5d} {k}")
