package scangen

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"image"
	"math"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"paperchart/classify"
)

// plainPrinter prints white 100-dpi pages: enough to plan and render sheet
// pages without package sheets.
type plainPrinter struct{}

func whiteLetter(dpi int) *image.Gray {
	g := image.NewGray(image.Rect(0, 0, int(8.5*float64(dpi)), 11*dpi))
	for i := range g.Pix {
		g.Pix[i] = 255
	}
	return g
}

func (plainPrinter) CoverSheet(CoverSheet) (*image.Gray, error) { return whiteLetter(100), nil }
func (plainPrinter) SeparatorSheet() (*image.Gray, error)       { return whiteLetter(100), nil }

// TestSheetPlan plans many batches (no pixels) in each mode and checks which
// documents get which sheet, and how often.
func TestSheetPlan(t *testing.T) {
	t.Parallel()
	type share struct {
		what     string
		min, max float64
	}
	tests := []struct {
		mode   SheetMode
		shares []share // shares of documents
	}{
		{SheetsCover, []share{{"first cover", 1, 1}, {"later cover", 1, 1}, {"cover typed", 0.4, 0.6}}},
		{SheetsSeparator, []share{{"first none", 1, 1}, {"later separator", 1, 1}}},
		{SheetsMixed, []share{
			{"first cover", 0.5, 0.7}, {"first separator", 0.3, 0.5}, {"first none", 0, 0},
			{"later cover", 0.42, 0.58}, {"later separator", 0.22, 0.38}, {"later none", 0.13, 0.27},
			{"cover typed", 0.4, 0.6},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.mode.String(), func(t *testing.T) {
			counts := map[string]int{}
			for seed := range uint64(150) {
				opt := Options{Pages: 12, Seed: seed, Format: FormatTIFF, BlankProb: 0.1, Sheets: tt.mode, SheetPrinter: plainPrinter{}}
				if err := opt.normalize(); err != nil {
					t.Fatal(err)
				}
				pages := plan(&opt)
				content := 0
				var pending *sheetPage
				for i, p := range pages {
					if p.index != i {
						t.Fatalf("page %d has index %d", i, p.index)
					}
					if p.sheet != nil {
						if pending != nil || p.content.docPage != 0 {
							t.Fatalf("seed %d page %d: a sheet follows a sheet", seed, i+1)
						}
						pending = p.sheet
						if p.noise < sheetNoiseBase {
							t.Errorf("sheet page %d uses noise stream %d", i+1, p.noise)
						}
						continue
					}
					content++
					if p.noise != uint64(content) {
						t.Errorf("content page %d uses noise stream %d, want %d", i+1, p.noise, content)
					}
					if p.content.blank {
						if pending != nil {
							t.Fatalf("seed %d page %d: a blank page follows a sheet", seed, i+1)
						}
						continue
					}
					if p.content.docPage != 1 {
						if pending != nil {
							t.Fatalf("seed %d page %d: a sheet before page %d of a document", seed, i+1, p.content.docPage)
						}
						continue
					}
					pos := "later "
					if p.content.document == 1 {
						pos = "first "
					}
					counts[pos+"documents"]++
					switch {
					case pending == nil:
						counts[pos+"none"]++
					case pending.document != p.content.document || pending.docType != p.content.docType ||
						pending.patient != p.content.patient:
						t.Fatalf("seed %d page %d: the sheet is for document %d, the page is of document %d",
							seed, i+1, pending.document, p.content.document)
					default:
						counts[pos+pending.kind]++
					}
					if pending != nil && pending.kind == SheetCover {
						counts["cover"]++
						c := pending.cover
						if c.Authority != "MRN" || c.MRN != p.content.patient.mrn || c.BirthDate != p.content.patient.birth.iso() ||
							!strings.HasPrefix(c.PatientName, p.content.patient.surname+", ") {
							t.Errorf("seed %d page %d: cover %+v for patient %+v", seed, i+1, c, p.content.patient)
						}
						if c.Type != "" {
							counts["cover typed"]++
							if loinc, _ := CoverSheetType(p.content.docType); c.Type != loinc || c.TypeLabel == "" {
								t.Errorf("cover prints type %q %q for a %s", c.Type, c.TypeLabel, p.content.docType)
							}
						}
					}
					pending = nil
				}
				if content != opt.Pages {
					t.Fatalf("seed %d: %d content and blank pages, want %d", seed, content, opt.Pages)
				}
				if pending != nil {
					t.Fatalf("seed %d: the batch ends with a sheet", seed)
				}
			}
			for _, s := range tt.shares {
				of := counts["cover"]
				if pos, _, _ := strings.Cut(s.what, " "); pos != "cover" {
					of = counts[pos+" documents"]
				}
				got := float64(counts[s.what]) / float64(max(1, of))
				if got < s.min || got > s.max {
					t.Errorf("%s: %.2f of %d, want %.2f..%.2f", s.what, got, of, s.min, s.max)
				}
			}
			t.Logf("%v", counts)
		})
	}
}

// TestSheetsLeaveContentAlone checks that a sheet mode changes nothing in
// the content and blank pages of a batch: the same plan, and for a few
// batch the same pixels.
func TestSheetsLeaveContentAlone(t *testing.T) {
	t.Parallel()
	for seed := range uint64(20) {
		var planned [2][]plannedPage
		for i, mode := range []SheetMode{SheetsNone, SheetsMixed} {
			opt := Options{Pages: 10, Seed: seed, Format: FormatPDF, DPI: 50, BlankProb: 0.1, RotateProb: 0.1, MaxSkew: 1,
				Bilevel: 0.5, Sheets: mode, SheetPrinter: plainPrinter{}}
			if err := opt.normalize(); err != nil {
				t.Fatal(err)
			}
			for _, p := range plan(&opt) {
				if p.sheet == nil {
					planned[i] = append(planned[i], p)
				}
			}
		}
		for j := range planned[0] {
			a, b := planned[0][j], planned[1][j]
			if a.noise != b.noise || a.effects != b.effects || a.dpi != b.dpi || a.content.document != b.content.document ||
				a.content.docPage != b.content.docPage || a.content.title != b.content.title || a.content.patient != b.content.patient {
				t.Fatalf("seed %d: content page %d differs with sheets", seed, j+1)
			}
			if seed != 0 || j >= 4 {
				continue
			}
			ia, ta, err := renderPage(&a, seed)
			if err != nil {
				t.Fatal(err)
			}
			ib, tb, err := renderPage(&b, seed)
			if err != nil {
				t.Fatal(err)
			}
			tb.Number = ta.Number
			if _, same := sameImage(ia.img, ib.img); !same || ta != tb {
				t.Errorf("seed %d: content page %d is drawn differently with sheets", seed, j+1)
			}
		}
	}
}

func TestSheetsDeterministic(t *testing.T) {
	t.Parallel()
	gen := func(seed uint64, workers int) ([]byte, Truth) {
		var buf bytes.Buffer
		tr, err := Generate(context.Background(), &buf, Options{Pages: 3, Seed: seed, Format: FormatPDF, DPI: 50, Bilevel: 0.5,
			RotateProb: 0.2, BlankProb: 0.1, MaxSkew: 1.5, Sheets: SheetsMixed, SheetPrinter: plainPrinter{}, Workers: workers})
		if err != nil {
			t.Fatal(err)
		}
		return buf.Bytes(), tr
	}
	a, ta := gen(5, 1)
	b, tb := gen(5, 3)
	if !bytes.Equal(a, b) || !reflect.DeepEqual(ta, tb) {
		t.Error("same seed and options, different bytes or truth")
	}
	if c, _ := gen(6, 2); bytes.Equal(a, c) {
		t.Error("different seeds, same bytes")
	}
}

func TestCoverSheetTypes(t *testing.T) {
	for _, code := range DocumentTypes() {
		want, ok := classify.Lookup(code)
		got := coverTypes[code]
		if !ok || got.loinc != want.LOINC || got.name != want.Name {
			t.Errorf("%s: cover sheets print %q %q, classify says %q %q", code, got.loinc, got.name, want.LOINC, want.Name)
		}
	}
	if len(coverTypes) != len(DocumentTypes()) {
		t.Errorf("%d cover sheet types for %d document types", len(coverTypes), len(DocumentTypes()))
	}
	if _, ok := CoverSheetType("no-such-type"); ok {
		t.Error("CoverSheetType accepts an unknown code")
	}
}

func TestScaleToPage(t *testing.T) {
	// A 100-dpi page with a black square of one inch at (1 in, 2 in).
	src := whiteLetter(100)
	for y := 200; y < 300; y++ {
		for x := 100; x < 200; x++ {
			src.Pix[y*src.Stride+x] = 0
		}
	}
	tests := []struct {
		dpi  int
		w, h int
	}{
		{100, 850, 1100},
		{60, 510, 660},
		{75, 638, 825}, // 637.5 rounds up, as the renderer's pages do
		{150, 1275, 1650},
	}
	for _, tt := range tests {
		got, err := scaleToPage(src, tt.dpi)
		if err != nil {
			t.Fatal(err)
		}
		if got.Rect.Dx() != tt.w || got.Rect.Dy() != tt.h {
			t.Errorf("%d dpi: %v, want %dx%d", tt.dpi, got.Rect.Size(), tt.w, tt.h)
			continue
		}
		// The ink is where it was, and as much of it.
		var ink float64
		for _, v := range got.Pix {
			ink += float64(255 - v)
		}
		ink /= 255 * float64(tt.dpi*tt.dpi)
		if math.Abs(ink-1) > 0.02 {
			t.Errorf("%d dpi: %.3f square inches of ink, want 1", tt.dpi, ink)
		}
		at := func(xIn, yIn float64) uint8 { return got.GrayAt(int(xIn*float64(tt.dpi)), int(yIn*float64(tt.dpi))).Y }
		if at(1.5, 2.5) != 0 || at(0.5, 2.5) != 255 || at(1.5, 3.5) != 255 {
			t.Errorf("%d dpi: the square is not where it was", tt.dpi)
		}
	}
	if _, err := scaleToPage(image.NewGray(image.Rect(0, 0, 1000, 1000)), 100); err == nil {
		t.Error("a square page is accepted")
	}
	if _, err := scaleToPage(nil, 100); err == nil {
		t.Error("no page is accepted")
	}
}

// TestSheetPageTruth renders a sheet page of each kind through the
// scanning effects.
func TestSheetPageTruth(t *testing.T) {
	for _, mode := range []SheetMode{SheetsCover, SheetsSeparator} {
		opt := Options{Pages: 3, Seed: 4, Format: FormatPDF, DPI: 50, RotateProb: 1, MaxSkew: 2,
			Sheets: mode, SheetPrinter: plainPrinter{}}
		if err := opt.normalize(); err != nil {
			t.Fatal(err)
		}
		for _, p := range plan(&opt) {
			if p.sheet == nil {
				continue
			}
			img, tr, err := renderPage(&p, opt.Seed)
			if err != nil {
				t.Fatal(err)
			}
			if tr.Sheet != p.sheet.kind || tr.Blank || tr.Rotation == 0 || tr.Skew == 0 || tr.Document != p.sheet.document ||
				tr.Width != img.img.Rect.Dx() || tr.Height != img.img.Rect.Dy() || tr.DPI != opt.DPI {
				t.Errorf("%s: truth %+v", mode, tr)
			}
			if want := tr.Rotation%180 == 90; (tr.Width > tr.Height) != want {
				t.Errorf("%s: %dx%d page turned %d", mode, tr.Width, tr.Height, tr.Rotation)
			}
			if mode == SheetsSeparator && (tr.MRN != "" || tr.Patient != "" || tr.Type != "") {
				t.Errorf("separator truth names a patient or type: %+v", tr)
			}
			if mode == SheetsCover && (tr.MRN != p.sheet.patient.mrn || tr.Patient != p.sheet.patient.name()) {
				t.Errorf("cover truth %+v for patient %+v", tr, p.sheet.patient)
			}
		}
	}
}

// failingPrinter fails to print cover sheets with its error.
type failingPrinter struct {
	plainPrinter
	err error
}

func (p failingPrinter) CoverSheet(CoverSheet) (*image.Gray, error) { return nil, p.err }

func TestSheetOptions(t *testing.T) {
	tests := []struct {
		name string
		opt  Options
		want string // in the error; "" for none
	}{
		{"none needs no printer", Options{Format: FormatPDF}, ""},
		{"cover without printer", Options{Format: FormatPDF, Sheets: SheetsCover}, "SheetPrinter"},
		{"separator without printer", Options{Format: FormatTIFF, Sheets: SheetsSeparator}, "SheetPrinter"},
		{"unknown mode", Options{Format: FormatPDF, Sheets: 7, SheetPrinter: plainPrinter{}}, "unknown sheet mode"},
		{"png with sheets", Options{Format: FormatPNG, Sheets: SheetsSeparator, SheetPrinter: plainPrinter{}}, "cannot hold"},
		{"jpeg with sheets", Options{Format: FormatJPEG, Sheets: SheetsCover, SheetPrinter: plainPrinter{}}, "cannot hold"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.opt.normalize()
			if (err == nil) != (tt.want == "") || (err != nil && !strings.Contains(err.Error(), tt.want)) {
				t.Errorf("normalize: %v, want an error with %q", err, tt.want)
			}
		})
	}
	// A printer's error is returned, wrapped.
	toner := errors.New("out of toner")
	_, err := Generate(context.Background(), &bytes.Buffer{}, Options{Pages: 2, DPI: 50, Format: FormatPDF,
		Sheets: SheetsCover, SheetPrinter: failingPrinter{err: toner}})
	if !errors.Is(err, toner) || !strings.Contains(err.Error(), "cover sheet") {
		t.Errorf("Generate with a failing printer: %v", err)
	}
}

