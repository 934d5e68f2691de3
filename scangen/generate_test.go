package scangen

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"image"
	"image/jpeg"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"golang.org/x/image/tiff"
)

func needTool(t *testing.T, name string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		t.Skipf("%s not installed", name)
	}
}

func generateFile(t *testing.T, name string, opt Options) (string, Truth) {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	tr, err := WriteFile(context.Background(), path, opt)
	if err != nil {
		t.Fatalf("WriteFile: %v", err)
	}
	if len(tr.Pages) != opt.Pages {
		t.Fatalf("truth has %d pages, want %d", len(tr.Pages), opt.Pages)
	}
	return path, tr
}

// mixedOptions gives a small batch with every kind of page: grey and
// bilevel, turned, blank.
func mixedOptions(format Format, seed uint64) Options {
	return Options{Pages: 6, Seed: seed, Format: format, DPI: 200, Bilevel: 0.5,
		RotateProb: 0.3, BlankProb: 0.15, MaxSkew: 1.5}
}

// checkVariety makes sure a mixed batch exercises every kind of page.
func checkVariety(t *testing.T, tr Truth) {
	t.Helper()
	var bilevel, grey, turned, blank int
	for _, p := range tr.Pages {
		switch {
		case p.Blank:
			blank++
		case p.Bilevel:
			bilevel++
		default:
			grey++
		}
		if p.Rotation%180 == 90 {
			turned++
		}
	}
	if bilevel == 0 || grey == 0 || turned == 0 || blank == 0 {
		t.Fatalf("batch lacks variety: %d bilevel, %d grey, %d turned sideways, %d blank", bilevel, grey, turned, blank)
	}
}

func TestPDF(t *testing.T) {
	t.Parallel()
	model.ConfigPath = "disable"
	tests := []struct {
		name string
		opt  Options
		// encodings pdfimages must report, by page
		bilevelEnc string
	}{
		{"g4", mixedOptions(FormatPDF, 3), "ccitt"},
		{"flate fallback", func() Options { o := mixedOptions(FormatPDF, 3); o.BilevelFlate = true; return o }(), "image"},
		{"clean 300 dpi", Options{Pages: 2, Seed: 5, Format: FormatPDF, Clean: true, Bilevel: 0.5}, "ccitt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path, tr := generateFile(t, "batch.pdf", tt.opt)
			if !tt.opt.Clean {
				checkVariety(t, tr)
			}
			conf := model.NewDefaultConfiguration()
			conf.ValidationMode = model.ValidationStrict
			if err := api.ValidateFile(path, conf); err != nil {
				t.Fatalf("pdfcpu validate: %v", err)
			}
			if n, err := api.PageCountFile(path); err != nil || n != tt.opt.Pages {
				t.Fatalf("pdfcpu page count = %d, %v; want %d", n, err, tt.opt.Pages)
			}
			needTool(t, "pdfimages")
			out, err := exec.Command("pdfimages", "-list", path).CombinedOutput()
			if err != nil {
				t.Fatalf("pdfimages -list: %v\n%s", err, out)
			}
			// page num type width height color comp bpc enc interp object ID x-ppi y-ppi size ratio
			lines := strings.Split(strings.TrimSpace(string(out)), "\n")[2:]
			if len(lines) != len(tr.Pages) {
				t.Fatalf("pdfimages lists %d images, want %d:\n%s", len(lines), len(tr.Pages), out)
			}
			for i, l := range lines {
				f := strings.Fields(l)
				p := tr.Pages[i]
				enc, bpc := "jpeg", "8"
				if p.Bilevel {
					enc, bpc = tt.bilevelEnc, "1"
				}
				if f[3] != itoa(p.Width) || f[4] != itoa(p.Height) || f[7] != bpc || f[8] != enc || f[12] != itoa(p.DPI) {
					t.Errorf("page %d: pdfimages says %q; truth %dx%d bilevel=%t dpi %d", i+1, l, p.Width, p.Height, p.Bilevel, p.DPI)
				}
			}
			needTool(t, "pdftoppm")
			// Render every page at low resolution: poppler must decode
			// each image (it reports errors on stderr).
			dir := t.TempDir()
			cmd := exec.Command("pdftoppm", "-r", "20", "-gray", path, filepath.Join(dir, "p"))
			out, err = cmd.CombinedOutput()
			if err != nil || len(bytes.TrimSpace(out)) > 0 {
				t.Fatalf("pdftoppm: %v\n%s", err, out)
			}
			files, _ := filepath.Glob(filepath.Join(dir, "p-*.pgm"))
			if len(files) != len(tr.Pages) {
				t.Fatalf("pdftoppm wrote %d pages, want %d", len(files), len(tr.Pages))
			}
			slices.Sort(files)
			for i, f := range files {
				// Page size follows the image: Letter, landscape when turned.
				w, h, mean := readPGM(t, f)
				if (w > h) != (tr.Pages[i].Rotation%180 == 90) {
					t.Errorf("page %d rendered %dx%d with rotation %d", i+1, w, h, tr.Pages[i].Rotation)
				}
				// Paper is white: an inverted bilevel page would be dark.
				if mean < 200 {
					t.Errorf("page %d (bilevel %t) renders with mean grey %.0f: inverted?", i+1, tr.Pages[i].Bilevel, mean)
				}
			}
		})
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// readPGM returns the size and mean grey level of a binary PGM file.
func readPGM(t *testing.T, path string) (w, h int, mean float64) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`^P5\s+(\d+)\s+(\d+)\s+255\s`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("%s is not an 8-bit PGM", path)
	}
	w, h = atoi(string(m[1])), atoi(string(m[2]))
	pix := b[len(m[0]):]
	if len(pix) != w*h {
		t.Fatalf("%s: %d pixels, want %d", path, len(pix), w*h)
	}
	sum := 0
	for _, v := range pix {
		sum += int(v)
	}
	return w, h, float64(sum) / float64(len(pix))
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

