package sheets

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"paperchart/scangen"
)

var (
	typicalCover = CoverSheet{
		Authority: "MAIN", MRN: "00482913", Type: "18842-5", TypeLabel: "Discharge summary",
		PatientName: "FICTIONAL, Janet Q", BirthDate: "1958-03-14", Facility: "Example General",
		Created: time.Date(2026, 1, 2, 9, 30, 0, 0, time.UTC),
	}
	// longCover fills the payload nearly to MaxPayload, so its Code 128 has
	// the narrowest modules a sheet can have.
	longCover = CoverSheet{Authority: "NORTH", MRN: "MR-000482913-X", Type: "11506-3"}
)

// scanDamages are the ways a scanned sheet differs from the printed one.
// dpi is the scan's resolution (the sheet is rasterized at it); trials > 1
// for the damage that draws random numbers (angles, noise, feeding).
//
// Under -short or the race detector, only the rows marked quick run, with one
// trial each, and each code is not also read alone (see thorough).
var scanDamages = []struct {
	name   string
	dpi    int
	d      damage
	trials int
	quick  bool
}{
	{"300 dpi clean", 300, none, 1, false},
	{"200 dpi", 200, none, 1, false},
	{"JPEG q60", 300, jpegQ(60), 1, false},
	{"200 dpi JPEG q60", 200, jpegQ(60), 1, true},
	{"bilevel", 300, bilevel, 1, false},
	{"200 dpi bilevel", 200, bilevel, 1, false},
	{"downscaled 300 to 200 dpi, JPEG q60", 300, chain(at(200), jpegQ(60)), 1, false},
	{"skew 1.5°", 300, skew(1.5), 1, false},
	{"skew -2°, 200 dpi", 200, skew(-2), 1, false},
	{"speckle (2,000 dark and light specks)", 300, speckle(2000), 2, false},
	{"heavy speckle (20,000), 200 dpi", 200, speckle(20000), 2, false},
	{"fed 90°", 300, turn(1), 1, false},
	{"fed 180°", 300, turn(2), 1, false},
	{"fed 270°", 200, turn(3), 1, true},
	{"faded print (grey toner, blur, uneven), 200 dpi, JPEG q60", 200, chain(fade, jpegQ(60)), 2, false},
	{"all: 200 dpi, skew ±2°, speckle, JPEG q60, fed any way", 200, chain(skew(0), speckle(3000), jpegQ(60), turn(-1)), 4, false},
	{"all bilevel: 200 dpi, skew ±2°, bilevel, speckle, fed any way", 200, chain(skew(0), bilevel, speckle(3000), turn(-1)), 4, true},
	{"all 300 dpi: skew ±2°, faded, JPEG q60, fed any way", 300, chain(skew(0), fade, jpegQ(60), turn(-1)), 3, false},
}

