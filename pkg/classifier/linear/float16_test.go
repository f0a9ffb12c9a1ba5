package linear

import (
	"bytes"
	"encoding/binary"
	"io/fs"
	"math"
	"testing"

	"github.com/x448/float16"

	"github.com/semantic-epp/semantic-epp/models"
)

// halfValue decodes IEEE 754 binary16 bits from the definition, as the
// reference the library's decoding is checked against.
func halfValue(h uint16) float64 {
	sign := 1.0
	if h&0x8000 != 0 {
		sign = -1
	}
	exp, man := int(h>>10)&0x1f, float64(h&0x3ff)
	switch exp {
	case 0x1f:
		if man != 0 {
			return math.NaN()
		}
		return math.Inf(int(sign))
	case 0:
		return sign * math.Ldexp(man, -24)
	default:
		return sign * math.Ldexp(1+man/1024, exp-15)
	}
}

// TestHalfDecodingIsExact checks every one of the 65,536 half values decodes
// to its exact value (so weights.bin loads to the weights it encodes) and
// encodes back to the same bits.
func TestHalfDecodingIsExact(t *testing.T) {
	for h := range uint32(1 << 16) {
		got, want := float16.Frombits(uint16(h)).Float32(), halfValue(uint16(h))
		if math.IsNaN(want) {
			if !math.IsNaN(float64(got)) {
				t.Fatalf("%#04x: NaN decoded to %v", h, got)
			}
			continue
		}
		if float64(got) != want || math.Signbit(float64(got)) != math.Signbit(want) {
			t.Fatalf("%#04x decodes to %v, want %v", h, got, want)
		}
		if back := float16.Fromfloat32(got).Bits(); back != uint16(h) {
			t.Fatalf("%#04x: round trip gives %#04x", h, back)
		}
	}
}

// TestHalfEncodingRounds pins the rounding Train and Save rely on: to
// nearest, ties to even, overflow to infinity, subnormals kept.
func TestHalfEncodingRounds(t *testing.T) {
	for _, tt := range []struct {
		in   float32
		bits uint16
	}{
		{0, 0x0000},
		{1, 0x3c00},
		{-2, 0xc000},
		{65504, 0x7bff},        // largest half
		{65520, 0x7c00},        // halfway to the next binade rounds to +Inf
		{1e6, 0x7c00},          // overflow
		{-1e6, 0xfc00},         // negative overflow
		{1 + 1.0/2048, 0x3c00}, // tie rounds to even (down)
		{1 + 3.0/2048, 0x3c02}, // tie rounds to even (up)
		{0.1, 0x2e66},
		{float32(math.Ldexp(1, -24)), 0x0001},   // smallest subnormal
		{-float32(math.Ldexp(3, -24)), 0x8003},  // negative subnormal
		{float32(math.Ldexp(1, -25)), 0x0000},   // tie between 0 and the smallest subnormal: even
		{float32(math.Ldexp(1.5, -25)), 0x0001}, // above the tie
		{float32(math.Ldexp(1, -26)), 0x0000},   // underflow
	} {
		if got := float16.Fromfloat32(tt.in).Bits(); got != tt.bits {
			t.Errorf("Fromfloat32(%v) = %#04x, want %#04x", tt.in, got, tt.bits)
		}
	}
}

// TestShippedModelLoadsExactly loads models/domain-linear and encodes its
// weights again: the bytes must be weights.bin's, i.e. every stored half
// came back as the float32 it stands for.
func TestShippedModelLoadsExactly(t *testing.T) {
	fsys, err := models.Linear()
	if err != nil {
		t.Fatal(err)
	}
	m, err := Load(fsys)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := fs.ReadFile(fsys, WeightsFile)
	if err != nil {
		t.Fatal(err)
	}
	again := make([]byte, 0, len(raw))
	for b := range m.feat.Buckets() {
		for _, v := range m.row(b) {
			again = binary.LittleEndian.AppendUint16(again, float16.Fromfloat32(v).Bits())
		}
	}
	for _, v := range m.bias {
		again = binary.LittleEndian.AppendUint16(again, float16.Fromfloat32(v).Bits())
	}
	if !bytes.Equal(again, raw) {
		t.Fatal("the loaded weights do not encode back to weights.bin")
	}
	for i := 0; i < len(raw); i += 2 {
		h := binary.LittleEndian.Uint16(raw[i:])
		k, nw := i/2, m.feat.Buckets()*len(m.labels)
		got := m.bias[max(k-nw, 0)]
		if k < nw {
			got = m.row(k / len(m.labels))[k%len(m.labels)]
		}
		if float64(got) != halfValue(h) {
			t.Fatalf("value %d: loaded %v, weights.bin holds %#04x = %v", i/2, got, h, halfValue(h))
		}
	}
}