func TestTIFF(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		opt  Options
	}{
		{"g4 and deflate", mixedOptions(FormatTIFF, 3)},
		{"flate bilevel, raw grey", func() Options {
			o := mixedOptions(FormatTIFF, 3)
			o.BilevelFlate, o.TIFFRaw = true, true
			return o
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path, tr := generateFile(t, "batch.tif", tt.opt)
			checkVariety(t, tr)
			// The pages as Generate produced them, to compare pixels with.
			want := make([]*image.Gray, len(tr.Pages))
			for i := range want {
				pg, _ := testPage(t, tt.opt, i)
				want[i] = pg.img
			}
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			img, err := tiff.Decode(f)
			if err != nil {
				t.Fatalf("x/image/tiff: %v", err)
			}
			checkGray(t, 1, img, want[0])

			needTool(t, "tiffinfo")
			out, err := exec.Command("tiffinfo", path).CombinedOutput()
			if err != nil {
				t.Fatalf("tiffinfo: %v\n%s", err, out)
			}
			if n := strings.Count(string(out), "TIFF Directory"); n != len(tr.Pages) {
				t.Fatalf("tiffinfo sees %d directories, want %d:\n%s", n, len(tr.Pages), out)
			}
			if strings.Contains(strings.ToLower(string(out)), "warning") || strings.Contains(string(out), "rror") {
				t.Errorf("tiffinfo complains:\n%s", out)
			}
			if !strings.Contains(string(out), "Resolution: "+itoa(tr.Pages[0].DPI)+", "+itoa(tr.Pages[0].DPI)+" pixels/inch") {
				t.Errorf("tiffinfo does not show the resolution:\n%s", out)
			}
			needTool(t, "tiffsplit")
			dir := t.TempDir()
			cmd := exec.Command("tiffsplit", path, filepath.Join(dir, "p-"))
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("tiffsplit: %v\n%s", err, out)
			}
			files, _ := filepath.Glob(filepath.Join(dir, "p-*.tif"))
			if len(files) != len(tr.Pages) {
				t.Fatalf("tiffsplit wrote %d pages, want %d", len(files), len(tr.Pages))
			}
			slices.Sort(files)
			// Every page decodes to exactly the pixels generated.
			for i, name := range files {
				b, err := os.ReadFile(name)
				if err != nil {
					t.Fatal(err)
				}
				img, err := tiff.Decode(bytes.NewReader(b))
				if err != nil {
					t.Fatalf("page %d: x/image/tiff: %v", i+1, err)
				}
				checkGray(t, i+1, img, want[i])
			}
		})
	}
}

