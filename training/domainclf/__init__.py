"""Training, export and evaluation pipeline for semantic-epp's domain classifier.

The pipeline fine-tunes a small pretrained encoder (all-MiniLM-L6-v2) on the
14 MMLU-Pro categories in ../shared/data/domain, exports it to ONNX (fp32 and
int8) in vLLM Semantic Router's model-directory format, checks ONNX Runtime's
logits against PyTorch's and measures accuracy and latency.

Modules that need torch (model, train, export) import it themselves; data,
metrics, baseline, labels, evaluate and encoder work without it.
"""
