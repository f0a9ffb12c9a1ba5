package onnx

import (
	"errors"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

type testNode struct {
	op      string
	inputs  []string
	outputs []string
}

type testInit struct {
	name string
	dims []int64
}

// modelBytes encodes a minimal ModelProto: a graph of nodes and
// initializers (names and dims only), enough for readGraphFacts.
func modelBytes(nodes []testNode, inits []testInit) []byte {
	var g []byte
	for _, n := range nodes {
		var nb []byte
		for _, in := range n.inputs {
			nb = protowire.AppendTag(nb, fNodeInput, protowire.BytesType)
			nb = protowire.AppendString(nb, in)
		}
		for _, out := range n.outputs {
			nb = protowire.AppendTag(nb, fNodeOutput, protowire.BytesType)
			nb = protowire.AppendString(nb, out)
		}
		nb = protowire.AppendTag(nb, fNodeOpType, protowire.BytesType)
		nb = protowire.AppendString(nb, n.op)
		g = protowire.AppendTag(g, fGraphNode, protowire.BytesType)
		g = protowire.AppendBytes(g, nb)
	}
	for i, in := range inits {
		var tb []byte
		if i%2 == 0 { // packed dims
			var packed []byte
			for _, d := range in.dims {
				packed = protowire.AppendVarint(packed, uint64(d))
			}
			tb = protowire.AppendTag(tb, fTensorDims, protowire.BytesType)
			tb = protowire.AppendBytes(tb, packed)
		} else {
			for _, d := range in.dims {
				tb = protowire.AppendTag(tb, fTensorDims, protowire.VarintType)
				tb = protowire.AppendVarint(tb, uint64(d))
			}
		}
		tb = protowire.AppendTag(tb, fTensorName, protowire.BytesType)
		tb = protowire.AppendString(tb, in.name)
		tb = protowire.AppendTag(tb, 9, protowire.BytesType) // raw_data, skipped
		tb = protowire.AppendBytes(tb, make([]byte, 16))
		g = protowire.AppendTag(g, fGraphInitializer, protowire.BytesType)
		g = protowire.AppendBytes(g, tb)
	}
	var m []byte
	m = protowire.AppendTag(m, 1, protowire.VarintType) // ir_version
	m = protowire.AppendVarint(m, 8)
	m = protowire.AppendTag(m, fModelGraph, protowire.BytesType)
	return protowire.AppendBytes(m, g)
}

func TestReadGraphFacts(t *testing.T) {
	tests := []struct {
		name           string
		nodes          []testNode
		inits          []testInit
		words, posRows int64
	}{
		{
			name:  "gather",
			nodes: []testNode{{"Gather", []string{"word", "input_ids"}, []string{"e"}}},
			inits: []testInit{{"word", []int64{100, 8}}, {"bert.embeddings.position_embeddings.weight", []int64{64, 8}}},
			words: 100, posRows: 64,
		},
		{
			name: "cast and dequantized table",
			nodes: []testNode{
				{"Cast", []string{"input_ids"}, []string{"ids32"}},
				{"DequantizeLinear", []string{"wq", "scale", "zp"}, []string{"wf"}},
				{"Gather", []string{"wf", "ids32"}, []string{"e"}},
			},
			inits: []testInit{{"wq", []int64{200, 8}}, {"scale", []int64{}}},
			words: 200,
		},
		{
			name:  "fused EmbedLayerNormalization",
			nodes: []testNode{{"EmbedLayerNormalization", []string{"input_ids", "token_type_ids", "w", "p", "s", "g", "b"}, []string{"e"}}},
			inits: []testInit{{"w", []int64{300, 8}}, {"p", []int64{128, 8}}, {"s", []int64{2, 8}}},
			words: 300, posRows: 128,
		},
		{
			name:  "int8 QEmbedLayerNormalization",
			nodes: []testNode{{"QEmbedLayerNormalization", []string{"input_ids", "token_type_ids", "wq", "pq", "s"}, []string{"e"}}},
			inits: []testInit{{"wq", []int64{400, 8}}, {"pq", []int64{256, 8}}},
			words: 400, posRows: 256,
		},
		{
			name:  "table not traceable",
			nodes: []testNode{{"Gather", []string{"computed", "input_ids"}, []string{"e"}}, {"Relu", []string{"x"}, []string{"computed"}}},
			words: 0,
		},
		{
			name:  "other gathers ignored",
			nodes: []testNode{{"Gather", []string{"word", "other_ids"}, []string{"e"}}},
			inits: []testInit{{"word", []int64{100, 8}}},
			words: 0,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := readGraphFacts(modelBytes(tt.nodes, tt.inits), InputIDs)
			if err != nil {
				t.Fatal(err)
			}
			if f.wordRows != tt.words || f.positionRows != tt.posRows {
				t.Fatalf("facts %+v, want words %d positions %d", f, tt.words, tt.posRows)
			}
		})
	}
}

func TestReadGraphFactsRejects(t *testing.T) {
	tests := []struct {
		name string
		data []byte
	}{
		{name: "text", data: []byte("this is not a model\n")},
		{name: "empty", data: nil},
		{name: "graph without nodes", data: modelBytes(nil, []testInit{{"w", []int64{1, 1}}})},
		{name: "truncated", data: modelBytes([]testNode{{"Gather", []string{"w", "input_ids"}, []string{"e"}}}, nil)[:9]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := readGraphFacts(tt.data, InputIDs); !errors.Is(err, errNotONNX) {
				t.Fatalf("err = %v, want errNotONNX", err)
			}
		})
	}
}
