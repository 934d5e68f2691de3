package scangen_test

// An external test package: it imports scangen/sheetprint and sheets, which
// import scangen.

import (
	"bytes"
	"compress/zlib"
	"context"
	"image"
	"image/jpeg"
	"io"
	"regexp"
	"strconv"
	"testing"

	"golang.org/x/image/ccitt"

	"paperchart/scangen"
	"paperchart/scangen/sheetprint"
	"paperchart/sheets"
)

// sheetOptions is a small degraded batch: grey and bilevel pages, pages fed
// sideways or upside down, blank sheets, skew. Its seed gives, over the
// three sheet modes, every kind of sheet page (TestSheetPages checks it
// does) with few pages: a sheet page costs about a second under the race
// detector.
func sheetOptions(mode scangen.SheetMode) scangen.Options {
	return scangen.Options{Pages: 2, Seed: 50, Format: scangen.FormatPDF, DPI: 150, Bilevel: 0.5,
		RotateProb: 0.3, BlankProb: 0.15, MaxSkew: 1.5, Sheets: mode, SheetPrinter: sheetprint.Printer{}}
}

func generate(t *testing.T, opt scangen.Options) ([]byte, scangen.Truth) {
	t.Helper()
	var buf bytes.Buffer
	tr, err := scangen.Generate(context.Background(), &buf, opt)
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	return buf.Bytes(), tr
}

// TestSheetPages generates a batch in each sheet mode, checks where its
// sheets are and what the truth says of them, and reads every sheet page of
// the PDF with the sheets package's decoder. (TestSheetPlan checks the
// modes' rules over many batches, without pixels.)
func TestSheetPages(t *testing.T) {
	t.Parallel()
	tests := []struct {
		mode scangen.SheetMode
		// want is the sheet before document n (1-based); "?" accepts any
		// sheet or none.
		want func(n int) string
		// variety is what the batch must show for the test to mean
		// something.
		variety []string
	}{
		{scangen.SheetsCover, func(int) string { return scangen.SheetCover }, []string{"cover with type", "cover without type"}},
		{scangen.SheetsSeparator, func(n int) string {
			if n == 1 {
				return ""
			}
			return scangen.SheetSeparator
		}, []string{scangen.SheetSeparator}},
		{scangen.SheetsMixed, func(n int) string {
			if n == 1 {
				return "cover or separator"
			}
			return "?"
		}, []string{"no sheet"}},
	}
	scans := map[string]int{} // how sheet pages were scanned, over all modes
	for _, tt := range tests {
		t.Run(tt.mode.String(), func(t *testing.T) {
			data, tr := generate(t, sheetOptions(tt.mode))
			imgs := pdfImages(t, data)
			if len(imgs) != len(tr.Pages) {
				t.Fatalf("the PDF holds %d images, the truth %d pages", len(imgs), len(tr.Pages))
			}
			content, docs := 0, 0
			sheetOf := map[int]string{}
			seen := map[string]int{}
			for i, p := range tr.Pages {
				if p.Number != i+1 {
					t.Errorf("page %d has number %d", i+1, p.Number)
				}
				if p.Sheet == "" {
					content++
					docs = max(docs, p.Document)
					continue
				}
				if p.Blank || p.Layout != scangen.LayoutSheet || p.Text != "" || p.Document == 0 || p.DocumentPage != 0 {
					t.Errorf("sheet page %d: %+v", i+1, p)
				}
				if sheetOf[p.Document] != "" {
					t.Errorf("document %d has two sheets", p.Document)
				}
				sheetOf[p.Document] = p.Sheet
				seen[p.Sheet]++
				switch {
				case p.Sheet == scangen.SheetCover && p.Type != "":
					seen["cover with type"]++
				case p.Sheet == scangen.SheetCover:
					seen["cover without type"]++
				}
				if p.Bilevel {
					scans["bilevel"]++
				} else {
					scans["grey"]++
				}
				if p.Rotation != 0 {
					scans["turned"]++
				}
				// The document starts right after its sheet.
				if i+1 >= len(tr.Pages) {
					t.Fatalf("the batch ends with a sheet")
				}
				first := tr.Pages[i+1]
				if first.Document != p.Document || first.DocumentPage != 1 {
					t.Errorf("sheet page %d for document %d is followed by page %d of document %d", i+1, p.Document, first.DocumentPage, first.Document)
				}
				wantPatient, wantMRN, wantBirth := first.Patient, first.MRN, first.BirthDate
				if p.Sheet == scangen.SheetSeparator {
					wantPatient, wantMRN, wantBirth = "", "", ""
				}
				if p.Patient != wantPatient || p.MRN != wantMRN || p.BirthDate != wantBirth {
					t.Errorf("sheet page %d names %q %q %q; its document's patient is %q %q %q",
						i+1, p.Patient, p.MRN, p.BirthDate, first.Patient, first.MRN, first.BirthDate)
				}
				if p.Type != "" && (p.Sheet != scangen.SheetCover || p.Type != first.Type) {
					t.Errorf("%s sheet page %d has type %q, its document %q", p.Sheet, i+1, p.Type, first.Type)
				}

				// What the decoder reads on the scanned sheet.
				codes, err := sheets.Detect(context.Background(), imgs[i].img)
				if err != nil {
					t.Fatal(err)
				}
				got, ok := sheets.Classify(codes, "")
				switch {
				case !ok:
					t.Errorf("%s sheet page %d (rotation %d, skew %.2f, bilevel %t) not recognised; codes %v",
						p.Sheet, i+1, p.Rotation, p.Skew, p.Bilevel, codes)
				case got.Kind.String() != p.Sheet:
					t.Errorf("page %d read as a %s sheet, want %s", i+1, got.Kind, p.Sheet)
				case p.Sheet == scangen.SheetCover && (got.Authority != "MRN" || got.MRN != p.MRN || got.Type != coverType(p.Type)):
					t.Errorf("cover sheet page %d reads authority %q, MRN %q, type %q; want MRN, %q, %q (%s)",
						i+1, got.Authority, got.MRN, got.Type, p.MRN, coverType(p.Type), p.Type)
				}
			}
			if content != sheetOptions(tt.mode).Pages {
				t.Errorf("%d content and blank pages, want %d", content, sheetOptions(tt.mode).Pages)
			}
			for n := 1; n <= docs; n++ {
				if sheetOf[n] == "" {
					seen["no sheet"]++
				}
				switch want, got := tt.want(n), sheetOf[n]; want {
				case "?":
				case "cover or separator":
					if got == "" {
						t.Errorf("document %d has no sheet", n)
					}
				default:
					if got != want {
						t.Errorf("document %d has sheet %q, want %q", n, got, want)
					}
				}
			}
			for _, v := range tt.variety {
				if seen[v] == 0 {
					t.Errorf("the batch shows no %s: %v", v, seen)
				}
			}
			t.Logf("%d documents, %d pages, sheets %v; %v", docs, len(tr.Pages), sheetOf, seen)
		})
	}
	for _, v := range []string{"grey", "bilevel", "turned"} {
		if scans[v] == 0 {
			t.Errorf("no %s sheet page: %v", v, scans)
		}
	}
}

