package linear

import (
	"fmt"
	"math"
	"unicode"

	"github.com/semantic-epp/semantic-epp/pkg/classifier/window"
)

// Features configures the featurizer. It is stored in linear.json, so a model
// is always read back with the featurizer it was trained with.
type Features struct {
	// BucketsLog2 sets the number of hashed feature buckets, 2^BucketsLog2.
	BucketsLog2 int `json:"bucketsLog2"`
	// WordNgrams is 1 for word unigrams, 2 for unigrams and bigrams.
	WordNgrams int `json:"wordNgrams"`
	// CharNgramMin and CharNgramMax bound the character n-grams taken inside
	// each word padded with boundary marks ("<word>"); 0 turns them off.
	CharNgramMin int `json:"charNgramMin"`
	CharNgramMax int `json:"charNgramMax"`
	// CharWeight scales each character n-gram occurrence against a word
	// feature occurrence (1) before the TF transform.
	CharWeight float32 `json:"charWeight"`
	// SublinearTF replaces each feature's summed weight x by ln(1+x).
	SublinearTF bool `json:"sublinearTF"`
	// HeadWords and TailWords bound the input: a text of more than
	// HeadWords+TailWords words is classified on its first HeadWords and last
	// TailWords words, and Result.Truncated is set.
	HeadWords int `json:"headWords"`
	TailWords int `json:"tailWords"`
}

// maxWordRunes splits longer runs of letters (a URL-free base64 blob, a line
// of CJK text without spaces) into pieces of this many runes, which bounds the
// character n-grams a single "word" can produce.
const maxWordRunes = 32

// DefaultFeatures is the featurizer of the shipped model.
func DefaultFeatures() Features {
	return Features{
		BucketsLog2: 18, WordNgrams: 2,
		CharNgramMin: 3, CharNgramMax: 5, CharWeight: 0.25,
		SublinearTF: true,
		HeadWords:   256, TailWords: 256,
	}
}

// Validate reports a featurizer setting out of range.
func (f Features) Validate() error {
	switch {
	case f.BucketsLog2 < 8 || f.BucketsLog2 > 24:
		return fmt.Errorf("bucketsLog2 %d out of range [8, 24]", f.BucketsLog2)
	case f.WordNgrams < 1 || f.WordNgrams > 2:
		return fmt.Errorf("wordNgrams %d must be 1 or 2", f.WordNgrams)
	case f.CharNgramMin < 0 || f.CharNgramMax < f.CharNgramMin || f.CharNgramMax > 8 || (f.CharNgramMin == 0) != (f.CharNgramMax == 0):
		return fmt.Errorf("char n-gram range [%d, %d] invalid: want 1 <= min <= max <= 8, or both 0", f.CharNgramMin, f.CharNgramMax)
	case f.CharNgramMax > 0 && !(f.CharWeight > 0 && f.CharWeight <= 100):
		return fmt.Errorf("charWeight %v must be in (0, 100]", f.CharWeight)
	case f.HeadWords < 0 || f.TailWords < 0 || f.HeadWords+f.TailWords == 0:
		return fmt.Errorf("headWords %d / tailWords %d: both must be >= 0 and their sum > 0", f.HeadWords, f.TailWords)
	}
	return nil
}

// Buckets is the number of hashed feature buckets.
func (f Features) Buckets() int { return 1 << f.BucketsLog2 }

// Feature kinds, mixed into the hash so that the word "ion" and the
// character trigram "ion" land in different buckets.
const (
	kindWord   = 1
	kindBigram = 2
	kindChar   = 3
	// kindLexicon keys the lexicon's words (lexicon.go).
	kindLexicon = 4
	// Boundary marks around a word for character n-grams; no word contains
	// them because control characters separate words.
	markBegin = 0x02
	markEnd   = 0x03
)

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func mix(h uint64, r rune) uint64 { return (h ^ uint64(uint32(r))) * fnvPrime }

// finish spreads the FNV state over all bits (the 64-bit finaliser of
// MurmurHash3) before the bucket mask keeps the low ones.
func finish(h uint64) uint32 {
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return uint32(h)
}

// isWordRune says which runes make up words: letters, digits and combining
// marks (so that words of scripts written with marks stay whole). Everything
// else, including punctuation, control characters and the replacement
// character that stands for invalid UTF-8, separates words.
func isWordRune(r rune) bool {
	if r < 0x80 {
		return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9'
	}
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.In(r, unicode.Mn, unicode.Mc)
}

func lower(r rune) rune {
	if r < 0x80 {
		if 'A' <= r && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}
	return unicode.ToLower(r)
}

type span struct{ start, end int } // byte offsets of a word in the text

// scratch holds one featurization's working memory; models keep them in a
// sync.Pool so a call allocates nothing in the steady state.
type scratch struct {
	win    window.Windower[span]
	spans  []span
	runes  []rune // lowercased kept words, back to back
	bounds []int  // word i is runes[bounds[i]:bounds[i+1]]
	padded []rune
	tab    table
	idx    []uint32
	val    []float32
}