// checkGray compares a decoded page with the generated one.
func checkGray(t *testing.T, page int, got image.Image, want *image.Gray) {
	t.Helper()
	g, ok := got.(*image.Gray)
	if !ok {
		t.Fatalf("page %d decoded as %T, want *image.Gray", page, got)
	}
	if p, ok := sameImage(g, want); !ok {
		t.Errorf("page %d: decoded pixels differ at %v (size %v, want %v)", page, p, g.Rect.Size(), want.Rect.Size())
	}
}

func TestSingleImage(t *testing.T) {
	t.Parallel()
	for _, format := range []Format{FormatPNG, FormatJPEG} {
		t.Run(string(format), func(t *testing.T) {
			opt := Options{Pages: 1, Seed: 41, Format: format, DPI: 200, MaxSkew: 1}
			path, tr := generateFile(t, "page."+string(format), opt)
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var img image.Image
			if format == FormatPNG {
				img, err = png.Decode(bytes.NewReader(b))
				if !bytes.Contains(b[:64], []byte("pHYs")) {
					t.Error("no pHYs chunk")
				}
			} else {
				img, err = jpeg.Decode(bytes.NewReader(b))
				if !bytes.Equal(b[6:11], []byte("JFIF\x00")) || int(b[14])<<8|int(b[15]) != 200 {
					t.Errorf("no JFIF segment with 200 dpi: % x", b[:20])
				}
			}
			if err != nil {
				t.Fatal(err)
			}
			if img.Bounds().Dx() != 1700 || img.Bounds().Dy() != 2200 {
				t.Errorf("size %v, want 1700x2200", img.Bounds().Size())
			}
			if tr.Pages[0].Text == "" || tr.Pages[0].Width != 1700 {
				t.Errorf("truth %+v", tr.Pages[0])
			}
		})
	}
}

func TestDeterministic(t *testing.T) {
	t.Parallel()
	gen := func(seed uint64, workers int) ([]byte, Truth) {
		opt := mixedOptions(FormatPDF, seed)
		opt.Pages, opt.Workers = 4, workers
		var buf bytes.Buffer
		tr, err := Generate(context.Background(), &buf, opt)
		if err != nil {
			t.Fatal(err)
		}
		return buf.Bytes(), tr
	}
	a, ta := gen(7, 1)
	b, tb := gen(7, 3)
	if !bytes.Equal(a, b) {
		t.Error("same seed, different bytes")
	}
	ja, _ := json.Marshal(ta)
	jb, _ := json.Marshal(tb)
	if !bytes.Equal(ja, jb) {
		t.Error("same seed, different truth")
	}
	c, _ := gen(8, 2)
	if bytes.Equal(a, c) {
		t.Error("different seeds, same bytes")
	}
}

func TestTruthJSON(t *testing.T) {
	_, tr := testPage(t, Options{Seed: 3, DPI: 100, Clean: true}, 0)
	b, err := json.Marshal(Truth{Format: FormatPDF, Seed: 3, Pages: []PageTruth{tr}})
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	page := m["pages"].([]any)[0].(map[string]any)
	for _, k := range []string{"number", "text", "rotation", "skew_deg", "blank", "dpi", "bilevel", "font",
		"layout", "width", "height", "title", "document", "document_page", "document_pages", "patient", "mrn"} {
		if _, ok := page[k]; !ok {
			t.Errorf("page truth has no %q: %s", k, b)
		}
	}
	for _, k := range []string{"format", "seed", "pages"} {
		if _, ok := m[k]; !ok {
			t.Errorf("truth has no %q", k)
		}
	}
}

