package separate

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"paperchart/classify"
	"paperchart/extract"
	"paperchart/scangen"
)

var (
	update  = flag.Bool("update", false, "regenerate testdata/heldout.json.gz from scangen")
	retrain = flag.Bool("retrain", false, "fit the boundary model on generated batches and rewrite weights.go")
)

// Loaded once for every test: the classifier takes a while to load.
var (
	testClassifier *classify.Model
	testExtractor  *extract.Extractor
)

func TestMain(m *testing.M) {
	flag.Parse()
	var err error
	if testClassifier, err = classify.Default(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if testExtractor, err = extract.New(extract.Config{}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

// newTest returns a Separator on the shared classifier and extractor.
func newTest(t testing.TB) *Separator {
	t.Helper()
	s, err := New(Config{Extractor: testExtractor, Classifier: testClassifier})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// fixBatch is a generated batch as the fixture keeps it: what separation
// needs and the ground truth.
type fixBatch struct {
	Seed  uint64    `json:"seed"`
	Pages []fixPage `json:"pages"`
}

type fixPage struct {
	Text     string `json:"text,omitempty"`
	Blank    bool   `json:"blank,omitempty"`
	Document int    `json:"document,omitempty"`
	Type     string `json:"type,omitempty"`
}

const (
	heldOutPath = "testdata/heldout.json.gz"
	// heldOutRealPath holds batches whose bodies are the real texts of
	// realtext/heldout, never used for training or tuning.
	heldOutRealPath = "testdata/heldout-real.json.gz"
	// The real texts, by split (see realtext/README.md).
	realTrainDir   = "../realtext/train"
	realHeldOutDir = "../realtext/heldout"
)

// Held-out seeds: never used for training (trainSeeds) nor for tuning.
const (
	heldOutFirstSeed     = 9101
	heldOutBatches       = 14
	heldOutRealFirstSeed = 9301
	heldOutRealBatches   = 14
	batchPages           = 50
)

// generate makes n batches of batchPages pages from consecutive seeds,
// with scangen's default degradations and 5% blank pages. dpi 0 lets
// scangen draw it per batch, as for real scans; a low one renders faster
// (the text differs only in where lines wrap).
//
// With bodies, every document's body is a real text of bodies laid out
// under generated headers (scangen.Options.Bodies).
func generate(ctx context.Context, first uint64, n, dpi int, bodies *scangen.Bodies) ([]fixBatch, error) {
	var out []fixBatch
	for seed := first; seed < first+uint64(n); seed++ {
		opt := scangen.DefaultOptions()
		opt.Bodies = bodies
		opt.Format = scangen.FormatPDF
		opt.Pages = batchPages
		opt.Seed = seed
		opt.BlankProb = 0.05
		opt.DPI = dpi
		tr, err := scangen.Generate(ctx, io.Discard, opt)
		if err != nil {
			return nil, fmt.Errorf("generate seed %d: %w", seed, err)
		}
		out = append(out, fromTruth(tr))
	}
	return out, nil
}

func fromTruth(tr scangen.Truth) fixBatch {
	b := fixBatch{Seed: tr.Seed}
	for _, p := range tr.Pages {
		b.Pages = append(b.Pages, fixPage{Text: p.Text, Blank: p.Blank, Document: p.Document, Type: p.Type})
	}
	return b
}

func loadFixture(t testing.TB, path string) []fixBatch {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("%v (regenerate with: go test ./separate -run TestHeldOut -update)", err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var out []fixBatch
	if err := json.NewDecoder(zr).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

func saveFixture(path string, batches []fixBatch) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	zw, _ := gzip.NewWriterLevel(f, gzip.BestCompression)
	if err := json.NewEncoder(zw).Encode(batches); err != nil {
		f.Close()
		return err
	}
	if err := zw.Close(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// pagesOf turns a batch into Split's input. With cer > 0 each content page
// gets simulated OCR errors at about that character error rate, and about
// one page in garbageEvery (0: none) is replaced by the junk OCR reads from
// a page turned the wrong way.
func pagesOf(b fixBatch, r *rand.Rand, cer float64, garbageEvery int) []Page {
	out := make([]Page, len(b.Pages))
	for i, p := range b.Pages {
		out[i] = Page{No: i + 1, Blank: p.Blank}
		if p.Blank {
			continue
		}
		text := p.Text
		switch {
		case garbageEvery > 0 && r.IntN(garbageEvery) == 0:
			text = garbage(r)
		case cer > 0:
			text = ocrNoise(r, text, cer)
		}
		out[i].Text = text
	}
	return out
}

// ocrNoise damages text at about cer errors per character: confusions
// (O/0, l/1, rn/m, ...), dropped and doubled characters, merged and split
// words; now and then a whole line is lost.
func ocrNoise(r *rand.Rand, text string, cer float64) string {
	var b strings.Builder
	for _, line := range strings.Split(text, "\n") {
		if r.Float64() < cer/3 {
			continue // a line OCR missed
		}
		for i := 0; i < len(line); i++ {
			c := line[i]
			if r.Float64() >= cer {
				b.WriteByte(c)
				continue
			}
			if c == 'r' && i+1 < len(line) && line[i+1] == 'n' {
				b.WriteByte('m')
				i++
				continue
			}
			switch k := r.IntN(10); {
			case c == ' ':
				if k < 7 {
					continue // merged words
				}
				b.WriteString("  ")
			case k < 7:
				if alts := scangen.OCRConfusions(rune(c)); len(alts) > 0 {
					b.WriteString(alts[r.IntN(len(alts))])
				} else if c >= 'a' && c <= 'z' {
					b.WriteByte(c - 'a' + 'A')
				} else if c >= 'A' && c <= 'Z' {
					b.WriteByte(c - 'A' + 'a')
				}
				// else dropped
			case k < 8:
				// dropped
			case k < 9:
				b.WriteByte(c)
				b.WriteByte(' ')
			default:
				b.WriteByte(c)
				b.WriteByte(c)
			}
		}
		b.WriteByte('\n')
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// garbage is what OCR reads on a page turned the wrong way: short runs of
// letters, digits and punctuation that are not words.
func garbage(r *rand.Rand) string {
	const chars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789|!;:.,'-_~^*"
	var b strings.Builder
	for range 10 + r.IntN(30) {
		for range 2 + r.IntN(8) {
			for range 1 + r.IntN(6) {
				b.WriteByte(chars[r.IntN(len(chars))])
			}
			b.WriteByte(' ')
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// boundaryScore compares predicted and true boundaries: the first content
// page of each document but the batch's first.
type boundaryScore struct {
	tp, fp, fn int
	docs       int // true documents
}

func (s *boundaryScore) add(b fixBatch, docs []Document) {
	truth := map[int]bool{}
	first := true
	lastDoc := 0
	for i, p := range b.Pages {
		if p.Blank || p.Document == lastDoc {
			continue
		}
		lastDoc = p.Document
		s.docs++
		if !first {
			truth[i+1] = true
		}
		first = false
	}
	pred := map[int]bool{}
	for k, d := range docs {
		if k > 0 {
			pred[d.Pages[0]] = true
		}
	}
	for p := range pred {
		if truth[p] {
			s.tp++
		} else {
			s.fp++
		}
	}
	for p := range truth {
		if !pred[p] {
			s.fn++
		}
	}
}

func (s boundaryScore) prf() (float64, float64, float64) {
	p := float64(s.tp) / float64(max(1, s.tp+s.fp))
	r := float64(s.tp) / float64(max(1, s.tp+s.fn))
	if p+r == 0 {
		return p, r, 0
	}
	return p, r, 2 * p * r / (p + r)
}

func (s boundaryScore) String() string {
	p, r, f := s.prf()
	return fmt.Sprintf("%d documents, %d boundaries: precision %.4f recall %.4f F1 %.4f (tp %d fp %d fn %d)",
		s.docs, s.tp+s.fn, p, r, f, s.tp, s.fp, s.fn)
}
