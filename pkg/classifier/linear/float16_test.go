package linear

import (
	"math"
	"testing"
)

func TestHalf(t *testing.T) {
	tests := []struct {
		in   float32
		bits uint16
		out  float32
	}{
		{0, 0x0000, 0},
		{1, 0x3c00, 1},
		{-2, 0xc000, -2},
		{0.5, 0x3800, 0.5},
		{65504, 0x7bff, 65504},              // largest half
		{1e6, 0x7c00, float32(math.Inf(1))}, // overflow
		{float32(math.Ldexp(1, -24)), 0x0001, float32(math.Ldexp(1, -24))}, // smallest subnormal
		{float32(math.Ldexp(1, -26)), 0x0000, 0},                           // underflow
		{-float32(math.Ldexp(3, -24)), 0x8003, -float32(math.Ldexp(3, -24))},
		{1 + 1.0/2048, 0x3c00, 1},            // tie rounds to even (down)
		{1 + 3.0/2048, 0x3c02, 1 + 2.0/1024}, // tie rounds to even (up)
		{0.1, 0x2e66, 0.099975586},
	}
	for _, tt := range tests {
		if got := toHalf(tt.in); got != tt.bits {
			t.Errorf("toHalf(%v) = %#04x, want %#04x", tt.in, got, tt.bits)
		}
		if got := fromHalf(tt.bits); got != tt.out {
			t.Errorf("fromHalf(%#04x) = %v, want %v", tt.bits, got, tt.out)
		}
	}
	if v := fromHalf(toHalf(float32(math.NaN()))); !math.IsNaN(float64(v)) {
		t.Errorf("NaN became %v", v)
	}
	// Every half value survives a round trip through float32.
	for h := range uint32(1 << 16) {
		f := fromHalf(uint16(h))
		if math.IsNaN(float64(f)) {
			continue
		}
		if got := toHalf(f); got != uint16(h) {
			t.Fatalf("round trip of %#04x: %#04x", h, got)
		}
	}
}