// TestContent checks, over many planned batches, that every layout and
// document type shows up and that the truth carries what the page shows.
func TestContent(t *testing.T) {
	t.Parallel()
	layouts, types := map[string]int{}, map[string]int{}
	footer := regexp.MustCompile(`Page (\d+) of (\d+)$`)
	var firstPages, withMRN int
	for seed := range uint64(24) {
		opt := Options{Pages: 12, Seed: seed, Format: FormatPDF, DPI: 100, BlankProb: 0.1}
		opt.normalize()
		pages := plan(&opt)
		patients := map[string]bool{}
		for i := range pages {
			_, tr, err := renderPage(&pages[i], seed)
			if err != nil {
				t.Fatal(err)
			}
			layouts[tr.Layout]++
			if tr.Blank {
				if tr.Text != "" || tr.Document != 0 || tr.Type != "" {
					t.Errorf("blank page with content: %+v", tr)
				}
				continue
			}
			types[tr.Type]++
			patients[tr.MRN] = true
			if kindByCode(tr.Type) == nil {
				t.Errorf("seed %d page %d: unknown type %q", seed, i+1, tr.Type)
			}
			// The footer, when the document prints one, matches the truth.
			if m := footer.FindStringSubmatch(tr.Text); m != nil && (atoi(m[1]) != tr.DocumentPage || atoi(m[2]) != tr.DocumentPages) {
				t.Errorf("seed %d page %d: footer does not match truth %d/%d:\n%s", seed, i+1, tr.DocumentPage, tr.DocumentPages, tr.Text)
			}
			if tr.DocumentPage == 1 {
				firstPages++
				if strings.Contains(tr.Text, strings.TrimLeft(tr.MRN, "0")) {
					withMRN++
				}
				// The MRN the truth says is printed is on the page (letters
				// may name the patient only).
				if tr.PrintedMRN != "" && tr.Layout != LayoutLetter && !strings.Contains(tr.Text, tr.PrintedMRN) {
					t.Errorf("seed %d page %d: printed MRN %q not on the page:\n%s", seed, i+1, tr.PrintedMRN, tr.Text)
				}
				if tr.OtherMRN != "" && tr.Layout != LayoutLetter && !strings.Contains(tr.Text, tr.OtherMRNLabel+" "+tr.OtherMRN) {
					t.Errorf("seed %d page %d: other MRN %q %q not on the page:\n%s", seed, i+1, tr.OtherMRNLabel, tr.OtherMRN, tr.Text)
				}
				if tr.OtherMRNLabel == "MRN:" && !tr.IDConflict {
					t.Errorf("seed %d page %d: another facility's MRN labelled plainly, but no conflict flagged", seed, i+1)
				}
			}
			// First pages of prose documents are full when the document
			// goes on; one-page documents may be short.
			minChars := 250
			if tr.DocumentPages > 1 {
				minChars = 800
			}
			if tr.DocumentPage == 1 && (tr.Layout == LayoutSingle || tr.Layout == LayoutTwoColumn) && len(tr.Text) < minChars {
				t.Errorf("seed %d page %d (%s %d/%d): only %d characters", seed, i+1, tr.Layout, tr.DocumentPage, tr.DocumentPages, len(tr.Text))
			}
		}
		// Documents are whole: the last page of the batch ends its document.
		last := pages[len(pages)-1].content
		for j := len(pages) - 1; j >= 0 && last.blank; j-- {
			last = pages[j].content
		}
		if !last.blank && last.docPage != last.docPages {
			t.Errorf("seed %d: batch ends on page %d of %d", seed, last.docPage, last.docPages)
		}
	}
	// First pages print the MRN, except for letters and fax covers that
	// name the patient only, documents that leave it out or print another
	// facility's instead, and the occasional typo.
	if withMRN < firstPages*6/10 {
		t.Errorf("only %d of %d first pages show their MRN", withMRN, firstPages)
	}
	for _, l := range []string{LayoutSingle, LayoutTwoColumn, LayoutTable, LayoutLetter, LayoutForm, LayoutCard, LayoutColumns, LayoutBlank} {
		if layouts[l] == 0 {
			t.Errorf("layout %s never generated: %v", l, layouts)
		}
	}
	for _, ty := range DocumentTypes() {
		if types[ty] == 0 {
			t.Errorf("type %s never generated: %v", ty, types)
		}
	}
	t.Logf("layouts: %v", layouts)
	t.Logf("types: %v", types)
}