func TestParseSheetMode(t *testing.T) {
	for _, m := range []SheetMode{SheetsNone, SheetsCover, SheetsSeparator, SheetsMixed} {
		got, err := ParseSheetMode(strings.ToUpper(m.String()))
		if err != nil || got != m {
			t.Errorf("ParseSheetMode(%q) = %v, %v", m.String(), got, err)
		}
	}
	if m, err := ParseSheetMode(""); m != SheetsNone || err != nil {
		t.Errorf(`ParseSheetMode("") = %v, %v`, m, err)
	}
	if _, err := ParseSheetMode("both"); err == nil {
		t.Error("ParseSheetMode accepts an unknown mode")
	}
	if s := SheetMode(9).String(); s != "SheetMode(9)" {
		t.Errorf("String of an unknown mode: %q", s)
	}
}

// TestSheetsInFiles checks that the writers hold the sheet pages too: the
// TIFF's directory chain and the PDF's page tree count every page.
func TestSheetsInFiles(t *testing.T) {
	for _, format := range []Format{FormatTIFF, FormatPDF} {
		t.Run(string(format), func(t *testing.T) {
			opt := Options{Pages: 3, Seed: 2, Format: format, DPI: 50, Bilevel: 0.5, Sheets: SheetsCover, SheetPrinter: plainPrinter{}}
			var buf bytes.Buffer
			tr, err := Generate(context.Background(), &buf, opt)
			if err != nil {
				t.Fatal(err)
			}
			sheets := 0
			for _, p := range tr.Pages {
				if p.Sheet != "" {
					sheets++
				}
			}
			if sheets == 0 || len(tr.Pages) != opt.Pages+sheets {
				t.Fatalf("%d pages with %d sheets, want %d plus the sheets", len(tr.Pages), sheets, opt.Pages)
			}
			b := buf.Bytes()
			got := 0
			if format == FormatTIFF {
				le := binary.LittleEndian
				for off := le.Uint32(b[4:]); off != 0; got++ {
					n := uint32(le.Uint16(b[off:]))
					off = le.Uint32(b[off+2+12*n:])
				}
			} else {
				m := regexp.MustCompile(`/Type /Pages /Kids \[[^\]]*\] /Count (\d+)`).FindSubmatch(b)
				if m == nil {
					t.Fatal("no page tree")
				}
				got, _ = strconv.Atoi(string(m[1]))
			}
			if got != len(tr.Pages) {
				t.Errorf("the file holds %d pages, the truth %d", got, len(tr.Pages))
			}
		})
	}
}