// TestDetectScannedSheets prints sheets, rasterizes them as a scanner would
// and damages them in every way of scanDamages: Detect and Classify must
// find the right sheet every time. The log gives the success rate per damage
// and how often each code alone was read.
func TestDetectScannedSheets(t *testing.T) {
	thorough := !testing.Short() && !raceEnabled
	type sheetCase struct {
		name      string
		page      *image.Gray
		separator string
		want      Sheet
	}
	want := func(c CoverSheet) Sheet {
		return Sheet{Kind: Cover, Authority: c.Authority, MRN: c.MRN, Type: c.Type}
	}
	pdfs := []struct {
		name      string
		pdf       []byte
		separator string
		want      Sheet
	}{
		{"cover", coverPDF(t, typicalCover), "", want(typicalCover)},
		{"long cover", coverPDF(t, longCover), "", want(longCover)},
		{"separator", separatorPDF(t, ""), "", Sheet{Kind: Separator}},
	}
	cases := map[int][]sheetCase{}
	for _, dm := range scanDamages {
		if cases[dm.dpi] != nil || !thorough && !dm.quick {
			continue
		}
		for _, p := range pdfs {
			if !thorough && p.name == "long cover" {
				continue
			}
			cases[dm.dpi] = append(cases[dm.dpi], sheetCase{p.name, rasterize(t, p.pdf, dm.dpi), p.separator, p.want})
		}
	}
	type tally struct {
		name                    string
		trials, ok, qr, code128 int
		elapsed                 time.Duration
	}
	var (
		mu      sync.Mutex
		results = make([]tally, len(scanDamages))
	)
	t.Run("damage", func(t *testing.T) {
		for i, dm := range scanDamages {
			t.Run(dm.name, func(t *testing.T) {
				if !thorough && !dm.quick {
					t.Skip("a thorough row: runs without -short and -race")
				}
				t.Parallel()
				tl := tally{name: dm.name}
				trials := dm.trials
				if !thorough {
					trials = 1
				}
				for _, sc := range cases[dm.dpi] {
					for trial := range trials {
						r := rand.New(rand.NewPCG(uint64(i), uint64(trial)))
						img := dm.d(sc.page, r)
						start := time.Now()
						codes, err := Detect(context.Background(), img)
						tl.elapsed += time.Since(start)
						if err != nil {
							t.Fatal(err)
						}
						tl.trials++
						got, ok := Classify(codes, sc.separator)
						if ok && got == sc.want {
							tl.ok++
						} else {
							t.Errorf("%s, trial %d: Classify = %+v, %v from codes %+v; want %+v", sc.name, trial, got, ok, codes, sc.want)
						}
						if !thorough {
							continue
						}
						// Each code alone, as if the other were torn or covered.
						for _, f := range []Format{QRCode, Code128} {
							alone, err := detect(context.Background(), img, f)
							if err != nil {
								t.Fatal(err)
							}
							if s, ok := Classify(alone, sc.separator); ok && s == sc.want {
								if f == QRCode {
									tl.qr++
								} else {
									tl.code128++
								}
							}
						}
					}
				}
				mu.Lock()
				results[i] = tl
				mu.Unlock()
			})
		}
	})
	var b strings.Builder
	fmt.Fprintf(&b, "%-62s %7s %7s %9s %8s\n", "damage", "sheets", "QR", "Code 128", "ms/page")
	for _, r := range results {
		if r.trials == 0 {
			continue
		}
		fmt.Fprintf(&b, "%-62s %3d/%-3d %3d/%-3d %4d/%-4d %8.0f\n", r.name, r.ok, r.trials, r.qr, r.trials, r.code128, r.trials,
			float64(r.elapsed.Milliseconds())/float64(r.trials))
	}
	t.Logf("detection per damage (sheets right / trials: Detect and Classify, then each code alone; ms per Detect):\n%s", b.String())
}

// TestDetectOrdinaryPages: pages without barcodes yield no sheet and no
// label, whatever the scan did to them.
func TestDetectOrdinaryPages(t *testing.T) {
	text := textPage(t)
	tests := []struct {
		name string
		page func(t *testing.T) *image.Gray
	}{
		{"text 300 dpi", func(*testing.T) *image.Gray { return text }},
		{"text 200 dpi JPEG q60", func(*testing.T) *image.Gray {
			return chain(at(200), jpegQ(60))(text, rand.New(rand.NewPCG(1, 1)))
		}},
		{"text bilevel speckled, fed 90°", func(*testing.T) *image.Gray {
			return chain(bilevel, speckle(20000), turn(1))(text, rand.New(rand.NewPCG(1, 2)))
		}},
	}
	seeds := uint64(4)
	if testing.Short() || raceEnabled {
		seeds = 1
	}
	for seed := uint64(1); seed <= seeds; seed++ {
		tests = append(tests, struct {
			name string
			page func(t *testing.T) *image.Gray
		}{fmt.Sprintf("generated record page, seed %d", seed), func(t *testing.T) *image.Gray { return generatedPage(t, seed) }})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			codes, err := Detect(context.Background(), tt.page(t))
			if err != nil {
				t.Fatal(err)
			}
			if s, ok := Classify(codes, ""); ok {
				t.Errorf("an ordinary page was classified as %+v from %+v", s, codes)
			}
			if l := Labels(codes, ""); len(l) > 0 {
				t.Errorf("an ordinary page has labels %+v", l)
			}
		})
	}
}

