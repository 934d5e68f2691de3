package assemble

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"

	"paperchart/ocr"
)

// textPage draws words in lines onto a white w×h image with basicfont and
// returns the image and the words' pixel boxes.
func textPage(w, h int, lines [][]string) (*image.Gray, []ocr.Word) {
	img := image.NewGray(image.Rect(0, 0, w, h))
	draw.Draw(img, img.Bounds(), image.NewUniform(color.White), image.Point{}, draw.Src)
	face := basicfont.Face7x13
	d := &font.Drawer{Dst: img, Src: image.NewUniform(color.Black), Face: face}
	var words []ocr.Word
	y := 60
	for li, line := range lines {
		x := 40
		for _, wd := range line {
			d.Dot = fixed.P(x, y)
			d.DrawString(wd)
			adv := d.MeasureString(wd).Ceil()
			words = append(words, ocr.Word{Text: wd, Confidence: 95, X0: x, Y0: y - 11, X1: x + adv, Y1: y + 2, Line: li})
			x += adv + 14
		}
		y += 30
	}
	return img, words
}

func encodeJPEG(t *testing.T, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func encodePNG(t *testing.T, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func need(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed (poppler-utils)", tool)
		}
	}
}

var bboxRE = regexp.MustCompile(`<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>`)

func TestSearchablePDF(t *testing.T) {
	need(t, "pdftotext", "pdftoppm")
	img1, words1 := textPage(850, 1100, [][]string{{"Discharge", "summary"}, {"Blood", "pressure", "120/80"}})
	img2, words2 := textPage(600, 800, [][]string{{"Second", "page", "(final)"}, {"Größe", "naïve", "€5", "日本"}})
	// Page 2 as pure black and white, so that it is embedded 1 bit deep.
	for i, v := range img2.Pix {
		if v < 128 {
			img2.Pix[i] = 0
		} else {
			img2.Pix[i] = 255
		}
	}
	pages := []Page{
		{Image: encodeJPEG(t, img1), Width: 850, Height: 1100, DPI: 100, Words: words1},
		{Image: encodePNG(t, img2), Width: 600, Height: 800, DPI: 100, Words: words2},
	}
	var out bytes.Buffer
	if err := SearchablePDF(context.Background(), &out, pages); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "out.pdf")
	if err := os.WriteFile(path, out.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}

	t.Run("pdfcpu validates", func(t *testing.T) {
		model.ConfigPath = "disable"
		conf := model.NewDefaultConfiguration()
		conf.ValidationMode = model.ValidationStrict
		if err := api.Validate(bytes.NewReader(out.Bytes()), conf); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("info has only the producer", func(t *testing.T) {
		info, err := exec.Command("pdfinfo", path).Output()
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(info), "Producer:        paperchart") || strings.Contains(string(info), "Title:") || strings.Contains(string(info), "Author:") {
			t.Errorf("pdfinfo:\n%s", info)
		}
	})
	t.Run("text in order", func(t *testing.T) {
		txt, err := exec.Command("pdftotext", "-layout", path, "-").Output()
		if err != nil {
			t.Fatal(err)
		}
		got := strings.Fields(string(txt))
		want := []string{"Discharge", "summary", "Blood", "pressure", "120/80", "Second", "page", "(final)", "Größe", "naïve", "€5", "??"}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("pdftotext words\n got %q\nwant %q", got, want)
		}
	})
	t.Run("word boxes", func(t *testing.T) {
		html, err := exec.Command("pdftotext", "-bbox", path, "-").Output()
		if err != nil {
			t.Fatal(err)
		}
		ms := bboxRE.FindAllStringSubmatch(string(html), -1)
		all := append(append([]ocr.Word{}, words1...), words2...)
		if len(ms) != len(all) {
			t.Fatalf("pdftotext found %d words, want %d", len(ms), len(all))
		}
		for i, m := range ms {
			wd := all[i]
			s := 72.0 / 100
			want := []float64{float64(wd.X0) * s, float64(wd.Y0) * s, float64(wd.X1) * s, float64(wd.Y1) * s}
			for j := 0; j < 4; j++ {
				got, _ := strconv.ParseFloat(m[j+1], 64)
				if math.Abs(got-want[j]) > 3 {
					t.Errorf("word %d %q coordinate %d: got %.1f pt, want %.1f±3", i, m[5], j, got, want[j])
				}
			}
		}
	})
	t.Run("renders", func(t *testing.T) {
		dir := t.TempDir()
		if out, err := exec.Command("pdftoppm", "-r", "50", "-gray", path, filepath.Join(dir, "p")).CombinedOutput(); err != nil || len(out) > 0 {
			t.Fatalf("pdftoppm: %v %s", err, out)
		}
		files, _ := filepath.Glob(filepath.Join(dir, "p-*.pgm"))
		if len(files) != 2 {
			t.Fatalf("rendered %d pages, want 2", len(files))
		}
	})
	t.Run("JPEG embedded unchanged", func(t *testing.T) {
		if !bytes.Contains(out.Bytes(), pages[0].Image) {
			t.Error("JPEG bytes were not embedded as is")
		}
		if !bytes.Contains(out.Bytes(), []byte("/BitsPerComponent 1")) {
			t.Error("black-and-white page not embedded 1 bit deep")
		}
	})
}

