package ocr

import (
	"context"
	"errors"
	"image"
	"math"
	"os"
	"sync"
	"testing"
)

// sharedEngine is one Engine for the sequential tests (loading the language
// data once saves time).
func sharedEngine(t *testing.T) *Engine {
	t.Helper()
	engineMu.Lock()
	defer engineMu.Unlock()
	if engine == nil {
		e, err := NewEngine(Options{})
		if err != nil {
			t.Fatalf("NewEngine: %v", err)
		}
		engine = e
	}
	return engine
}

var (
	engineMu sync.Mutex
	engine   *Engine
)

var (
	clinicalMu sync.Mutex
	clinical   *page
)

func clinicalPage(t *testing.T) page {
	t.Helper()
	clinicalMu.Lock()
	defer clinicalMu.Unlock()
	if clinical == nil {
		p := renderPage(t, clinicalLines)
		clinical = &p
	}
	return *clinical
}

func TestThreadLimitSet(t *testing.T) {
	if _, ok := os.LookupEnv(threadLimitVar); !ok {
		t.Fatalf("%s not set: TestMain should have re-executed the test binary", threadLimitVar)
	}
}

// checkWordBox asserts the box Tesseract reports for word matches where it
// was drawn, within tol pixels on each edge.
func checkWordBox(t *testing.T, res Result, word string, want image.Rectangle, tol int) {
	t.Helper()
	for _, w := range res.Words {
		if w.Text != word {
			continue
		}
		got := image.Rect(w.X0, w.Y0, w.X1, w.Y1)
		if abs(got.Min.X-want.Min.X) > tol || abs(got.Min.Y-want.Min.Y) > tol ||
			abs(got.Max.X-want.Max.X) > tol || abs(got.Max.Y-want.Max.Y) > tol {
			t.Errorf("box of %q = %v, drawn at %v (tolerance %d px)", word, got, want, tol)
		}
		return
	}
	t.Errorf("word %q not recognised", word)
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func checkBoxesInside(t *testing.T, res Result) {
	t.Helper()
	for i, w := range res.Words {
		if w.X0 < 0 || w.Y0 < 0 || w.X1 > res.Width || w.Y1 > res.Height || w.X0 >= w.X1 || w.Y0 >= w.Y1 {
			t.Errorf("word %d box (%d,%d)-(%d,%d) outside the %dx%d image", i, w.X0, w.Y0, w.X1, w.Y1, res.Width, res.Height)
		}
		if w.Confidence < 0 || w.Confidence > 100 {
			t.Errorf("word %d confidence %.1f outside 0..100", i, w.Confidence)
		}
	}
}

func TestRecognizeUpright(t *testing.T) {
	p := clinicalPage(t)
	e := sharedEngine(t)
	res, norm, err := e.Recognize(context.Background(), p.img, testDPI)
	if err != nil {
		t.Fatalf("Recognize: %v", err)
	}
	if res.Blank || len(res.Words) < 60 {
		t.Fatalf("blank=%v, %d words: want the page read", res.Blank, len(res.Words))
	}
	if c := cer(res.Text, p.truth); c > 0.03 {
		t.Errorf("CER %.3f, want < 0.03", c)
	}
	if res.Rotation != 0 || res.OSDUsed || res.Skew != 0 {
		t.Errorf("rotation %d, osd %v, skew %.2f: want 0, false, 0", res.Rotation, res.OSDUsed, res.Skew)
	}
	if res.MeanConfidence < 80 {
		t.Errorf("mean confidence %.1f, want >= 80", res.MeanConfidence)
	}
	if res.Width != pageW || res.Height != pageH || res.DPI != testDPI || res.Duration <= 0 {
		t.Errorf("size %dx%d dpi %d duration %v", res.Width, res.Height, res.DPI, res.Duration)
	}
	if norm.Bounds() != p.img.Bounds() {
		t.Errorf("normalised image bounds %v, want %v", norm.Bounds(), p.img.Bounds())
	}
	checkBoxesInside(t, res)
	for _, word := range []string{"ceftriaxone", "radiograph", "Ellison,"} {
		checkWordBox(t, res, word, p.boxes[word], 4)
	}
	// Lines: the text has as many lines as drawn (one paragraph per block
	// may add blank lines, which cer ignores).
	lines := map[[3]int]bool{}
	for _, w := range res.Words {
		lines[[3]int{w.Block, w.Par, w.Line}] = true
	}
	if len(lines) != len(clinicalLines) {
		t.Errorf("%d distinct lines, want %d", len(lines), len(clinicalLines))
	}
}

func TestRecognizeRotated(t *testing.T) {
	p := clinicalPage(t)
	e := sharedEngine(t)
	for _, turned := range []int{90, 180, 270} {
		t.Run(string(rune('0'+turned/90)), func(t *testing.T) {
			res, norm, err := e.Recognize(context.Background(), rotate90s(p.img, turned), testDPI)
			if err != nil {
				t.Fatalf("Recognize: %v", err)
			}
			if want := (360 - turned) % 360; res.Rotation != want || !res.OSDUsed {
				t.Errorf("page turned %d: rotation %d (osd %v), want %d", turned, res.Rotation, res.OSDUsed, want)
			}
			if c := cer(res.Text, p.truth); c > 0.03 {
				t.Errorf("CER %.3f, want < 0.03", c)
			}
			if norm.Bounds() != p.img.Bounds() || res.Width != pageW || res.Height != pageH {
				t.Errorf("normalised %v (%dx%d), want upright %v", norm.Bounds(), res.Width, res.Height, p.img.Bounds())
			}
			checkBoxesInside(t, res)
			// Rotations by quarter turns are exact: boxes land where drawn.
			checkWordBox(t, res, "ceftriaxone", p.boxes["ceftriaxone"], 4)
		})
	}
}

func TestRecognizeSkewed(t *testing.T) {
	p := clinicalPage(t)
	e := sharedEngine(t)
	for _, tc := range []struct {
		name      string
		rotate    float64 // applied to the page, clockwise
		wantSkew  float64 // deskew Recognize should apply, clockwise
		tolerance float64
	}{
		{"ccw2", -2, 2, 0.5},
		{"cw3", 3, -3, 0.5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, norm, err := e.Recognize(context.Background(), rotateSmall(p.img, tc.rotate), testDPI)
			if err != nil {
				t.Fatalf("Recognize: %v", err)
			}
			if math.Abs(res.Skew-tc.wantSkew) > tc.tolerance {
				t.Errorf("skew %.2f, want %.1f ± %.1f", res.Skew, tc.wantSkew, tc.tolerance)
			}
			if res.Rotation != 0 {
				t.Errorf("rotation %d, want 0", res.Rotation)
			}
			if c := cer(res.Text, p.truth); c > 0.03 {
				t.Errorf("CER %.3f, want < 0.03", c)
			}
			if norm.Bounds() != p.img.Bounds() {
				t.Errorf("normalised %v, want %v", norm.Bounds(), p.img.Bounds())
			}
			checkBoxesInside(t, res)
			// Deskewed back, a word lies near where it was drawn: the two
			// interpolated rotations leave a small residue.
			checkWordBox(t, res, "ceftriaxone", p.boxes["ceftriaxone"], 12)
		})
	}
}

