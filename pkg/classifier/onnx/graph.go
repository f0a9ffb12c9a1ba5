package onnx

import (
	"errors"
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"
)

// graphFacts is what the backend reads from the model's protobuf itself,
// without ONNX Runtime: the rows of the embedding tables the input ids index.
type graphFacts struct {
	// wordRows is the number of rows of the word embedding table indexed by
	// input_ids (0 when it could not be traced).
	wordRows int64
	// positionRows is the number of rows of the position embedding table (0
	// when not found).
	positionRows int64
	// quantized lists the graph's int8 operators (MatMulInteger, QAttention,
	// ...), which ONNX Runtime's CUDA provider runs on the host.
	quantized []string
}

// quantizedOps are the operators of int8 graphs (quantize_dynamic and its
// fusions) that have no CUDA kernel in ONNX Runtime, so a session on CUDA
// copies their tensors to the host and back.
var quantizedOps = map[string]bool{
	"DynamicQuantizeLinear": true, "MatMulInteger": true, "QAttention": true,
	"QEmbedLayerNormalization": true, "DynamicQuantizeMatMul": true, "MatMulIntegerToFloat": true,
	"QLinearMatMul": true, "QGemm": true,
}

type graphNode struct {
	op      string
	inputs  []string
	outputs []string
}

// ONNX protobuf field numbers (onnx.proto3).
const (
	fModelGraph       = 7
	fGraphNode        = 1
	fGraphInitializer = 5
	fNodeInput        = 1
	fNodeOutput       = 2
	fNodeOpType       = 4
	fTensorDims       = 1
	fTensorName       = 8
)

var errNotONNX = errors.New("not an ONNX model")

// readGraphFacts parses the ModelProto in data far enough to trace which
// initializer input_ids index: through Cast/Identity/DequantizeLinear to a
// Gather's data input or the word-embedding input of ONNX Runtime's fused
// EmbedLayerNormalization (or its int8 form QEmbedLayerNormalization).
func readGraphFacts(data []byte, idsInput string) (graphFacts, error) {
	var facts graphFacts
	graph, err := field(data, fModelGraph)
	if err != nil {
		return facts, err
	}
	if graph == nil {
		return facts, fmt.Errorf("%w: no graph", errNotONNX)
	}
	dims := map[string][]int64{}
	producer := map[string]graphNode{}
	var nodes []graphNode
	err = each(graph, func(num protowire.Number, v []byte) error {
		switch num {
		case fGraphNode:
			n, err := parseNode(v)
			if err != nil {
				return err
			}
			nodes = append(nodes, n)
			for _, o := range n.outputs {
				producer[o] = n
			}
		case fGraphInitializer:
			name, d, err := parseTensorHeader(v)
			if err != nil {
				return err
			}
			dims[name] = d
		}
		return nil
	})
	if err != nil {
		return facts, err
	}
	if len(nodes) == 0 {
		return facts, fmt.Errorf("%w: the graph has no nodes", errNotONNX)
	}
	seen := map[string]bool{}
	for _, n := range nodes {
		if quantizedOps[n.op] && !seen[n.op] {
			seen[n.op] = true
			facts.quantized = append(facts.quantized, n.op)
		}
	}
	// Names carrying input_ids unchanged.
	ids := map[string]bool{idsInput: true}
	for changed := true; changed; {
		changed = false
		for _, n := range nodes {
			if (n.op == "Cast" || n.op == "Identity") && len(n.inputs) > 0 && ids[n.inputs[0]] {
				for _, o := range n.outputs {
					if !ids[o] {
						ids[o], changed = true, true
					}
				}
			}
		}
	}
	rows := func(name string) int64 {
		for range 8 { // follow at most a short chain of casts/dequantization
			if d, ok := dims[name]; ok {
				if len(d) == 2 {
					return d[0]
				}
				return 0
			}
			p, ok := producer[name]
			if !ok || len(p.inputs) == 0 || (p.op != "Cast" && p.op != "Identity" && p.op != "DequantizeLinear") {
				return 0
			}
			name = p.inputs[0]
		}
		return 0
	}
	for _, n := range nodes {
		switch {
		case n.op == "Gather" && len(n.inputs) == 2 && ids[n.inputs[1]]:
			facts.wordRows = max(facts.wordRows, rows(n.inputs[0]))
		case (n.op == "EmbedLayerNormalization" || n.op == "QEmbedLayerNormalization") && len(n.inputs) > 3 && ids[n.inputs[0]]:
			facts.wordRows = max(facts.wordRows, rows(n.inputs[2]))
			facts.positionRows = rows(n.inputs[3])
		}
	}
	if facts.positionRows == 0 {
		for name, d := range dims {
			if len(d) == 2 && containsFold(name, "position_embeddings") {
				facts.positionRows = d[0]
			}
		}
	}
	return facts, nil
}

