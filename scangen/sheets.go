package scangen

import (
	"errors"
	"fmt"
	"image"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
)

// This file owns cover and separator sheets in generated batches: which
// documents get one, what a cover sheet prints, and turning the printed
// sheet into a scanned page at the batch's resolution. The sheets are drawn
// by a SheetPrinter, because scangen cannot import package sheets (whose
// tests import scangen); package scangen/sheetprint has the printer that
// uses it.

// SheetMode says which documents of a batch have a cover or separator sheet
// put before them, as a scanning clerk does.
type SheetMode int

const (
	// SheetsNone puts no sheet in the batch (the zero value).
	SheetsNone SheetMode = iota
	// SheetsCover puts a cover sheet before every document: the
	// document's patient (MRN with authority "MRN", name, birth date) and,
	// for about half of the documents, its type as a LOINC document code.
	SheetsCover
	// SheetsSeparator puts a separator sheet before every document but the
	// first: the start of the batch needs none.
	SheetsSeparator
	// SheetsMixed draws for each document, as a clerk who uses both kinds
	// and sometimes forgets one: the first document gets a cover sheet
	// (60%) or a separator sheet (40%); every later one a cover sheet
	// (50%), a separator sheet (30%) or none (20%), in which case it
	// follows the previous document with nothing between them.
	SheetsMixed
)

var sheetModeNames = [...]string{SheetsNone: "none", SheetsCover: "cover", SheetsSeparator: "separator", SheetsMixed: "mixed"}

// String returns the mode's name: "none", "cover", "separator" or "mixed".
func (m SheetMode) String() string {
	if m >= 0 && int(m) < len(sheetModeNames) {
		return sheetModeNames[m]
	}
	return fmt.Sprintf("SheetMode(%d)", int(m))
}

// ParseSheetMode reads a mode's name as String writes it ("" means none).
func ParseSheetMode(s string) (SheetMode, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" {
		return SheetsNone, nil
	}
	for m, name := range sheetModeNames {
		if s == name {
			return SheetMode(m), nil
		}
	}
	return SheetsNone, fmt.Errorf("scangen: unknown sheet mode %q: use none, cover, separator or mixed", s)
}

// Sheet kinds, as PageTruth.Sheet records them.
const (
	SheetCover     = "cover"
	SheetSeparator = "separator"
)

// CoverSheet is what a generated cover sheet prints: the fields of package
// sheets' CoverSheet that the generator fills in.
//
// The type is printed as the LOINC document code of the document's type
// (the classify package's Type.LOINC, for example "18842-5" for
// "discharge-summary"), as `paperchart coversheet --type` is meant to be
// used: the type codes themselves can be too long for the sheet's barcodes
// (at most 48 characters for the whole payload).
type CoverSheet struct {
	Authority   string // the MRN's assigning authority: always "MRN", the patient index's default
	MRN         string // the patient's MRN as the index holds it (Patient.MRN), never with a typo
	Type        string // the LOINC document code of the document's type, or "" to leave the type to the classifier
	TypeLabel   string // the type's name for people, for example "Discharge summary"; "" when Type is
	PatientName string // "FAMILY, Given", for example "KOWALCZYK, Jane"
	BirthDate   string // YYYY-MM-DD
}

// SheetPrinter draws the sheets that Options.Sheets asks for, each as a
// white US Letter portrait page with black print, at any resolution: the
// generator scales it to the batch's DPI and then scans it like any other
// page. Its methods may be called from several goroutines at once and must
// return the same image for the same input, or the same seed will no longer
// give the same bytes. sheetprint.Printer (package scangen/sheetprint)
// prints them with package sheets.
type SheetPrinter interface {
	CoverSheet(c CoverSheet) (*image.Gray, error)
	SeparatorSheet() (*image.Gray, error)
}

func (opt *Options) checkSheets() error {
	if opt.Sheets < SheetsNone || opt.Sheets > SheetsMixed {
		return fmt.Errorf("scangen: unknown sheet mode %d", int(opt.Sheets))
	}
	if opt.Sheets != SheetsNone && opt.SheetPrinter == nil {
		return fmt.Errorf("scangen: %s sheets need Options.SheetPrinter (sheetprint.Printer prints them with package sheets)", opt.Sheets)
	}
	return nil
}

// sheetPage is a planned sheet: what it prints and who prints it.
type sheetPage struct {
	kind    string // SheetCover or SheetSeparator
	cover   CoverSheet
	printer SheetPrinter
	cache   *separatorCache // the batch's separator sheet
	// The document the sheet introduces, for the truth.
	document int
	docType  string // its type code
	typed    bool   // the cover sheet prints the type
	patient  patient
}