// coverType is the type a cover sheet's barcodes carry for the truth's
// type code.
func coverType(code string) string {
	if code == "" {
		return ""
	}
	loinc, ok := scangen.CoverSheetType(code)
	if !ok {
		return "unknown type " + code
	}
	return loinc
}

// pdfImage is one page image of a generated PDF.
type pdfImage struct {
	img *image.Gray
	raw []byte // the stream as stored
}

// imageXObject matches the dictionary and stream start of the page images
// that scangen's PDF writer writes.
var imageXObject = regexp.MustCompile(`/Subtype /Image /Width (\d+) /Height (\d+) /ColorSpace /DeviceGray ` +
	`/BitsPerComponent \d /Filter /(\w+)(?: /DecodeParms << [^>]* >>)? /Length (\d+) >>\nstream\n`)

// pdfImages decodes the page images of a PDF written by scangen: DCT (JPEG),
// CCITT G4 or Flate bilevel.
func pdfImages(t *testing.T, pdf []byte) []pdfImage {
	t.Helper()
	var out []pdfImage
	for _, m := range imageXObject.FindAllSubmatchIndex(pdf, -1) {
		field := func(i int) string { return string(pdf[m[2*i]:m[2*i+1]]) }
		w, _ := strconv.Atoi(field(1))
		h, _ := strconv.Atoi(field(2))
		n, _ := strconv.Atoi(field(4))
		raw := pdf[m[1] : m[1]+n]
		var img *image.Gray
		switch field(3) {
		case "DCTDecode":
			dec, err := jpeg.Decode(bytes.NewReader(raw))
			if err != nil {
				t.Fatalf("page %d: %v", len(out)+1, err)
			}
			g, ok := dec.(*image.Gray)
			if !ok {
				t.Fatalf("page %d: JPEG decodes as %T", len(out)+1, dec)
			}
			img = g
		case "CCITTFaxDecode":
			img = unpack(t, ccitt.NewReader(bytes.NewReader(raw), ccitt.MSB, ccitt.Group4, w, h, nil), w, h)
		case "FlateDecode":
			zr, err := zlib.NewReader(bytes.NewReader(raw))
			if err != nil {
				t.Fatal(err)
			}
			img = unpack(t, zr, w, h)
		default:
			t.Fatalf("page %d: filter %s", len(out)+1, field(3))
		}
		out = append(out, pdfImage{img: img, raw: raw})
	}
	return out
}

// unpack reads 1-bit rows (1 is white) into a grey image.
func unpack(t *testing.T, r io.Reader, w, h int) *image.Gray {
	t.Helper()
	packed, err := io.ReadAll(r)
	stride := (w + 7) / 8
	if err != nil || len(packed) != stride*h {
		t.Fatalf("bilevel image: %d bytes, want %d: %v", len(packed), stride*h, err)
	}
	img := image.NewGray(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			if packed[y*stride+x/8]&(0x80>>(x%8)) != 0 {
				img.Pix[y*w+x] = 255
			}
		}
	}
	return img
}
