"""Sums an ONNX Runtime profile (JSON trace) by operator and by CUDA kernel."""
import collections, json, sys

for path in sys.argv[1:]:
    ev = json.load(open(path))
    by_op, by_kernel, runs = collections.Counter(), collections.Counter(), 0
    for e in ev:
        if e.get("cat") == "Session" and e.get("name") == "model_run":
            runs += 1
        if e.get("cat") != "Node" or not e.get("name", "").endswith("_kernel_time"):
            continue
        a = e.get("args", {})
        by_op[(a.get("op_name"), a.get("provider"))] += e.get("dur", 0)
    for e in ev:
        if e.get("cat") == "Kernel":
            by_kernel[e.get("name", "")[:90]] += e.get("dur", 0)
    tot = sum(by_op.values()) or 1
    print(f"{path}: {runs} runs, node time {tot/1e3:.1f} ms")
    for (op, prov), d in by_op.most_common(25):
        print(f"  {op:28s} {prov:22s} {d/1e3:10.1f} ms {100*d/tot:5.1f}%")
    if by_kernel:
        kt = sum(by_kernel.values())
        print(f"  CUDA kernels {kt/1e3:.1f} ms")
        for k, d in by_kernel.most_common(15):
            print(f"  {d/1e3:10.1f} ms  {k}")