func TestRecognizeBlank(t *testing.T) {
	e := sharedEngine(t)
	edged := whitePage()
	// A scanner's black edge on the left and a shadow along the top, inside
	// the ignored margins.
	for y := range pageH {
		for x := range 60 {
			edged.Pix[y*edged.Stride+x] = 0
		}
	}
	for y := range 40 {
		for x := range pageW {
			edged.Pix[y*edged.Stride+x] = 90
		}
	}
	grey := whitePage()
	for i := range grey.Pix {
		grey.Pix[i] = uint8(200 + i*7919%40) // grey paper with texture
	}
	for _, tc := range []struct {
		name string
		img  *image.Gray
	}{
		{"white", whitePage()},
		{"pepper 1%", speckle(whitePage(), 0.01, 0, 1)},
		{"salt and pepper 5%", speckle(whitePage(), 0.05, 0.05, 2)},
		{"pepper 10%", speckle(whitePage(), 0.10, 0, 3)},
		{"scanner specks and noise", scanNoise(whitePage(), 1000, 5, 6)},
		{"scanner edges", speckle(edged, 0.02, 0.02, 4)},
		{"grey paper", grey},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, _, err := e.Recognize(context.Background(), tc.img, testDPI)
			if err != nil {
				t.Fatalf("Recognize: %v", err)
			}
			if !res.Blank || len(res.Words) != 0 || res.Text != "" || res.OSDUsed {
				t.Errorf("blank=%v words=%d osd=%v: want a blank page, no OCR", res.Blank, len(res.Words), res.OSDUsed)
			}
		})
	}
}

// TestBlankThresholdKeepsSparsePages guards the other side: a page with a
// single short line, even speckled, is not blank.
func TestBlankThresholdKeepsSparsePages(t *testing.T) {
	for _, tc := range []struct {
		name string
		line string
	}{
		{"one line", "Page 2 of 3, see reverse"},
		{"initials", "R.O. 02/16"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := renderPage(t, []string{tc.line})
			a := analysePage(speckle(p.img, 0.05, 0.05, 9), testDPI)
			if a.inkShare < DefaultBlankInkShare {
				t.Errorf("ink share %.5f below the blank threshold %.5f", a.inkShare, DefaultBlankInkShare)
			}
		})
	}
}

