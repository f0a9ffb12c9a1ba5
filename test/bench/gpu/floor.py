"""The floor for the GPU targets of issue 15: the default's architecture (3-layer MiniLM, hidden 384,
12 heads, FFN 1536, 128 tokens) in PyTorch fp16 with its fused attention (SDPA), timed with CUDA
events, eagerly and as a replayed CUDA graph. Random weights: only the time matters here. It says
how far the ONNX Runtime path (BenchmarkRun) is from what the chip does with the same work.

    python3 floor.py   (on the device; its python3 has torch and transformers)
"""
import json
import sys

import torch
from transformers import BertConfig, BertModel


def timed(fn, reps):
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    times = []
    for _ in range(reps):
        start.record()
        fn()
        end.record()
        torch.cuda.synchronize()
        times.append(start.elapsed_time(end))
    times.sort()
    return times[len(times) // 2]


def main():
    torch.manual_seed(0)
    cfg = BertConfig(num_hidden_layers=3, hidden_size=384, num_attention_heads=12, intermediate_size=1536,
                     vocab_size=30522, max_position_embeddings=512, attn_implementation="sdpa")
    model = BertModel(cfg).half().cuda().eval()
    head = torch.nn.Linear(384, 14).half().cuda()
    out = {}
    for batch in (1, 64, 512, 1024):
        ids = torch.randint(1000, 30000, (batch, 128), device="cuda")
        mask = torch.ones_like(ids)

        def step():
            h = model(input_ids=ids, attention_mask=mask).last_hidden_state
            return head(h.mean(dim=1))

        with torch.inference_mode():
            for _ in range(10):
                step()
            torch.cuda.synchronize()
            eager = timed(step, 50)
            g = torch.cuda.CUDAGraph()
            s = torch.cuda.Stream()
            s.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(s):
                for _ in range(3):
                    step()
            torch.cuda.current_stream().wait_stream(s)
            with torch.cuda.graph(g):
                step()
            graph = timed(g.replay, 50)
        out[batch] = {"eager_ms": round(eager, 4), "graph_ms": round(graph, 4),
                      "graph_texts_per_s": round(batch / graph * 1e3)}
        print(f"floor batch={batch}: eager {eager:.3f} ms, CUDA graph {graph:.3f} ms, "
              f"{batch / graph * 1e3:,.0f} texts/s", flush=True)
    json.dump(out, sys.stdout if len(sys.argv) < 2 else open(sys.argv[1], "w"), indent=1)


if __name__ == "__main__":
    main()