// featurize turns text into a sparse L2-normalised vector (s.idx, s.val) and
// reports whether the text was windowed.
func (f *Features) featurize(text string, s *scratch) (truncated bool) {
	// 1. Find the word spans, keeping the head+tail window.
	s.win.Reset(f.HeadWords, f.TailWords)
	start, n := -1, 0
	for i, r := range text {
		if isWordRune(r) {
			if start < 0 {
				start, n = i, 0
			}
			n++
			if n > maxWordRunes { // split an over-long run
				s.win.Add(span{start, i})
				start, n = i, 1
			}
			continue
		}
		if start >= 0 {
			s.win.Add(span{start, i})
			start = -1
		}
	}
	if start >= 0 {
		s.win.Add(span{start, len(text)})
	}
	s.spans, truncated = s.win.AppendTo(s.spans[:0])
	gap := -1 // no bigram joins the last head word and the first tail word
	if truncated {
		gap = s.win.HeadLen()
	}

	// 2. Lowercase the kept words.
	s.runes, s.bounds = s.runes[:0], append(s.bounds[:0], 0)
	for _, sp := range s.spans {
		for _, r := range text[sp.start:sp.end] {
			s.runes = append(s.runes, lower(r))
		}
		s.bounds = append(s.bounds, len(s.runes))
	}
	nw := len(s.spans)

	// 3. Hash the features into the accumulation table.
	bound := nw * f.WordNgrams
	if f.CharNgramMax > 0 {
		for i := range nw {
			l := s.bounds[i+1] - s.bounds[i] + 2
			for k := f.CharNgramMin; k <= f.CharNgramMax && k <= l; k++ {
				bound += l - k + 1
			}
		}
	}
	s.tab.reset(bound)
	mask := uint32(f.Buckets() - 1)
	for i := range nw {
		w := s.runes[s.bounds[i]:s.bounds[i+1]]
		h := mix(fnvOffset, kindWord)
		for _, r := range w {
			h = mix(h, r)
		}
		s.tab.add(finish(h)&mask, 1)
		if f.WordNgrams >= 2 && i+1 < nw && i+1 != gap {
			h = mix(fnvOffset, kindBigram)
			for _, r := range w {
				h = mix(h, r)
			}
			h = mix(h, ' ')
			for _, r := range s.runes[s.bounds[i+1]:s.bounds[i+2]] {
				h = mix(h, r)
			}
			s.tab.add(finish(h)&mask, 1)
		}
		if f.CharNgramMax > 0 {
			// All n-grams starting at j share a prefix: hash it once and
			// emit each length from min to max on the way.
			s.padded = append(append(append(s.padded[:0], markBegin), w...), markEnd)
			for j := range s.padded {
				h = mix(fnvOffset, kindChar)
				for k, r := range s.padded[j:min(j+f.CharNgramMax, len(s.padded))] {
					h = mix(h, r)
					if k+1 >= f.CharNgramMin {
						s.tab.add(finish(h)&mask, f.CharWeight)
					}
				}
			}
		}
	}

	// 4. TF transform and L2 normalisation.
	s.idx, s.val = s.idx[:0], s.val[:0]
	var norm float64
	// Most features occur once: skip the logarithm for those two values.
	ln1, lnChar := float32(math.Ln2), float32(math.Log1p(float64(f.CharWeight)))
	for _, slot := range s.tab.used {
		v := s.tab.vals[slot]
		if f.SublinearTF {
			switch v {
			case 1:
				v = ln1
			case f.CharWeight:
				v = lnChar
			default:
				v = float32(math.Log1p(float64(v)))
			}
		}
		s.idx = append(s.idx, s.tab.keys[slot]-1)
		s.val = append(s.val, v)
		norm += float64(v) * float64(v)
	}
	if norm > 0 {
		inv := float32(1 / math.Sqrt(norm))
		for i := range s.val {
			s.val[i] *= inv
		}
	}
	return truncated
}

// table is an open-addressing map from bucket to summed weight, sized per
// text and emptied in time proportional to what was used.
type table struct {
	keys []uint32 // bucket+1; 0 = empty
	vals []float32
	used []int32 // occupied slots in insertion order
	mask uint32
}

func (t *table) reset(n int) {
	for _, s := range t.used {
		t.keys[s] = 0
	}
	t.used = t.used[:0]
	size := 16
	for size < 2*n {
		size <<= 1
	}
	if size > len(t.keys) {
		t.keys = make([]uint32, size)
		t.vals = make([]float32, size)
	}
	t.mask = uint32(size - 1)
}

func (t *table) add(bucket uint32, w float32) {
	key := bucket + 1
	for i := (bucket * 0x9e3779b1) & t.mask; ; i = (i + 1) & t.mask {
		switch t.keys[i] {
		case key:
			t.vals[i] += w
			return
		case 0:
			t.keys[i], t.vals[i] = key, w
			t.used = append(t.used, int32(i))
			return
		}
	}
}
