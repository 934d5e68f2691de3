package review

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/draw"
	"image/jpeg"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/gomono"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"

	"paperchart/internal/testenv"
	"paperchart/storage"
	"paperchart/users"
)

const chromium = "/usr/bin/chromium"

// screenshots is where the browser tests leave pictures of the main screens
// for a person to look at (var/ is git-ignored).
var screenshotDir = filepath.Join("..", "var", "screenshots")

// browser starts a headless Chromium of the test's own (fresh profile, no
// network of its own) and returns the context of its first tab.
func browser(t *testing.T) context.Context {
	t.Helper()
	if _, err := os.Stat(chromium); err != nil {
		t.Skipf("browser tests skipped: no Chromium at %s (make setup installs it)", chromium)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("metrics-recording-only", true),
		chromedp.Flag("password-store", "basic"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 800),
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	t.Cleanup(cancel)
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(cancelAlloc)
	tab, cancelTab := chromedp.NewContext(alloc)
	t.Cleanup(cancelTab)
	if err := chromedp.Do(tab, chromedp.EmulateViewport(1280, 800)); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	return tab
}

// isolated opens a tab with cookies of its own (another person's browser).
func isolated(t *testing.T, first context.Context) context.Context {
	t.Helper()
	tab, cancel := chromedp.NewContext(first, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	if err := chromedp.Do(tab, chromedp.EmulateViewport(1280, 800)); err != nil {
		t.Fatalf("open tab: %v", err)
	}
	return tab
}

// stepTimeout bounds each step, so that a page that never shows what a
// step waits for fails the test quickly.
const stepTimeout = 20 * time.Second

func do(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// waitJS waits until a JavaScript expression is true.
func waitJS(expr string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.Poll[bool](expr)(ctx, t)
		return err
	})
}

func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

func eval[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	testenv.Must(t, os.MkdirAll(screenshotDir, 0o755), "make %s", screenshotDir)
	path := filepath.Join(screenshotDir, name)
	testenv.Must(t, os.WriteFile(path, png, 0o644), "write %s", path)
	abs, _ := filepath.Abs(path)
	t.Logf("screenshot: %s", abs)
}

// signInCookie gives a tab a session of u, as signing in would, without
// the password check (bcrypt is slow under the race detector).
func (e *env) signInCookie(t *testing.T, tab context.Context, u users.User) {
	t.Helper()
	c := e.sessionCookie(u)
	_, err := chromedp.Call(tab, network.SetCookie, network.SetCookieParams{Name: c.Name, Value: c.Value, URL: e.srv.URL + "/",
		HTTPOnly: new(true), SameSite: network.CookieSameSiteStrict})
	testenv.Must(t, err, "set session cookie")
}

// renderPages replaces a batch's page images (filingtest's are tiny blank
// ones) by images of their OCR text, as a scan would look, so that the
// screenshots show pages a person can read.
func (e *env) renderPages(t *testing.T, batchID int64) {
	t.Helper()
	f, err := opentype.Parse(gomono.TTF)
	testenv.Must(t, err, "parse font")
	face, err := opentype.NewFace(f, &opentype.FaceOptions{Size: 24, DPI: 72, Hinting: font.HintingFull})
	testenv.Must(t, err, "font face")
	defer face.Close()
	pages, err := e.db.Pages(e.ctx, batchID)
	testenv.Must(t, err, "pages")
	texts, err := e.db.PageTexts(e.ctx, batchID)
	testenv.Must(t, err, "texts")
	for _, p := range pages {
		img := image.NewGray(image.Rect(0, 0, 1275, 1650)) // Letter at 150 dpi: 85:110 as filingtest's
		draw.Draw(img, img.Bounds(), image.White, image.Point{}, draw.Src)
		d := &font.Drawer{Dst: img, Src: image.Black, Face: face}
		y := 130
		for _, line := range strings.Split(texts[p.No], "\n") {
			for len(line) > 0 {
				n := min(len(line), 76) // wrap at the right margin
				d.Dot = fixed.P(110, y)
				d.DrawString(line[:n])
				line = strings.TrimLeft(line[n:], " ")
				y += 34
			}
			y += 8
		}
		var buf bytes.Buffer
		testenv.Must(t, jpeg.Encode(&buf, img, &jpeg.Options{Quality: 80}), "encode page")
		testenv.Must(t, e.obj.Put(e.ctx, p.ImageKey, buf.Bytes(), "image/jpeg"), "store page")
	}
	// The rows say what size the images are (documents' PDFs are built
	// from them).
	_, err = e.db.Pool().Exec(e.ctx, `UPDATE pages SET width = 1275, height = 1650, dpi = 150 WHERE batch_id = $1`, batchID)
	testenv.Must(t, err, "page sizes")
}

// TestBrowser drives the workstation in a real headless Chromium: a wrong
// password, signing in, filing the oldest document to the right patient
// with the keyboard, two people on one document, an indexer kept from the
// admin pages, and a forged request without the CSRF token.
func TestBrowser(t *testing.T) {
	ida := browser(t)
	e := newEnv(t)
	idaU := e.addUser("ida", users.Indexer)
	samU := e.addUser("sam", users.Supervisor)
	_ = idaU
	twin, stranger := e.twinBatch("ward3-scan-0412.pdf")
	e.renderPages(t, twin.BatchID)
	mai := e.patient("00410004")
	base := e.srv.URL

	t.Run("wrong password", func(t *testing.T) {
		do(t, ida, "open sign-in",
			chromedp.Navigate(base+"/review/"),
			chromedp.WaitVisible(chromedp.ID("login")))
		screenshot(t, ida, "login.png")
		do(t, ida, "sign in wrongly",
			chromedp.SendKeys(chromedp.ID("name"), "ida"),
			chromedp.SendKeys(chromedp.ID("password"), "not-my-password\r"),
			chromedp.WaitVisible(chromedp.ID("login-error")))
		if got := text(t, ida, "#login-error"); got != "Wrong name or password." {
			t.Fatalf("message %q", got)
		}
	})

	t.Run("sign in and file with the keyboard", func(t *testing.T) {
		do(t, ida, "sign in",
			chromedp.Clear(chromedp.ID("password")),
			chromedp.SendKeys(chromedp.ID("password"), password("ida")+"\r"),
			chromedp.WaitVisible(chromedp.ID("queue")))
		if got := text(t, ida, "#waiting"); got != "2 waiting" {
			t.Errorf("queue says %q", got)
		}
		screenshot(t, ida, "queue.png")
		// n opens the oldest document nobody has.
		do(t, ida, "open the oldest", chromedp.KeyEvent("n"), chromedp.WaitVisible(chromedp.ID("cands")))
		if loc, _ := chromedp.Run(ida, chromedp.Location()); !strings.HasSuffix(loc, docPath(twin.ID)) {
			t.Fatalf("opened %s, want document %d", loc, twin.ID)
		}
		// The right twin is MAI: pick her by her number, as a technician
		// would after reading the page.
		n := eval[string](t, ida, `[...document.querySelectorAll("#cands .cand")].find(li => li.querySelector(".pname").textContent.includes("NGUYEN, MAI")).dataset.n`)
		do(t, ida, "pick candidate "+n, chromedp.KeyEvent("j"), chromedp.KeyEvent("j"), chromedp.KeyEvent(n))
		if got := text(t, ida, "#cands .cand.selected .pname"); got != "NGUYEN, MAI" {
			t.Fatalf("selected %q", got)
		}
		if !eval[bool](t, ida, `document.querySelector("#cands .cand.selected input").checked`) {
			t.Fatal("the selected candidate's radio is not checked")
		}
		// The page image is shown, decoded, at a readable size (a loaded
		// machine may take a moment to fetch it).
		do(t, ida, "page image loaded", waitJS(`document.querySelector("#p1 img").complete && document.querySelector("#p1 img").naturalWidth > 0`))
		w := eval[int](t, ida, `document.querySelector("#p1 img").getBoundingClientRect().width`)
		if nat := eval[int](t, ida, `document.querySelector("#p1 img").naturalWidth`); nat != 1275 || w < 600 {
			t.Errorf("page image %d px wide on screen, %d natural", w, nat)
		}
		screenshot(t, ida, "document.png")
		do(t, ida, "show the text", chromedp.KeyEvent("o"), chromedp.WaitVisible(chromedp.ID("ocr")))
		if marks := eval[int](t, ida, `document.querySelectorAll("#ocr mark.id-birth").length`); marks < 2 {
			t.Errorf("%d birth dates marked in the text", marks)
		}
		screenshot(t, ida, "document-text.png")
		do(t, ida, "back to the image", chromedp.KeyEvent("o"), chromedp.WaitVisible(chromedp.ID("stage")))
		// Enter files it and opens the next document.
		do(t, ida, "confirm", chromedp.KeyEvent("\r"), chromedp.WaitVisible(chromedp.ID("flash")))
		if got := text(t, ida, "#flash"); !strings.Contains(got, fmt.Sprintf("Document %d filed.", twin.ID)) {
			t.Errorf("flash %q", got)
		}
		if loc, _ := chromedp.Run(ida, chromedp.Location()); !strings.Contains(loc, docPath(stranger.ID)) {
			t.Errorf("next opened %s, want document %d", loc, stranger.ID)
		}
		d := e.doc(twin.ID)
		if d.State != storage.DocFiled || d.PatientID == nil || *d.PatientID != mai.ID || d.FiledBy != "ida" {
			t.Fatalf("document %d: %s to %v by %q", d.ID, d.State, d.PatientID, d.FiledBy)
		}
		// And it shows as filed.
		do(t, ida, "see it filed", chromedp.Click(chromedp.CSS("#flash a")), chromedp.WaitVisible(chromedp.ID("readonly")))
		if got := text(t, ida, "#readonly"); !strings.Contains(got, "filed to NGUYEN, MAI") {
			t.Errorf("filed document says %q", got)
		}
	})

	sam := isolated(t, ida)
	e.signInCookie(t, sam, samU)

	t.Run("two people, one document", func(t *testing.T) {
		do(t, ida, "ida opens it", chromedp.Navigate(base+docPath(stranger.ID)), chromedp.WaitVisible(chromedp.ID("cands")))
		resp, err := chromedp.Run(sam, chromedp.NavigateResponse(base+docPath(stranger.ID)))
		testenv.Must(t, err, "sam opens it")
		if resp.Status != http.StatusConflict {
			t.Errorf("status %d, want 409", resp.Status)
		}
		if got := text(t, sam, "#error-message"); !strings.Contains(got, fmt.Sprintf("ida is working on document %d", stranger.ID)) {
			t.Errorf("sam sees %q", got)
		}
		screenshot(t, sam, "claimed.png")
		do(t, sam, "the queue", chromedp.Navigate(base+"/review/"), chromedp.WaitVisible(chromedp.ID("queue")))
		if got := text(t, sam, fmt.Sprintf(`tr[data-id="%d"] .claim`, stranger.ID)); !strings.HasPrefix(got, "ida until") {
			t.Errorf("queue shows %q", got)
		}
		do(t, sam, "statistics", chromedp.Navigate(base+"/review/stats"), chromedp.WaitVisible(chromedp.ID("claims")))
		if got := text(t, sam, "#claims tbody"); !strings.Contains(got, "ida") {
			t.Errorf("statistics list claims %q", got)
		}
		screenshot(t, sam, "stats.png")
		// "next" never gives sam ida's document.
		do(t, sam, "queue", chromedp.Navigate(base+"/review/"), chromedp.WaitVisible(chromedp.ID("queue")))
		do(t, sam, "next", chromedp.KeyEvent("n"), chromedp.WaitVisible(chromedp.ID("empty")))
		if d := e.doc(stranger.ID); d.ClaimedBy != "ida" {
			t.Errorf("claim moved to %q", d.ClaimedBy)
		}
	})

	t.Run("indexer kept from admin pages", func(t *testing.T) {
		resp, err := chromedp.Run(ida, chromedp.NavigateResponse(base+"/review/admin/users"))
		testenv.Must(t, err, "open users page")
		if resp.Status != http.StatusForbidden {
			t.Errorf("status %d, want 403", resp.Status)
		}
		if got := text(t, ida, "body"); !strings.Contains(got, "forbidden") {
			t.Errorf("page says %q", got)
		}
	})

	t.Run("forged request", func(t *testing.T) {
		// Another site's page posts a decision with ida's cookie but
		// without the form's token.
		evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, `<!doctype html><form id="f" method="post" action="%s">
				<input name="patient_id" value="%d"><input name="type" value="progress-note"></form>
				<script>document.getElementById("f").submit()</script>`, base+docPath(stranger.ID, "/confirm"), mai.ID)
		}))
		defer evil.Close()
		do(t, ida, "visit the other site", chromedp.Navigate(evil.URL),
			chromedp.WaitReady(chromedp.CSS("body")), waitJS(`location.pathname.endsWith("/confirm")`))
		if got := text(t, ida, "body"); !strings.Contains(got, "forbidden") {
			t.Errorf("forged post answered %q", got)
		}
		// The same without a token from the workstation's own page.
		do(t, ida, "back", chromedp.Navigate(base+docPath(stranger.ID)), chromedp.WaitVisible(chromedp.ID("cands")))
		status, err := chromedp.Run(ida, chromedp.Evaluate[int](fmt.Sprintf(
			`fetch(%q, {method: "POST", body: new URLSearchParams({patient_id: "%d", type: "progress-note"})}).then(r => r.status)`,
			docPath(stranger.ID, "/confirm"), mai.ID), chromedp.EvalAwaitPromise))
		testenv.Must(t, err, "post without token")
		if status != http.StatusForbidden {
			t.Errorf("post without token: %d", status)
		}
		if d := e.doc(stranger.ID); d.State != storage.DocReview {
			t.Fatalf("a forged request filed document %d", d.ID)
		}
	})

	t.Run("batches", func(t *testing.T) {
		do(t, ida, "batches", chromedp.Navigate(base+"/review/batches"), chromedp.WaitVisible(chromedp.ID("batches")),
			waitJS(`document.getElementById("updated").textContent.startsWith("updated")`))
		if got := text(t, ida, "#batch-rows .dfiled"); got != "1" {
			t.Errorf("filed count %q", got)
		}
		screenshot(t, ida, "batches.png")
	})

	t.Run("search, type and split with the keyboard", func(t *testing.T) {
		twin2, _ := e.twinBatch("ward5-scan-0413.pdf")
		e.renderPages(t, twin2.BatchID)
		// Looking at it takes nothing; w takes it to work on.
		do(t, ida, "look", chromedp.Navigate(base+docPath(twin2.ID)), chromedp.WaitVisible(chromedp.ID("work-on-it")))
		if d := e.doc(twin2.ID); d.ClaimedBy != "" {
			t.Errorf("looking claimed the document for %q", d.ClaimedBy)
		}
		do(t, ida, "work on it", chromedp.KeyEvent("w"), chromedp.WaitVisible(chromedp.ID("claim-note")), chromedp.WaitVisible(chromedp.ID("cands")))
		// / searches the index; an MRN as OCR misread it finds the patient.
		do(t, ida, "search", chromedp.KeyEvent("/"), chromedp.KeyEvent("O04l0OO1"), chromedp.KeyEvent(kb.Enter),
			chromedp.WaitVisible(chromedp.CSS("#found .cand")), chromedp.KeyEvent(kb.ArrowDown))
		if got := text(t, ida, ".cand.selected .pname"); got != "HARTMANN, ELISE" {
			t.Errorf("search result selected %q", got)
		}
		// t, then typing, picks the type; Enter goes back to the shortcuts.
		do(t, ida, "type", chromedp.KeyEvent("t"), chromedp.KeyEvent("Lab"), chromedp.KeyEvent(kb.Enter))
		if got := eval[string](t, ida, `document.getElementById("type").value`); got != "lab-report" {
			t.Errorf("type %q", got)
		}
		if got := eval[string](t, ida, `document.activeElement.tagName`); got != "BODY" {
			t.Errorf("focus stayed in %s", got)
		}
		do(t, ida, "help", chromedp.KeyEvent("?"), chromedp.WaitVisible(chromedp.ID("help")))
		screenshot(t, ida, "help.png")
		do(t, ida, "close help", chromedp.KeyEvent(kb.Escape), chromedp.WaitNotVisible(chromedp.ID("help")))
		// Zoom and rotation, for reading a faint or sideways page.
		do(t, ida, "zoom and rotate", chromedp.KeyEvent("+"), chromedp.KeyEvent("]"))
		if got := text(t, ida, "#zoom-label"); got != "125%" {
			t.Errorf("zoom %q", got)
		}
		if got := eval[string](t, ida, `document.querySelector("#p1 img").style.transform`); !strings.HasPrefix(got, "rotate(90deg)") {
			t.Errorf("transform %q", got)
		}
		do(t, ida, "reset", chromedp.KeyEvent("0"), chromedp.KeyEvent("["))
		// → to page 2, s arms the split there, Enter does it.
		do(t, ida, "page 2", chromedp.KeyEvent(kb.ArrowRight), waitJS(`document.getElementById("cur").textContent === "2"`))
		do(t, ida, "split", chromedp.KeyEvent("s"), waitJS(`document.activeElement.closest("#split-form") !== null`),
			chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.ID("flash")))
		if got := text(t, ida, "#flash"); !strings.Contains(got, "the later pages are now document") {
			t.Errorf("flash %q", got)
		}
		if d := e.doc(twin2.ID); len(d.Pages) != 1 || d.Pages[0] != 1 {
			t.Errorf("after the split the document has pages %v", d.Pages)
		}
	})

	t.Run("sign out", func(t *testing.T) {
		do(t, ida, "sign out", chromedp.Click(chromedp.ID("signout")), chromedp.WaitVisible(chromedp.ID("login")))
		resp, err := chromedp.Run(ida, chromedp.NavigateResponse(base+docPath(stranger.ID)))
		testenv.Must(t, err, "open after sign-out")
		if u, _ := url.Parse(resp.URL); u.Path != "/review/login" {
			t.Errorf("after sign-out the document answered at %s", resp.URL)
		}
	})
}
