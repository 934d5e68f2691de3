package ocr

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/otiai10/gosseract/v2"
)

// Benchmarks. The reference for OCR throughput is the tesseract command
// line on the same page with OMP_THREAD_LIMIT=1 and default settings
// (psm 3): compare BenchmarkRecognize/dense with BenchmarkTesseractCLI,
// and BenchmarkThroughput/pool with BenchmarkThroughput/cli (two at once on
// two cores). Run, from the repository root:
//
//	go test ./ocr/ -run '^$' -bench . -benchtime 5x
//
// (-benchtime 5x: a dense page takes seconds.)

var (
	denseMu   sync.Mutex
	densePg   *page
	denseFile string
)

// densePage is a full Letter page of 10.5-pt text, 40 lines.
func densePage(tb testing.TB) page {
	tb.Helper()
	denseMu.Lock()
	defer denseMu.Unlock()
	if densePg == nil {
		p := renderPage(tb, denseLines(40))
		densePg = &p
	}
	return *densePg
}

// densePNG writes the dense page as PNG (as a scanner or split stage
// would hand it to the command line) and returns its path.
func densePNG(b *testing.B) string {
	b.Helper()
	p := densePage(b)
	dir := b.TempDir()
	path := filepath.Join(dir, "page.png")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	if err := png.Encode(f, p.img); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	return path
}

func newBenchEngine(b *testing.B) *Engine {
	b.Helper()
	e, err := NewEngine(Options{RecycleAfter: -1})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { e.Close() })
	return e
}

func reportPagesPerMin(b *testing.B, start time.Time, pages int) {
	b.ReportMetric(float64(pages)/time.Since(start).Minutes(), "pages/min")
}

// BenchmarkRecognize is the whole Recognize on one page: upright, skewed
// by 2 degrees (deskew rotation included), and turned by 90 degrees (OSD
// and rotation included).
func BenchmarkRecognize(b *testing.B) {
	p := densePage(b)
	cases := []struct {
		name string
		img  *image.Gray
	}{
		{"dense", p.img},
		{"dense-skew2", rotateSmall(p.img, -2)},
		{"dense-rot90", rotate90s(p.img, 90)},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			e := newBenchEngine(b)
			ctx := context.Background()
			var res Result
			start := time.Now()
			n := 0
			for b.Loop() {
				var err error
				if res, _, err = e.Recognize(ctx, c.img, testDPI); err != nil {
					b.Fatal(err)
				}
				n++
			}
			reportPagesPerMin(b, start, n)
			b.ReportMetric(float64(len(res.Words)), "words")
			b.ReportMetric(cer(res.Text, p.truth)*100, "CER%")
		})
	}
}

// BenchmarkTesseractCLI runs `tesseract page.png out` on the dense page,
// the reference for BenchmarkRecognize/dense.
func BenchmarkTesseractCLI(b *testing.B) {
	bin, err := exec.LookPath("tesseract")
	if err != nil {
		b.Skip("tesseract command not installed")
	}
	in := densePNG(b)
	out := filepath.Join(b.TempDir(), "out")
	start := time.Now()
	n := 0
	for b.Loop() {
		runCLI(b, bin, in, out)
		n++
	}
	reportPagesPerMin(b, start, n)
}

func runCLI(b *testing.B, bin, in, out string) {
	cmd := exec.Command(bin, in, out)
	cmd.Env = append(os.Environ(), "OMP_THREAD_LIMIT=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		b.Fatalf("tesseract: %v: %s", err, stderr.Bytes())
	}
}

// BenchmarkVersusCLI alternates Recognize and the tesseract command on
// the dense page, so that load from other processes hits both alike, and
// reports the mean time of each and their ratio: throughput of Recognize
// relative to the command line (the acceptance criterion is >= 0.90).
func BenchmarkVersusCLI(b *testing.B) {
	bin, err := exec.LookPath("tesseract")
	if err != nil {
		b.Skip("tesseract command not installed")
	}
	p := densePage(b)
	in := densePNG(b)
	out := filepath.Join(b.TempDir(), "out")
	e := newBenchEngine(b)
	ctx := context.Background()
	var ours, cli time.Duration
	for b.Loop() {
		t0 := time.Now()
		if _, _, err := e.Recognize(ctx, p.img, testDPI); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		runCLI(b, bin, in, out)
		ours += t1.Sub(t0)
		cli += time.Since(t1)
	}
	n := float64(b.N)
	b.ReportMetric(ours.Seconds()*1000/n, "recognize-ms")
	b.ReportMetric(cli.Seconds()*1000/n, "cli-ms")
	b.ReportMetric(cli.Seconds()/ours.Seconds(), "throughput-ratio")
}