// generatedPage is one page of the project's synthetic scanned records, with
// the generator's usual scanner effects.
func generatedPage(t *testing.T, seed uint64) *image.Gray {
	opt := scangen.DefaultOptions()
	opt.Pages, opt.Seed, opt.Format, opt.BlankProb = 1, seed, scangen.FormatPNG, 0
	var buf bytes.Buffer
	if _, err := scangen.Generate(context.Background(), &buf, opt); err != nil {
		t.Fatal(err)
	}
	img, _, err := image.Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	g, _ := toGray(img)
	return g
}

// TestDetectLabel: a patient label on a record page is a label, not a sheet.
func TestDetectLabel(t *testing.T) {
	const mrn = "00482913"
	page := labelPage(t, mrn)
	tests := []struct {
		name string
		d    damage
	}{
		{"300 dpi", none},
		{"200 dpi JPEG q60", chain(at(200), jpegQ(60))},
		{"200 dpi bilevel, skew 1°", chain(skew(1), at(200), bilevel)},
		{"fed 90°", turn(1)},
		{"fed 180°", turn(2)},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			codes, err := Detect(context.Background(), tt.d(page, rand.New(rand.NewPCG(2, uint64(i)))))
			if err != nil {
				t.Fatal(err)
			}
			if s, ok := Classify(codes, ""); ok {
				t.Errorf("a labelled page was classified as %+v", s)
			}
			labels := Labels(codes, "")
			if len(labels) != 1 || labels[0].Text != mrn || labels[0].Format != Code128 {
				t.Fatalf("labels %+v from codes %+v, want one Code 128 %q", labels, codes, mrn)
			}
		})
	}
}

// TestDetectBounds: a code's bounds lie where it was drawn, also when the
// code was found on the downscaled or the turned copy.
func TestDetectBounds(t *testing.T) {
	page := labelPage(t, "00482913")
	codes, err := Detect(context.Background(), page)
	if err != nil || len(codes) != 1 {
		t.Fatalf("codes %+v, %v", codes, err)
	}
	// labelPage draws the label across the top right, 60 to 160 px down.
	if b := codes[0].Bounds; b.Min.Y < 50 || b.Max.Y > 170 || b.Min.X < pageW/2 {
		t.Errorf("label bounds %v, want within the top right band", b)
	}
	turned := turn(1)(page, nil) // label now on the right edge's lower half
	codes, err = Detect(context.Background(), turned)
	if err != nil || len(codes) != 1 {
		t.Fatalf("turned: codes %+v, %v", codes, err)
	}
	if b := codes[0].Bounds; b.Min.X < pageH-180 || b.Max.X > pageH-40 || b.Min.Y < pageW/2 {
		t.Errorf("turned label bounds %v in a %v page, want in the right band, lower half", b, turned.Rect)
	}
}