// sheetPlanner decides the sheets of a batch from a random stream of its
// own, so that content pages do not change with Options.Sheets.
type sheetPlanner struct {
	opt    *Options
	r      *rand.Rand
	sheets int
	cache  *separatorCache
}

func newSheetPlanner(opt *Options) *sheetPlanner {
	if opt.Sheets == SheetsNone {
		return nil
	}
	return &sheetPlanner{opt: opt, r: rand.New(rand.NewPCG(opt.Seed, 0x5_4ee7_c0de)), cache: &separatorCache{}}
}

// separatorCache holds a batch's separator sheet, printed and scaled once:
// every separator page of the batch is the same sheet before it is
// scanned. Safe for concurrent use.
type separatorCache struct {
	once sync.Once
	img  *image.Gray
	err  error
}

// page returns a copy of the separator sheet at dpi (the same for every
// call on one cache).
func (c *separatorCache) page(pr SheetPrinter, dpi int) (*image.Gray, error) {
	c.once.Do(func() {
		printed, err := pr.SeparatorSheet()
		if err != nil {
			c.err = fmt.Errorf("print: %w", err)
			return
		}
		c.img, c.err = scaleToPage(printed, dpi)
	})
	if c.err != nil {
		return nil, c.err
	}
	img := image.NewGray(c.img.Rect)
	copy(img.Pix, c.img.Pix)
	return img, nil
}

// sheetNoiseBase numbers the noise streams of sheet pages, far from those of
// content pages (their position plus one).
const sheetNoiseBase = 1 << 48

// sheetFor returns the sheet page to put before doc, if it gets one.
func (sp *sheetPlanner) sheetFor(doc *document, dpi int) (plannedPage, bool) {
	if sp == nil {
		return plannedPage{}, false
	}
	kind := ""
	switch sp.opt.Sheets {
	case SheetsCover:
		kind = SheetCover
	case SheetsSeparator:
		if doc.number > 1 {
			kind = SheetSeparator
		}
	case SheetsMixed:
		switch n := sp.r.IntN(10); {
		case doc.number == 1 && n < 6, doc.number > 1 && n < 5:
			kind = SheetCover
		case doc.number == 1 || n < 8:
			kind = SheetSeparator
		}
	}
	if kind == "" {
		return plannedPage{}, false
	}
	s := &sheetPage{kind: kind, printer: sp.opt.SheetPrinter, cache: sp.cache, document: doc.number, docType: doc.kind.code, patient: doc.patient}
	if kind == SheetCover {
		p := doc.patient
		s.cover = CoverSheet{
			Authority:   "MRN",
			MRN:         p.mrn,
			PatientName: p.surname + ", " + titleCase(p.given),
			BirthDate:   p.birth.iso(),
		}
		if sp.r.IntN(2) == 0 {
			s.typed = true
			s.cover.Type, s.cover.TypeLabel = coverTypes[doc.kind.code].loinc, coverTypes[doc.kind.code].name
		}
	}
	sp.sheets++
	return plannedPage{
		noise:   sheetNoiseBase + uint64(sp.sheets),
		sheet:   s,
		effects: drawEffects(sp.r, sp.opt),
		dpi:     dpi,
	}, true
}

// coverTypes are the LOINC document codes and names that cover sheets print
// for each document type: the classify package's (a test checks they
// agree). Read only.
var coverTypes = map[string]struct{ loinc, name string }{
	TypeDischargeSummary: {"18842-5", "Discharge summary"},
	TypeHistoryPhysical:  {"34117-2", "History and physical"},
	TypeProgressNote:     {"11506-3", "Progress note"},
	TypeConsultNote:      {"11488-4", "Consultation note"},
	TypeOperativeReport:  {"11504-8", "Operative report"},
	TypeLabReport:        {"11502-2", "Laboratory report"},
	TypePathologyReport:  {"11526-1", "Pathology report"},
	TypeImagingReport:    {"18748-4", "Radiology / imaging report"},
	TypeMedicationList:   {"10160-0", "Medication list or prescription"},
	TypeReferralLetter:   {"57133-1", "Referral letter"},
	TypeConsentForm:      {"59284-0", "Consent form"},
	TypeInsuranceCard:    {"64290-0", "Insurance card"},
	TypeCorrespondence:   {"51852-2", "Correspondence"},
	TypeOther:            {"51851-4", "Other"},
}

// CoverSheetType returns the LOINC document code that a generated cover
// sheet prints for a document type code of DocumentTypes, and false for
// an unknown code.
func CoverSheetType(code string) (string, bool) {
	t, ok := coverTypes[code]
	return t.loinc, ok
}