func TestRecognizeSpeckledText(t *testing.T) {
	p := clinicalPage(t)
	e := sharedEngine(t)
	res, _, err := e.Recognize(context.Background(), speckle(p.img, 0.005, 0.005, 5), testDPI)
	if err != nil {
		t.Fatalf("Recognize: %v", err)
	}
	if res.Blank || res.Rotation != 0 {
		t.Fatalf("blank=%v rotation=%d", res.Blank, res.Rotation)
	}
	if c := cer(res.Text, p.truth); c > 0.05 {
		t.Errorf("CER %.3f on lightly speckled page, want < 0.05", c)
	}
}

func TestRecognizeErrors(t *testing.T) {
	e := sharedEngine(t)
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	small := image.NewGray(image.Rect(0, 0, 10, 10))
	for _, tc := range []struct {
		name string
		ctx  context.Context
		img  image.Image
		dpi  int
		want error
	}{
		{"cancelled", cancelled, small, 300, context.Canceled},
		{"nil image", context.Background(), nil, 300, nil},
		{"empty image", context.Background(), image.NewGray(image.Rect(0, 0, 0, 0)), 300, nil},
		{"no dpi", context.Background(), small, 0, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := e.Recognize(tc.ctx, tc.img, tc.dpi)
			if err == nil {
				t.Fatal("want an error")
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("error %v, want %v", err, tc.want)
			}
		})
	}
}

func TestEngineClosed(t *testing.T) {
	e, err := NewEngine(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := e.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, _, err := e.Recognize(context.Background(), whitePage(), testDPI); !errors.Is(err, ErrClosed) {
		t.Errorf("Recognize after Close: %v, want ErrClosed", err)
	}
}

func TestNewEngineBadLanguage(t *testing.T) {
	if e, err := NewEngine(Options{Languages: []string{"xx-none"}}); err == nil {
		e.Close()
		t.Fatal("want an error for a language without traineddata")
	}
}

// smallPage is a quarter-size page with three lines, quick to recognise.
func smallPage(t *testing.T) page {
	t.Helper()
	p := renderPage(t, clinicalLines[:3])
	crop := image.NewGray(image.Rect(0, 0, pageW, 700))
	for y := range 700 {
		copy(crop.Pix[y*crop.Stride:], p.img.Pix[y*p.img.Stride:y*p.img.Stride+pageW])
	}
	p.img = crop
	return p
}

func TestRecycle(t *testing.T) {
	p := smallPage(t)
	e, err := NewEngine(Options{RecycleAfter: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	clients := map[any]bool{}
	var first string
	for i := range 5 {
		res, _, err := e.Recognize(context.Background(), p.img, testDPI)
		if err != nil {
			t.Fatalf("page %d: %v", i, err)
		}
		clients[e.tess] = true
		if i == 0 {
			first = res.Text
			if c := cer(first, p.truth); c > 0.03 {
				t.Fatalf("CER %.3f", c)
			}
		} else if res.Text != first {
			t.Errorf("page %d read differently after recycling", i)
		}
	}
	// Passes 1-2 on the first client, 3-4 on the second, 5 on the third.
	if len(clients) != 3 {
		t.Errorf("%d clients served 5 pages with RecycleAfter 2, want 3", len(clients))
	}
}

func TestPool(t *testing.T) {
	p := smallPage(t)
	pool, err := NewPool(2, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	var mu sync.Mutex
	inUse := map[*Engine]bool{}
	seen := map[*Engine]bool{}
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			e, err := pool.Acquire(ctx)
			if err != nil {
				t.Errorf("worker %d: Acquire: %v", i, err)
				return
			}
			mu.Lock()
			if inUse[e] {
				t.Errorf("worker %d got an engine already on loan", i)
			}
			inUse[e], seen[e] = true, true
			mu.Unlock()
			res, _, err := e.Recognize(ctx, p.img, testDPI)
			if err != nil {
				t.Errorf("worker %d: %v", i, err)
			} else if c := cer(res.Text, p.truth); c > 0.03 {
				t.Errorf("worker %d: CER %.3f", i, c)
			}
			mu.Lock()
			delete(inUse, e)
			mu.Unlock()
			pool.Release(e)
		})
	}
	wg.Wait()
	if len(seen) != 2 {
		t.Errorf("%d distinct engines used, want 2", len(seen))
	}

	// All engines on loan: Acquire waits until the context ends.
	a, _ := pool.Acquire(ctx)
	b, _ := pool.Acquire(ctx)
	if a == nil || b == nil || a == b {
		t.Fatalf("Acquire gave %p and %p", a, b)
	}
	short, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := pool.Acquire(short); !errors.Is(err, context.Canceled) {
		t.Errorf("Acquire on an empty pool with a cancelled context: %v", err)
	}
	pool.Release(a)
	pool.Release(a) // twice: ignored
	if err := pool.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if _, err := pool.Acquire(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("Acquire after Close: %v, want ErrClosed", err)
	}
	pool.Release(b) // on loan at Close: closed now
	if !a.closed || !b.closed {
		t.Errorf("engines not closed: %v %v", a.closed, b.closed)
	}
}