func TestDetectSubImageAndCancel(t *testing.T) {
	page := rasterize(t, separatorPDF(t, "NEXT-DOC"), 200)
	// A sub-image keeps its parent's coordinates.
	sub := page.SubImage(image.Rect(100, 50, page.Rect.Dx()-100, page.Rect.Dy()-50))
	codes, err := Detect(context.Background(), sub)
	if err != nil {
		t.Fatal(err)
	}
	if s, ok := Classify(codes, "NEXT-DOC"); !ok || s.Kind != Separator {
		t.Fatalf("configured separator: %+v, %v from %+v", s, ok, codes)
	}
	for _, c := range codes {
		if !c.Bounds.In(sub.Bounds()) {
			t.Errorf("%s bounds %v outside the sub-image %v", c.Format, c.Bounds, sub.Bounds())
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Detect(ctx, page); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
	if codes, err := Detect(context.Background(), image.NewGray(image.Rect(0, 0, 0, 0))); err != nil || codes != nil {
		t.Errorf("empty image: %v, %v", codes, err)
	}
}

func TestSheetPDF(t *testing.T) {
	ctx := context.Background()
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	tests := []struct {
		name    string
		write   func(w *bytes.Buffer) error
		wantErr bool
	}{
		{"cover", func(w *bytes.Buffer) error { return CoverSheetPDF(ctx, w, typicalCover) }, false},
		{"cover, MRN only", func(w *bytes.Buffer) error { return CoverSheetPDF(ctx, w, CoverSheet{MRN: "1234"}) }, false},
		{"cover, long name shrinks to fit", func(w *bytes.Buffer) error {
			c := typicalCover
			c.PatientName = strings.Repeat("VERYLONGFAMILYNAME-", 5) + ", Given"
			return CoverSheetPDF(ctx, w, c)
		}, false},
		{"separator", func(w *bytes.Buffer) error { return SeparatorSheetPDF(ctx, w, "") }, false},
		{"cover without MRN", func(w *bytes.Buffer) error { return CoverSheetPDF(ctx, w, CoverSheet{PatientName: "X"}) }, true},
		{"cover too long", func(w *bytes.Buffer) error {
			return CoverSheetPDF(ctx, w, CoverSheet{MRN: strings.Repeat("9", 60)})
		}, true},
		{"separator with a space", func(w *bytes.Buffer) error { return SeparatorSheetPDF(ctx, w, "NEW DOC") }, true},
		{"separator like a cover", func(w *bytes.Buffer) error { return SeparatorSheetPDF(ctx, w, "PCCS9") }, true},
		{"cancelled", func(w *bytes.Buffer) error { return CoverSheetPDF(cancelled, w, typicalCover) }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			err := tt.write(&buf)
			if (err != nil) != tt.wantErr {
				t.Fatalf("error %v, want error: %v", err, tt.wantErr)
			}
			if err != nil {
				for _, secret := range []string{typicalCover.MRN, typicalCover.PatientName, "999999"} {
					if strings.Contains(err.Error(), secret) {
						t.Errorf("error %q contains patient data", err)
					}
				}
				return
			}
			b := buf.Bytes()
			if !bytes.HasPrefix(b, []byte("%PDF-1.4\n")) || !bytes.HasSuffix(b, []byte("%%EOF\n")) {
				t.Errorf("not a PDF: %q...", b[:min(20, len(b))])
			}
			if len(b) > 100_000 {
				t.Errorf("PDF is %d bytes, want under 100 kB", len(b))
			}
		})
	}
	// The PDF is what poppler renders: a Letter page at 300 dpi.
	g := rasterize(t, coverPDF(t, typicalCover), 300)
	if g.Rect.Dx() != pageW || g.Rect.Dy() != pageH {
		t.Errorf("rasterized page %v, want %dx%d", g.Rect, int(pageW), int(pageH))
	}
}

func TestSheetImage(t *testing.T) {
	g, err := CoverSheetImage(typicalCover)
	if err != nil {
		t.Fatal(err)
	}
	if g.Rect != image.Rect(0, 0, pageW, pageH) {
		t.Errorf("image %v", g.Rect)
	}
	if slices.ContainsFunc(g.Pix, func(v uint8) bool { return v != 0 && v != 0xFF }) {
		t.Error("cover image is not black and white")
	}
	if _, err := SeparatorSheetImage(""); err != nil {
		t.Fatal(err)
	}
}

// TestMedian9 checks the selection network on every 0/1 input (enough for
// a comparator network) and on random values.
func TestMedian9(t *testing.T) {
	check := func(v [9]uint8) {
		s := v
		slices.Sort(s[:])
		if got := median9(v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8]); got != s[4] {
			t.Fatalf("median9(%v) = %d, want %d", v, got, s[4])
		}
	}
	for bits := range 1 << 9 {
		var v [9]uint8
		for i := range v {
			v[i] = uint8(bits >> i & 1)
		}
		check(v)
	}
	r := rand.New(rand.NewPCG(3, 3))
	for range 10000 {
		var v [9]uint8
		for i := range v {
			v[i] = uint8(r.IntN(256))
		}
		check(v)
	}
}
