package classify

import (
	"math"
	"strings"
)

// featureSpec is the feature settings a model was trained with. The code
// below implements exactly one spec per featureVersion; a model whose spec
// differs is refused.
type featureSpec struct {
	Version   int    `json:"version"`
	Buckets   int    `json:"buckets"`    // hash buckets, a power of two
	Words     string `json:"words"`      // "unigrams+bigrams"
	Head      int    `json:"head_lines"` // first lines featured in their own namespace
	CharMin   int    `json:"char_min"`
	CharMax   int    `json:"char_max"`
	TF        string `json:"tf"`        // "log": 1+ln(count)
	Normalise string `json:"normalise"` // "lower,digits=0,l2"
	Hash      string `json:"hash"`      // "fnv1a-64"
	// Structure names the layout features (structure.go): section
	// headings and letter marks, a block of their own, L2-normalised and
	// scaled by StructureWeight before the whole vector is normalised.
	Structure       string  `json:"structure"` // "headings+letter"
	StructureWeight float64 `json:"structure_weight"`
}

const featureVersion = 2

// DefaultStructureWeight is the weight of the layout block against the
// words and character n-grams (whose block has norm 1).
const DefaultStructureWeight = 0.6

func newSpec(buckets int, structureWeight float64) featureSpec {
	return featureSpec{Version: featureVersion, Buckets: buckets, Words: "unigrams+bigrams", Head: 15,
		CharMin: 3, CharMax: 5, TF: "log", Normalise: "lower,digits=0,l2", Hash: "fnv1a-64",
		Structure: "headings+letter", StructureWeight: structureWeight}
}

// sparse is a feature vector: bucket indices and values.
type sparse struct {
	idx []uint32
	val []float32
}

// featurizer turns text into sparse vectors; it keeps scratch space and is
// used by one goroutine.
type featurizer struct {
	spec    featureSpec
	mask    uint64
	counts  []float32
	touched []uint32
}

func newFeaturizer(spec featureSpec) *featurizer {
	return &featurizer{spec: spec, mask: uint64(spec.Buckets - 1), counts: make([]float32, spec.Buckets)}
}

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func (f *featurizer) add(h uint64) {
	b := uint32((h ^ h>>29) & f.mask)
	if f.counts[b] == 0 {
		f.touched = append(f.touched, b)
	}
	f.counts[b]++
}

func hashBytes(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= fnvPrime
	}
	return h
}

// normalise lower-cases, folds digits to 0 and turns everything but
// letters, digits, & and / into single spaces, with a space at each end.
func normalise(text string) string {
	body := squeeze(text, func(c byte) (byte, bool) {
		switch {
		case c >= 'A' && c <= 'Z':
			return c + ('a' - 'A'), true
		case c >= 'a' && c <= 'z', c == '&', c == '/':
			return c, true
		case c >= '0' && c <= '9':
			return '0', true
		}
		return c, false
	})
	switch {
	case body == "":
		return " "
	case body[len(body)-1] != ' ':
		return " " + body + " "
	}
	return " " + body
}

// squeeze maps each byte of s through keep and writes one space for each
// run of bytes it drops; a run at the start writes none.
func squeeze(s string, keep func(c byte) (byte, bool)) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	space := true
	for i := 0; i < len(s); i++ {
		c, ok := keep(s[i])
		if !ok {
			if !space {
				b.WriteByte(' ')
				space = true
			}
			continue
		}
		b.WriteByte(c)
		space = false
	}
	return b.String()
}

// words adds unigram and bigram features of the normalised text s in
// namespace ns.
func (f *featurizer) words(s string, ns byte) {
	prev := uint64(0)
	for _, w := range strings.Fields(s) {
		h := hashBytes(fnvOffset^uint64(ns), w)
		f.add(h)
		if prev != 0 {
			f.add(hashBytes((prev^uint64(ns)<<8)*fnvPrime, w) ^ 0x9e3779b97f4a7c15)
		}
		prev = h
	}
}

// vector returns the features of text.
func (f *featurizer) vector(text string) sparse {
	norm := normalise(text)
	f.words(norm, 'w')
	// The first lines, where the title and header are.
	lines := strings.SplitN(text, "\n", f.spec.Head+1)
	if len(lines) > f.spec.Head {
		lines = lines[:f.spec.Head]
	}
	f.words(normalise(strings.Join(lines, "\n")), 'h')
	for n := f.spec.CharMin; n <= f.spec.CharMax; n++ {
		base := fnvOffset ^ uint64(n)<<16
		for i := 0; i+n <= len(norm); i++ {
			f.add(hashBytes(base, norm[i:i+n]))
		}
	}
	body := f.flush(1)
	if f.spec.StructureWeight == 0 {
		return body
	}
	for _, t := range structure(text) {
		f.add(hashBytes(fnvOffset^'s', t))
	}
	layout := f.flush(f.spec.StructureWeight)
	return merge(body, layout)
}

// flush returns the counted features, log-scaled and L2-normalised to norm
// weight, and clears the counts.
func (f *featurizer) flush(weight float64) sparse {
	v := sparse{idx: make([]uint32, len(f.touched)), val: make([]float32, len(f.touched))}
	var sum float64
	for i, b := range f.touched {
		x := 1 + math.Log(float64(f.counts[b]))
		v.idx[i], v.val[i] = b, float32(x)
		sum += x * x
		f.counts[b] = 0
	}
	f.touched = f.touched[:0]
	if sum > 0 {
		scale := float32(weight / math.Sqrt(sum))
		for i := range v.val {
			v.val[i] *= scale
		}
	}
	return v
}

// merge adds two vectors (a bucket both touch gets the sum) and
// L2-normalises the result.
func merge(a, b sparse) sparse {
	if len(b.idx) == 0 {
		return a
	}
	pos := make(map[uint32]int, len(a.idx)+len(b.idx))
	out := sparse{idx: append([]uint32(nil), a.idx...), val: append([]float32(nil), a.val...)}
	for i, x := range out.idx {
		pos[x] = i
	}
	for i, x := range b.idx {
		if j, ok := pos[x]; ok {
			out.val[j] += b.val[i]
			continue
		}
		pos[x] = len(out.idx)
		out.idx = append(out.idx, x)
		out.val = append(out.val, b.val[i])
	}
	var sum float64
	for _, x := range out.val {
		sum += float64(x) * float64(x)
	}
	if sum > 0 {
		inv := float32(1 / math.Sqrt(sum))
		for i := range out.val {
			out.val[i] *= inv
		}
	}
	return out
}