func TestSearchablePDFErrors(t *testing.T) {
	img, _ := textPage(100, 100, nil)
	good := encodePNG(t, img)
	tests := []struct {
		name  string
		pages []Page
	}{
		{"no pages", nil},
		{"zero dpi", []Page{{Image: good, Width: 100, Height: 100}}},
		{"size mismatch", []Page{{Image: good, Width: 200, Height: 100, DPI: 100}}},
		{"not an image", []Page{{Image: []byte("hello"), Width: 100, Height: 100, DPI: 100}}},
		{"truncated JPEG header", []Page{{Image: []byte{0xFF, 0xD8, 0xFF}, Width: 100, Height: 100, DPI: 100}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := SearchablePDF(context.Background(), &bytes.Buffer{}, tc.pages); err == nil {
				t.Error("want an error")
			}
		})
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := SearchablePDF(ctx, &bytes.Buffer{}, []Page{{Image: good, Width: 100, Height: 100, DPI: 100}}); err == nil {
		t.Error("cancelled context: want an error")
	}
}

func TestWinAnsi(t *testing.T) {
	tests := []struct{ in, want string }{
		{"abc", "abc"},
		{"é", "\xe9"},
		{"€", "\x80"},
		{"—", "\x97"},
		{"日", "?"},
		{"a\tb", "a?b"},
	}
	for _, tc := range tests {
		if got := string(winAnsi(tc.in)); got != tc.want {
			t.Errorf("winAnsi(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	var b bytes.Buffer
	writeEscaped(&b, []byte(`a(b)c\`+"\xe9"))
	if got := b.String(); got != `a\(b\)c\\\351` {
		t.Errorf("escaped %q", got)
	}
}

// TestRasterAndVisible: a page given as a raster is embedded from it, not
// from its encoded image, losslessly; visible lines are drawn and can be
// extracted.
func TestRasterAndVisible(t *testing.T) {
	need(t, "pdftotext", "pdfimages")
	raster, words := textPage(400, 300, [][]string{{"KEPT"}})
	stale := image.NewGray(raster.Bounds()) // all black: must not be used
	pg := Page{Image: encodeJPEG(t, stale), Raster: raster, Width: 400, Height: 300, DPI: 100, Words: words,
		Visible: []Text{{X: 10, Y: 200, Size: 10, Text: "REL-7 page 1 of 1", Backed: true}}}
	dir := t.TempDir()
	path := filepath.Join(dir, "p.pdf")
	var buf bytes.Buffer
	if err := SearchablePDF(context.Background(), &buf, []Page{pg}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	txt, err := exec.Command("pdftotext", path, "-").Output()
	if err != nil || !strings.Contains(string(txt), "KEPT") || !strings.Contains(string(txt), "REL-7 page 1 of 1") {
		t.Errorf("text %q, %v", txt, err)
	}
	if out, err := exec.Command("pdfimages", "-png", path, filepath.Join(dir, "img")).CombinedOutput(); err != nil {
		t.Fatalf("pdfimages: %v %s", err, out)
	}
	f, err := os.Open(filepath.Join(dir, "img-000.png"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	for y := 0; y < 300; y++ {
		for x := 0; x < 400; x++ {
			if g := color.GrayModel.Convert(got.At(x, y)).(color.Gray).Y; g != raster.GrayAt(x, y).Y {
				t.Fatalf("embedded pixel (%d,%d) is %d, the raster's %d", x, y, g, raster.GrayAt(x, y).Y)
			}
		}
	}
}