func TestOptionsErrors(t *testing.T) {
	tests := []struct {
		name string
		opt  Options
	}{
		{"no format", Options{Pages: 1}},
		{"unknown format", Options{Format: "gif"}},
		{"png with two pages", Options{Format: FormatPNG, Pages: 2}},
		{"jpeg with two pages", Options{Format: FormatJPEG, Pages: 2}},
		{"negative pages", Options{Format: FormatPDF, Pages: -1}},
		{"dpi too low", Options{Format: FormatPDF, DPI: 10}},
		{"bilevel over 1", Options{Format: FormatPDF, Bilevel: 1.5}},
		{"negative rotate", Options{Format: FormatPDF, RotateProb: -0.1}},
		{"blank over 1", Options{Format: FormatPDF, BlankProb: 2}},
		{"skew too large", Options{Format: FormatPDF, MaxSkew: 90}},
		{"jpeg quality", Options{Format: FormatPDF, JPEGQuality: 101}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Generate(context.Background(), &bytes.Buffer{}, tt.opt); err == nil {
				t.Error("no error")
			}
		})
	}
}

func TestFormatFromPath(t *testing.T) {
	tests := []struct {
		path string
		want Format
		ok   bool
	}{
		{"a/b.pdf", FormatPDF, true},
		{"B.PDF", FormatPDF, true},
		{"x.tif", FormatTIFF, true},
		{"x.tiff", FormatTIFF, true},
		{"x.jpg", FormatJPEG, true},
		{"x.jpeg", FormatJPEG, true},
		{"x.png", FormatPNG, true},
		{"x.gif", "", false},
		{"noext", "", false},
	}
	for _, tt := range tests {
		got, err := FormatFromPath(tt.path)
		if got != tt.want || (err == nil) != tt.ok {
			t.Errorf("FormatFromPath(%q) = %q, %v", tt.path, got, err)
		}
	}
}

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "batch.pdf")
	if _, err := WriteFile(context.Background(), path, Options{Pages: 2, DPI: 100}); err != nil {
		t.Fatal(err)
	}
	names, _ := filepath.Glob(filepath.Join(dir, "*"))
	if len(names) != 1 || names[0] != path {
		t.Errorf("directory holds %v, want only %s", names, path)
	}
	// A cancelled run leaves nothing behind, not even the temporary file.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	other := filepath.Join(dir, "cancelled.tif")
	if _, err := WriteFile(ctx, other, Options{Pages: 3, DPI: 100}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled WriteFile: %v", err)
	}
	names, _ = filepath.Glob(filepath.Join(dir, "*"))
	if len(names) != 1 {
		t.Errorf("after a cancelled run the directory holds %v", names)
	}
}

func TestCancelBetweenPages(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	w := &cancelAfter{n: 1, cancel: cancel}
	_, err := Generate(ctx, w, Options{Pages: 50, DPI: 100, Format: FormatTIFF, Workers: 1})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

// cancelAfter cancels its context once n writes have happened.
type cancelAfter struct {
	n      int
	cancel func()
}

func (c *cancelAfter) Write(p []byte) (int, error) {
	if c.n--; c.n <= 0 {
		c.cancel()
	}
	return len(p), nil
}

// BenchmarkGenerate measures a realistic 20-page 300-dpi batch (run with
// go test -bench Generate ./scangen/).
func BenchmarkGenerate(b *testing.B) {
	for _, format := range []Format{FormatPDF, FormatTIFF} {
		b.Run(string(format), func(b *testing.B) {
			opt := DefaultOptions()
			opt.Pages, opt.Seed, opt.Format, opt.DPI = 20, 1, format, 300
			var size int
			for b.Loop() {
				var buf bytes.Buffer
				if _, err := Generate(context.Background(), &buf, opt); err != nil {
					b.Fatal(err)
				}
				size = buf.Len()
			}
			b.ReportMetric(float64(size)/1e6, "MB")
		})
	}
}