// renderSheetPage prints, scales and scans a sheet page and fills in its
// truth.
func renderSheetPage(p *plannedPage, seed uint64) (*pageImage, PageTruth, error) {
	s := p.sheet
	img, err := s.page(p.dpi)
	if err != nil {
		return nil, PageTruth{}, fmt.Errorf("scangen: %s sheet of page %d: %w", s.kind, p.index+1, err)
	}
	e := p.effects
	img = e.apply(img, rand.New(rand.NewPCG(seed, p.noise)))
	t := PageTruth{
		Number:   p.index + 1,
		Rotation: e.rotation,
		Skew:     e.skew,
		DPI:      p.dpi,
		Bilevel:  e.bilevel,
		Layout:   LayoutSheet,
		Width:    img.Rect.Dx(),
		Height:   img.Rect.Dy(),
		Sheet:    s.kind,
		Document: s.document,
	}
	if s.kind == SheetCover {
		if s.typed {
			t.Type = s.docType
		}
		t.Patient = s.patient.name()
		t.MRN = s.patient.mrn
		t.BirthDate = s.patient.birth.iso()
	}
	return &pageImage{img: img, dpi: p.dpi, bilevel: e.bilevel}, t, nil
}

// page returns the printed sheet at dpi, before scanning.
func (s *sheetPage) page(dpi int) (*image.Gray, error) {
	if s.kind == SheetSeparator {
		return s.cache.page(s.printer, dpi)
	}
	printed, err := s.printer.CoverSheet(s.cover)
	if err != nil {
		return nil, fmt.Errorf("print: %w", err)
	}
	return scaleToPage(printed, dpi)
}

// scaleToPage resamples a printed US Letter portrait page to the size the
// renderer gives pages at dpi, averaging the source pixels each output
// pixel covers, as a scanner's optics do. The result is a new image.
func scaleToPage(src *image.Gray, dpi int) (*image.Gray, error) {
	if src == nil {
		return nil, errors.New("printer returned no image")
	}
	sw, sh := src.Rect.Dx(), src.Rect.Dy()
	if sw < 85 || sh < 110 || math.Abs(float64(sw)/float64(sh)-pageWidthIn/pageHeightIn) > 0.02 {
		return nil, fmt.Errorf("printed page is %dx%d pixels, not a US Letter portrait page", sw, sh)
	}
	dw, dh := int(pageWidthIn*float64(dpi)+0.5), int(pageHeightIn*float64(dpi)+0.5)
	// Along rows first, into an image dw wide and sh high; then along
	// columns.
	tx, ty := boxTaps(sw, dw), boxTaps(sh, dh)
	mid := make([]uint8, dw*sh)
	for y := range sh {
		row := src.Pix[src.PixOffset(src.Rect.Min.X, src.Rect.Min.Y+y):][:sw]
		out := mid[y*dw : (y+1)*dw]
		for x, t := range tx {
			var acc int32
			for k, w := range t.w {
				acc += w * int32(row[t.start+k])
			}
			out[x] = uint8((acc + tapOne/2) >> tapBits)
		}
	}
	dst := image.NewGray(image.Rect(0, 0, dw, dh))
	acc := make([]int32, dw)
	for y, t := range ty {
		clear(acc)
		for k, w := range t.w {
			for x, v := range mid[(t.start+k)*dw : (t.start+k+1)*dw] {
				acc[x] += w * int32(v)
			}
		}
		out := dst.Pix[y*dst.Stride : y*dst.Stride+dw]
		for x, a := range acc {
			out[x] = uint8((a + tapOne/2) >> tapBits)
		}
	}
	return dst, nil
}

// Resampling weights are fixed point with tapBits fractional bits.
const (
	tapBits = 14
	tapOne  = 1 << tapBits
)

// taps are the weights of the source pixels start, start+1, ... that make
// one output pixel; they sum to tapOne.
type taps struct {
	start int
	w     []int32
}

// boxTaps returns, for each of dst output pixels along an axis of src
// source pixels, the source pixels its footprint covers, weighted by how
// much of each it covers.
func boxTaps(src, dst int) []taps {
	scale := float64(src) / float64(dst)
	out := make([]taps, dst)
	for i := range out {
		a, b := float64(i)*scale, min(float64(i+1)*scale, float64(src))
		j0 := min(int(a), src-1)
		j1 := max(j0+1, min(int(math.Ceil(b)), src))
		t := taps{start: j0, w: make([]int32, j1-j0)}
		sum, big := int32(0), 0
		for j := j0; j < j1; j++ {
			cover := min(b, float64(j+1)) - max(a, float64(j))
			w := int32(math.Round(max(0, cover) / (b - a) * tapOne))
			t.w[j-j0] = w
			sum += w
			if w > t.w[big] {
				big = j - j0
			}
		}
		t.w[big] += tapOne - sum // rounding: the weights sum to exactly one
		out[i] = t
	}
	return out
}