func containsFold(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		match := true
		for j := 0; j < len(sub); j++ {
			a, b := s[i+j], sub[j]
			if 'A' <= a && a <= 'Z' {
				a += 'a' - 'A'
			}
			if a != b {
				match = false
				break
			}
		}
		if match {
			return true
		}
	}
	return false
}

// each calls fn with every length-delimited field of the message b and
// checks the wire format of the others.
func each(b []byte, fn func(protowire.Number, []byte) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return fmt.Errorf("%w: %w", errNotONNX, protowire.ParseError(n))
		}
		b = b[n:]
		if typ == protowire.BytesType {
			v, m := protowire.ConsumeBytes(b)
			if m < 0 {
				return fmt.Errorf("%w: %w", errNotONNX, protowire.ParseError(m))
			}
			if err := fn(num, v); err != nil {
				return err
			}
			b = b[m:]
			continue
		}
		m := protowire.ConsumeFieldValue(num, typ, b)
		if m < 0 {
			return fmt.Errorf("%w: %w", errNotONNX, protowire.ParseError(m))
		}
		b = b[m:]
	}
	return nil
}

// field returns the last length-delimited field num of b, or nil.
func field(b []byte, num protowire.Number) ([]byte, error) {
	var out []byte
	err := each(b, func(n protowire.Number, v []byte) error {
		if n == num {
			out = v
		}
		return nil
	})
	return out, err
}

func parseNode(b []byte) (graphNode, error) {
	var n graphNode
	err := each(b, func(num protowire.Number, v []byte) error {
		switch num {
		case fNodeInput:
			n.inputs = append(n.inputs, string(v))
		case fNodeOutput:
			n.outputs = append(n.outputs, string(v))
		case fNodeOpType:
			n.op = string(v)
		}
		return nil
	})
	return n, err
}

// parseTensorHeader reads a TensorProto's name and dims, skipping its data.
func parseTensorHeader(b []byte) (string, []int64, error) {
	var name string
	var dims []int64
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return "", nil, fmt.Errorf("%w: %w", errNotONNX, protowire.ParseError(n))
		}
		b = b[n:]
		switch {
		case num == fTensorDims && typ == protowire.VarintType:
			v, m := protowire.ConsumeVarint(b)
			if m < 0 {
				return "", nil, fmt.Errorf("%w: %w", errNotONNX, protowire.ParseError(m))
			}
			dims, b = append(dims, int64(v)), b[m:]
		case num == fTensorDims && typ == protowire.BytesType: // packed
			v, m := protowire.ConsumeBytes(b)
			if m < 0 {
				return "", nil, fmt.Errorf("%w: %w", errNotONNX, protowire.ParseError(m))
			}
			for len(v) > 0 {
				d, k := protowire.ConsumeVarint(v)
				if k < 0 {
					return "", nil, fmt.Errorf("%w: %w", errNotONNX, protowire.ParseError(k))
				}
				dims, v = append(dims, int64(d)), v[k:]
			}
			b = b[m:]
		case num == fTensorName && typ == protowire.BytesType:
			v, m := protowire.ConsumeBytes(b)
			if m < 0 {
				return "", nil, fmt.Errorf("%w: %w", errNotONNX, protowire.ParseError(m))
			}
			name, b = string(v), b[m:]
		default:
			m := protowire.ConsumeFieldValue(num, typ, b)
			if m < 0 {
				return "", nil, fmt.Errorf("%w: %w", errNotONNX, protowire.ParseError(m))
			}
			b = b[m:]
		}
	}
	return name, dims, nil
}