// BenchmarkThroughput runs pages on every core at once (GOMAXPROCS
// goroutines): through a Pool, and as parallel tesseract processes.
func BenchmarkThroughput(b *testing.B) {
	p := densePage(b)
	b.Run("pool", func(b *testing.B) {
		pool, err := NewPool(0, Options{RecycleAfter: -1})
		if err != nil {
			b.Fatal(err)
		}
		defer pool.Close()
		ctx := context.Background()
		start := time.Now()
		b.RunParallel(func(pb *testing.PB) {
			e, err := pool.Acquire(ctx)
			if err != nil {
				b.Error(err)
				return
			}
			defer pool.Release(e)
			for pb.Next() {
				if _, _, err := e.Recognize(ctx, p.img, testDPI); err != nil {
					b.Error(err)
					return
				}
			}
		})
		reportPagesPerMin(b, start, b.N)
	})
	b.Run("cli", func(b *testing.B) {
		bin, err := exec.LookPath("tesseract")
		if err != nil {
			b.Skip("tesseract command not installed")
		}
		in := densePNG(b)
		dir := b.TempDir()
		var mu sync.Mutex
		seq := 0
		start := time.Now()
		b.RunParallel(func(pb *testing.PB) {
			mu.Lock()
			seq++
			out := filepath.Join(dir, "out"+string(rune('a'+seq)))
			mu.Unlock()
			for pb.Next() {
				runCLI(b, bin, in, out)
			}
		})
		reportPagesPerMin(b, start, b.N)
	})
}

// BenchmarkAnalyse is the pre-OCR page analysis: reduction, blank
// measure, skew search and the vertical-lines check.
func BenchmarkAnalyse(b *testing.B) {
	p := densePage(b)
	skewed := rotateSmall(p.img, -2)
	for b.Loop() {
		analysePage(skewed, testDPI)
	}
}

// BenchmarkDeskewRotate is the bilinear rotation of a full page.
func BenchmarkDeskewRotate(b *testing.B) {
	p := densePage(b)
	for b.Loop() {
		rotateSmall(p.img, 2)
	}
}

func BenchmarkRotate90(b *testing.B) {
	p := densePage(b)
	for b.Loop() {
		rotate90s(p.img, 90)
	}
}

// BenchmarkBlankPage is Recognize on a speckled blank page: analysis only,
// no Tesseract call.
func BenchmarkBlankPage(b *testing.B) {
	e := newBenchEngine(b)
	img := speckle(whitePage(), 0.02, 0.01, 7)
	ctx := context.Background()
	for b.Loop() {
		res, _, err := e.Recognize(ctx, img, testDPI)
		if err != nil || !res.Blank {
			b.Fatalf("blank page: blank=%v err=%v", res.Blank, err)
		}
	}
}

// BenchmarkEncode is turning the page into bytes for gosseract, and
// BenchmarkHandOff the same plus leptonica decoding them
// (SetImageFromBytes), per format.
func BenchmarkEncode(b *testing.B) {
	p := densePage(b)
	for _, f := range encodings {
		b.Run(f.name, func(b *testing.B) {
			var buf []byte
			for b.Loop() {
				buf = f.encode(buf, p.img)
			}
			b.ReportMetric(float64(len(buf))/1e6, "MB")
		})
	}
}

func BenchmarkHandOff(b *testing.B) {
	p := densePage(b)
	c := gosseract.NewClient()
	defer c.Close()
	for _, f := range encodings {
		b.Run(f.name, func(b *testing.B) {
			var buf []byte
			for b.Loop() {
				buf = f.encode(buf, p.img)
				if err := c.SetImageFromBytes(buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

var encodings = []struct {
	name   string
	encode func([]byte, *image.Gray) []byte
}{
	{"pgm", encodePGM},
	{"bmp", func(buf []byte, g *image.Gray) []byte { return encodeBMP(buf, g, testDPI) }},
	{"png-default", func(buf []byte, g *image.Gray) []byte { return encodePNG(buf, g, png.DefaultCompression) }},
	{"png-speed", func(buf []byte, g *image.Gray) []byte { return encodePNG(buf, g, png.BestSpeed) }},
}

func encodePNG(buf []byte, g *image.Gray, level png.CompressionLevel) []byte {
	w := bytes.NewBuffer(buf[:0])
	enc := png.Encoder{CompressionLevel: level}
	if err := enc.Encode(w, g); err != nil {
		panic(err)
	}
	return w.Bytes()
}

// BenchmarkOSD is one orientation detection on the dense page, as
// Recognize runs it (halved to 150 dpi), and at full resolution.
func BenchmarkOSD(b *testing.B) {
	p := densePage(b)
	d, err := newOSDDetector("")
	if err != nil {
		b.Fatal(err)
	}
	defer d.close()
	img := rotate90s(p.img, 90)
	for _, c := range []struct {
		name string
		img  *image.Gray
		dpi  int
	}{{"150dpi", halve(img), testDPI / 2}, {"300dpi", img, testDPI}} {
		b.Run(c.name, func(b *testing.B) {
			var buf []byte
			for b.Loop() {
				var r int
				if r, _, buf, err = d.detect(c.img, c.dpi, buf); err != nil || r != 270 {
					b.Fatalf("osd: rotation %d, %v", r, err)
				}
			}
		})
	}
}

// BenchmarkShrink is the 300-to-200-dpi copy a 300-dpi page is read on.
func BenchmarkShrink(b *testing.B) {
	g := densePage(b).img
	for b.Loop() {
		shrink(g, pageW*2/3, pageH*2/3)
	}
}
