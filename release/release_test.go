package release_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"paperchart/audit"
	"paperchart/chart"
	"paperchart/filing/filingtest"
	"paperchart/internal/testenv"
	"paperchart/ocr"
	"paperchart/release"
	"paperchart/storage"
)

// The fixture's pages: US letter at 50 dpi, a line of dark word boxes per
// line of text, and two words of the test's own at known places. SECRET is
// drawn as vertical stripes, so that any of its pixels left in a packet
// shows as white inside its box.
const (
	pageDPI, pageW, pageH = 50, 425, 550
	secretWord, keptWord  = "SECRETWORD", "KEEPWORD"
)

var (
	secretBox = image.Rect(60, 300, 200, 330)
	keptBox   = image.Rect(240, 300, 380, 330)
)

// continued is page 2 of a two-page discharge summary.
const continued = "DISCHARGE SUMMARY (continued)\nPatient: HARTMANN, ELISE MRN: 00410001\n" +
	"Instructions: rest, fluids, finish the antibiotic course.\nPage 2 of 2\n"

type fixture struct {
	t        testing.TB
	ctx      context.Context
	su       filingtest.Setup
	requests *release.Store
	rel      *release.Releaser
	audit    *audit.Log
	patient  int64
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	f := &fixture{t: t, ctx: context.Background(), su: filingtest.New(t, nil)}
	f.requests = release.NewStore(f.su.DB.Pool())
	f.audit = audit.New(f.su.DB.Pool())
	f.rel = &release.Releaser{Requests: f.requests, DB: f.su.DB, Objects: f.su.Objects, Audit: f.audit, WorkDir: t.TempDir()}
	p, err := f.su.Index.ByMRN(f.ctx, "", "00410001")
	testenv.Must(t, err, "patient")
	f.patient = p.ID
	return f
}

// pageImage draws the words' boxes dark on white, the secret one striped.
func pageImage(t testing.TB, words []ocr.Word) []byte {
	img := image.NewGray(image.Rect(0, 0, pageW, pageH))
	for i := range img.Pix {
		img.Pix[i] = 255
	}
	for _, w := range words {
		for y := w.Y0; y < w.Y1; y++ {
			for x := w.X0; x < w.X1; x++ {
				if w.Text == secretWord && (x/4)%2 == 1 {
					continue
				}
				img.Pix[img.PixOffset(x, y)] = 20
			}
		}
	}
	var buf bytes.Buffer
	testenv.Must(t, jpeg.Encode(&buf, img, &jpeg.Options{Quality: 95}), "encode page")
	return buf.Bytes()
}

// words lays out text as word boxes, line by line from the top, and adds
// the two words of the test at their boxes.
func words(text string) []ocr.Word {
	var out []ocr.Word
	for li, line := range strings.Split(strings.TrimSpace(text), "\n") {
		x, y := 20, 20+li*14
		for _, wd := range strings.Fields(line) {
			w := 6 * len(wd)
			if x+w > pageW-20 {
				break
			}
			out = append(out, ocr.Word{Text: wd, Confidence: 90, X0: x, Y0: y, X1: x + w, Y1: y + 10, Block: 1, Par: 1, Line: li + 1})
			x += w + 6
		}
	}
	out = append(out,
		ocr.Word{Text: secretWord, Confidence: 90, X0: secretBox.Min.X, Y0: secretBox.Min.Y, X1: secretBox.Max.X, Y1: secretBox.Max.Y, Block: 2, Par: 1, Line: 1},
		ocr.Word{Text: keptWord, Confidence: 90, X0: keptBox.Min.X, Y0: keptBox.Min.Y, X1: keptBox.Max.X, Y1: keptBox.Max.Y, Block: 2, Par: 1, Line: 1})
	return out
}

// document records a one-batch document of the given page texts as the
// OCR stage leaves it, files it, and returns it: it must file to
// HARTMANN, ELISE (00410001).
func (f *fixture) document(name string, texts ...string) storage.Document {
	t := f.t
	t.Helper()
	ctx, db, obj := f.ctx, f.su.DB, f.su.Objects
	name += testenv.Name("-")
	sum := sha256.Sum256([]byte(name))
	sha := fmt.Sprintf("%x", sum)
	b, _, err := db.RecordBatch(ctx, storage.NewBatch{Source: "test", Name: name, IngestKey: name, SHA256: sha, Size: 1, OriginalKey: storage.OriginalKey(sha)})
	testenv.Must(t, err, "record batch")
	_, err = db.StartSplit(ctx, b.ID)
	testenv.Must(t, err, "start split")
	var nps []storage.NewPage
	for i := range texts {
		nps = append(nps, storage.NewPage{No: i + 1, SourceKey: storage.PageSourceKey(b.ID, i+1, ".jpg"), Kind: "image"})
	}
	testenv.Must(t, db.AddPages(ctx, b.ID, "pdf", nps), "add pages")
	for i, text := range texts {
		ws := words(text)
		text += "\n" + secretWord + " " + keptWord + "\n"

		res := ocr.Result{Text: text, DPI: pageDPI, Width: pageW, Height: pageH, Words: ws, MeanConfidence: 90}
		js, err := json.Marshal(res)
		testenv.Must(t, err, "encode OCR")
		r := storage.PageResult{BatchID: b.ID, No: i + 1, ImageKey: storage.PageImageKey(b.ID, i+1), OCRKey: storage.PageOCRKey(b.ID, i+1),
			Text: text, WordCount: len(ws), DPI: pageDPI, Width: pageW, Height: pageH}
		testenv.Must(t, obj.Put(ctx, r.ImageKey, pageImage(t, ws), "image/jpeg"), "store page")
		testenv.Must(t, obj.Put(ctx, r.OCRKey, js, "application/json"), "store OCR")
		_, err = db.CompletePage(ctx, r)
		testenv.Must(t, err, "complete page")
	}
	ok, err := db.Assembled(ctx, b.ID, storage.SearchableKey(b.ID))
	if err != nil || !ok {
		t.Fatalf("move batch to filing: %v %v", ok, err)
	}
	_, err = f.su.Filer.FileBatch(ctx, b.ID)
	testenv.Must(t, err, "file batch")
	docs, err := db.BatchDocuments(ctx, b.ID)
	testenv.Must(t, err, "documents")
	if len(docs) != 1 || docs[0].State != storage.DocFiled || docs[0].PatientID == nil || *docs[0].PatientID != f.patient {
		t.Fatalf("fixture: want one document filed to patient %d, got %+v", f.patient, docs)
	}
	return docs[0]
}

func (f *fixture) request(sel release.Selection) release.Request {
	f.t.Helper()
	r, err := f.requests.Create(f.ctx, release.NewRequest{
		Requester: release.Requester{Name: "Dana Whitfield", Organisation: "Whitfield & Ames LLP", Address: "400 Court St\nSpringfield IL"},
		Purpose:   release.PurposeLegal, PurposeText: "subpoena 24-CV-118", PatientID: f.patient, Selection: sel,
		AuthorizationOnFile: true, Received: chart.Date{Year: 2026, Month: 11, Day: 20},
	}, "ann")
	testenv.Must(f.t, err, "create request")
	return r
}

// disclosures lists the trail's disclosure entries about the patient.
func (f *fixture) disclosures() []audit.Entry {
	f.t.Helper()
	es, err := f.audit.List(f.ctx, audit.Filter{PatientID: &f.patient, Limit: 1000})
	testenv.Must(f.t, err, "list audit")
	var out []audit.Entry
	for _, e := range es {
		if e.Action == audit.ActionDisclosure {
			out = append(out, e)
		}
	}
	return out
}

func (f *fixture) packet(r release.Request) string {
	f.t.Helper()
	b, err := f.su.Objects.Get(f.ctx, storage.ReleasePacketKey(r.ID))
	testenv.Must(f.t, err, "read packet")
	path := filepath.Join(f.t.TempDir(), "packet.pdf")
	testenv.Must(f.t, os.WriteFile(path, b, 0o600), "write packet")
	return path
}

func pdftotext(t *testing.T, path string, page int) string {
	t.Helper()
	out, err := exec.Command("pdftotext", "-f", fmt.Sprint(page), "-l", fmt.Sprint(page), "-layout", path, "-").Output()
	testenv.Must(t, err, "pdftotext page %d", page)
	return string(out)
}

// render renders one page of the PDF at the pages' own resolution, gray.
func render(t *testing.T, path string, page int) *image.Gray {
	t.Helper()
	prefix := filepath.Join(t.TempDir(), "page")
	out, err := exec.Command("pdftoppm", "-gray", "-r", fmt.Sprint(pageDPI), "-f", fmt.Sprint(page), "-l", fmt.Sprint(page),
		"-singlefile", path, prefix).CombinedOutput()
	testenv.Must(t, err, "pdftoppm: %s", out)
	b, err := os.ReadFile(prefix + ".pgm")
	testenv.Must(t, err, "read rendered page")
	img, err := readPGM(b)
	testenv.Must(t, err, "decode rendered page")
	return img
}

// readPGM reads a binary 8-bit PGM (P5), as pdftoppm -gray writes.
func readPGM(b []byte) (*image.Gray, error) {
	var w, h, maxv int
	var magic string
	r := bytes.NewReader(b)
	if _, err := fmt.Fscan(r, &magic, &w, &h, &maxv); err != nil || magic != "P5" || maxv != 255 {
		return nil, fmt.Errorf("not an 8-bit P5 PGM (%q %d %v)", magic, maxv, err)
	}
	r.ReadByte() // the one whitespace after the header
	img := image.NewGray(image.Rect(0, 0, w, h))
	if n, _ := r.Read(img.Pix); n != len(img.Pix) {
		return nil, errors.New("PGM is short")
	}
	return img, nil
}

// inkIn counts the dark (< 128) and light (>= 128) pixels in a region.
func inkIn(img *image.Gray, rc image.Rectangle) (dark, light int) {
	for y := rc.Min.Y; y < rc.Max.Y; y++ {
		for x := rc.Min.X; x < rc.Max.X; x++ {
			if img.GrayAt(x, y).Y < 128 {
				dark++
			} else {
				light++
			}
		}
	}
	return dark, light
}

func norm(rc image.Rectangle) (x0, y0, x1, y1 float64) {
	return float64(rc.Min.X) / pageW, float64(rc.Min.Y) / pageH, float64(rc.Max.X) / pageW, float64(rc.Max.Y) / pageH
}

// TestPacketRedactsAndStamps: a redaction box is burnt into the page image
// (its region renders all black, though the page had white stripes there)
// and its word is gone from the text layer, the words outside it kept;
// every packet page, the cover letter included, is stamped "REL-n page k
// of N"; the cover letter names the request, requester, purpose, patient,
// documents with their page counts and who released it.
func TestPacketRedactsAndStamps(t *testing.T) {
	f := newFixture(t)
	a := f.document("discharge", strings.Replace(filingtest.Discharge, "Page 1 of 1", "Page 1 of 2", 1), continued)
	b := f.document("second", filingtest.Discharge)
	r := f.request(release.Selection{Documents: []int64{a.ID, b.ID}})
	x0, y0, x1, y1 := norm(secretBox.Inset(-2))
	_, err := f.requests.SetBoxes(f.ctx, r.ID, a.ID, a.Pages[1], []release.Box{{Document: a.ID, Page: a.Pages[1], X0: x0, Y0: y0, X1: x1, Y1: y1}})
	testenv.Must(t, err, "set boxes")

	// The page as stored has the secret's white stripes.
	orig, err := f.su.Objects.Get(f.ctx, storage.PageImageKey(a.BatchID, a.Pages[1]))
	testenv.Must(t, err, "page image")
	oimg, err := jpeg.Decode(bytes.NewReader(orig))
	testenv.Must(t, err, "decode")
	if d, l := inkIn(oimg.(*image.Gray), secretBox); d == 0 || l == 0 {
		t.Fatalf("fixture: the secret's box should have dark and light pixels, has %d dark, %d light", d, l)
	}

	got, did, err := f.rel.Release(f.ctx, r.ID, "ann", audit.UserActor("ann"), "127.0.0.1")
	testenv.Must(t, err, "release")
	if !did || got.Status != release.StatusReleased || got.PacketPages != 4 || len(got.PacketDocuments) != 2 {
		t.Fatalf("released: %v %+v", did, got)
	}
	path := f.packet(got)

	// Packet page 1 is the cover, 2-3 document a, 4 document b; the box
	// is on packet page 3.
	for page := 1; page <= 4; page++ {
		want := fmt.Sprintf("%s page %d of 4", r.Number, page)
		if txt := pdftotext(t, path, page); !strings.Contains(txt, want) {
			t.Errorf("packet page %d has no stamp %q:\n%s", page, want, txt)
		}
	}
	cover := pdftotext(t, path, 1)
	for _, want := range []string{"Release of information", "Request " + r.Number, "Dana Whitfield", "Whitfield & Ames LLP", "400 Court St",
		"Legal: subpoena 24-CV-118", "HARTMANN, ELISE", "MRN 00410001", "Authorisation on file: yes",
		"Documents released: 2, 3 pages", fmt.Sprintf("document %d: 2 pages (packet pages 2-3), redacted", a.ID),
		fmt.Sprintf("document %d: 1 page (packet pages 4-4)", b.ID), "Released by: ann"} {
		if !strings.Contains(cover, want) {
			t.Errorf("cover letter lacks %q:\n%s", want, cover)
		}
	}
	for page, redacted := range map[int]bool{2: false, 3: true, 4: false} {
		txt := pdftotext(t, path, page)
		if !strings.Contains(txt, keptWord) || !strings.Contains(txt, "HARTMANN") {
			t.Errorf("packet page %d lost words outside any box:\n%s", page, txt)
		}
		if has := strings.Contains(txt, secretWord); has == redacted {
			t.Errorf("packet page %d: secret word in the text layer: %v, want %v", page, has, !redacted)
		}
		img := render(t, path, page)
		if img.Bounds().Dx() != pageW || img.Bounds().Dy() != pageH {
			t.Fatalf("packet page %d renders %v, want %dx%d", page, img.Bounds(), pageW, pageH)
		}
		dark, light := inkIn(img, secretBox)
		if redacted && light != 0 {
			t.Errorf("packet page %d: the redacted region has %d light pixels of the original (want all black)", page, light)
		}
		if !redacted && light == 0 {
			t.Errorf("packet page %d: the secret's region is all dark (%d), but this page has no box", page, dark)
		}
		if d, l := inkIn(img, keptBox); d < l {
			t.Errorf("packet page %d: the kept word's region lost its ink (%d dark, %d light)", page, d, l)
		}
	}
	if img := render(t, path, 3); img.GrayAt(secretBox.Min.X-20, secretBox.Min.Y).Y < 200 {
		t.Error("the redaction box spills far outside its region")
	}
}

// TestDisclosures: the accounting of disclosures has one entry per
// document in the packet, with the request, purpose and requester digest,
// once the request is released, and none before, nor for a denied one;
// releasing again, or twice at once, gives one packet and one set.
func TestDisclosures(t *testing.T) {
	f := newFixture(t)
	a := f.document("a", filingtest.Discharge)
	b := f.document("b", filingtest.Discharge)
	r := f.request(release.Selection{Documents: []int64{a.ID, b.ID}})
	denied := f.request(release.Selection{Documents: []int64{a.ID}})

	_, err := f.requests.StartReview(f.ctx, r.ID)
	testenv.Must(t, err, "start review")
	if n := len(f.disclosures()); n != 0 {
		t.Fatalf("%d disclosures before release", n)
	}
	d, err := f.requests.Deny(f.ctx, denied.ID, "bob", "no valid authorisation")
	testenv.Must(t, err, "deny")
	if d.Status != release.StatusDenied || d.DenyReason != "no valid authorisation" {
		t.Fatalf("denied: %+v", d)
	}
	if _, _, err := f.rel.Release(f.ctx, denied.ID, "ann", audit.UserActor("ann"), ""); !errors.Is(err, release.ErrTransition) {
		t.Fatalf("releasing a denied request: %v, want ErrTransition", err)
	}
	if n := len(f.disclosures()); n != 0 {
		t.Fatalf("%d disclosures after a deny", n)
	}
	if _, err := f.su.Objects.Get(f.ctx, storage.ReleasePacketKey(denied.ID)); err == nil {
		t.Fatal("a denied request has a packet")
	}

	// Twice at once, then once more.
	var wg sync.WaitGroup
	dids := make([]bool, 2)
	errs := make([]error, 2)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, dids[i], errs[i] = f.rel.Release(f.ctx, r.ID, "ann", audit.UserActor("ann"), "127.0.0.1")
		}()
	}
	wg.Wait()
	testenv.Must(t, errors.Join(errs...), "release twice at once")
	if dids[0] == dids[1] {
		t.Fatalf("released now: %v, want exactly one true", dids)
	}
	first, err := f.requests.Get(f.ctx, r.ID)
	testenv.Must(t, err, "get")
	packet, err := f.su.Objects.Get(f.ctx, storage.ReleasePacketKey(r.ID))
	testenv.Must(t, err, "packet")
	again, did, err := f.rel.Release(f.ctx, r.ID, "carl", audit.UserActor("carl"), "")
	testenv.Must(t, err, "release again")
	if did || again.PacketSHA256 != first.PacketSHA256 || again.DecidedBy != "ann" {
		t.Fatalf("release again: did %v, %+v", did, again)
	}
	if sum := sha256.Sum256(packet); fmt.Sprintf("%x", sum) != first.PacketSHA256 {
		t.Fatal("the stored packet is not the one recorded")
	}

	es := f.disclosures()
	if len(es) != 2 {
		t.Fatalf("%d disclosures, want 2 (one per document): %+v", len(es), es)
	}
	seen := map[int64]bool{}
	for _, e := range es {
		want := fmt.Sprintf("%s purpose=legal requester=%s pages=1", r.Number, r.Requester.Digest())
		if e.Detail != want || e.Resource != release.Resource(r.ID) || e.Actor != "user:ann" || e.DocumentID == nil || *e.PatientID != f.patient {
			t.Errorf("disclosure %+v, want detail %q", e, want)
		}
		seen[*e.DocumentID] = true
		if strings.Contains(e.Detail, "Whitfield") || strings.Contains(e.Detail, "HARTMANN") {
			t.Errorf("disclosure names a person: %q", e.Detail)
		}
	}
	if !seen[a.ID] || !seen[b.ID] {
		t.Errorf("disclosures of %v, want %d and %d", seen, a.ID, b.ID)
	}
	rep, err := f.audit.Verify(f.ctx)
	testenv.Must(t, err, "verify")
	if !rep.Intact {
		t.Fatalf("audit chain: %+v", rep)
	}

	// Decided requests are kept as they were.
	if _, err := f.su.DB.Pool().Exec(f.ctx, `UPDATE release_requests SET requester_name = 'someone else' WHERE id = $1`, r.ID); err == nil {
		t.Error("a released request's requester could be changed")
	}
	if _, err := f.su.DB.Pool().Exec(f.ctx, `DELETE FROM release_requests WHERE id = $1`, denied.ID); err == nil {
		t.Error("a denied request could be deleted")
	}
}

// TestTransitions: only the valid changes are made, each idempotent.
func TestTransitions(t *testing.T) {
	f := newFixture(t)
	a := f.document("a", filingtest.Discharge)
	ctx := f.ctx
	tests := []struct {
		name string
		do   func(id int64) (release.Request, error)
		want release.Status
		err  error
	}{
		{"review an open one", func(id int64) (release.Request, error) { return f.requests.StartReview(ctx, id) }, release.StatusInReview, nil},
		{"review again", func(id int64) (release.Request, error) { return f.requests.StartReview(ctx, id) }, release.StatusInReview, nil},
		{"exclude", func(id int64) (release.Request, error) { return f.requests.SetExcluded(ctx, id, a.ID, true) }, release.StatusInReview, nil},
		{"exclude again", func(id int64) (release.Request, error) { return f.requests.SetExcluded(ctx, id, a.ID, true) }, release.StatusInReview, nil},
		{"release with everything excluded", func(id int64) (release.Request, error) {
			r, _, err := f.rel.Release(ctx, id, "ann", "user:ann", "")
			return r, err
		}, release.StatusInReview, release.ErrNothingToRelease},
		{"include", func(id int64) (release.Request, error) { return f.requests.SetExcluded(ctx, id, a.ID, false) }, release.StatusInReview, nil},
		{"a box outside the page", func(id int64) (release.Request, error) {
			return f.requests.SetBoxes(ctx, id, a.ID, a.Pages[0], []release.Box{{Document: a.ID, Page: a.Pages[0], X0: 0.5, Y0: 0.5, X1: 1.5, Y1: 0.6}})
		}, release.StatusInReview, release.ErrInvalid},
		{"deny without a reason", func(id int64) (release.Request, error) { return f.requests.Deny(ctx, id, "bob", "  ") }, release.StatusInReview, release.ErrInvalid},
		{"release", func(id int64) (release.Request, error) {
			r, _, err := f.rel.Release(ctx, id, "ann", "user:ann", "")
			return r, err
		}, release.StatusReleased, nil},
		{"deny a released one", func(id int64) (release.Request, error) { return f.requests.Deny(ctx, id, "bob", "too late") }, release.StatusReleased, release.ErrTransition},
		{"edit a released one", func(id int64) (release.Request, error) { return f.requests.SetExcluded(ctx, id, a.ID, true) }, release.StatusReleased, release.ErrTransition},
		{"extend a released one", func(id int64) (release.Request, error) {
			return f.requests.SetDue(ctx, id, chart.Date{Year: 2027, Month: 1, Day: 1})
		}, release.StatusReleased, release.ErrTransition},
	}
	r := f.request(release.Selection{Documents: []int64{a.ID}})
	if r.Status != release.StatusOpen || r.Due != (chart.Date{Year: 2026, Month: 12, Day: 20}) || r.Number != fmt.Sprintf("REL-%d", r.ID) {
		t.Fatalf("new request: %+v", r)
	}
	for _, tt := range tests {
		_, err := tt.do(r.ID)
		if !errors.Is(err, tt.err) {
			t.Fatalf("%s: %v, want %v", tt.name, err, tt.err)
		}
		got, err := f.requests.Get(ctx, r.ID)
		testenv.Must(t, err, "get")
		if got.Status != tt.want {
			t.Fatalf("%s: status %s, want %s", tt.name, got.Status, tt.want)
		}
	}
	// Boxes are replaced page by page; a release of the request as it
	// was before a change releases nothing.
	c := f.request(release.Selection{Documents: []int64{a.ID}})
	box := func(x0 float64, page int) release.Box {
		return release.Box{Document: a.ID, Page: page, X0: x0, Y0: 0.1, X1: x0 + 0.1, Y1: 0.2}
	}
	_, err := f.requests.SetBoxes(ctx, c.ID, a.ID, 1, []release.Box{box(0.1, 1), box(0.3, 1)})
	testenv.Must(t, err, "boxes")
	_, err = f.requests.SetBoxes(ctx, c.ID, a.ID, 2, []release.Box{box(0.5, 2)}) // another page of the same document (not one of its pages: kept all the same)
	testenv.Must(t, err, "boxes")
	before, err := f.requests.SetBoxes(ctx, c.ID, a.ID, 1, []release.Box{box(0.7, 1)})
	testenv.Must(t, err, "boxes")
	if len(before.Boxes) != 2 || len(before.BoxesOn(a.ID, 1)) != 1 || before.BoxesOn(a.ID, 1)[0].X0 != 0.7 || len(before.BoxesOn(a.ID, 2)) != 1 {
		t.Fatalf("boxes after replacing page 1's: %+v", before.Boxes)
	}
	_, err = f.requests.SetBoxes(ctx, c.ID, a.ID, 1, nil)
	testenv.Must(t, err, "clear boxes")
	if _, _, err := f.rel.ReleaseAsOf(ctx, c.ID, before.UpdatedAt, "ann", "user:ann", ""); !errors.Is(err, release.ErrChanged) {
		t.Fatalf("release of a request changed since: %v, want ErrChanged", err)
	}
	now, err := f.requests.Get(ctx, c.ID)
	testenv.Must(t, err, "get")
	if len(now.Boxes) != 1 || now.Status != release.StatusInReview {
		t.Fatalf("after the refused release: %+v", now)
	}
	if _, did, err := f.rel.ReleaseAsOf(ctx, c.ID, now.UpdatedAt, "ann", "user:ann", ""); err != nil || !did {
		t.Fatalf("release as confirmed: %v %v", did, err)
	}

	// Denying twice is denying once.
	d := f.request(release.Selection{Documents: []int64{a.ID}})
	for range 2 {
		got, err := f.requests.Deny(ctx, d.ID, "bob", "no authorisation")
		if err != nil || got.Status != release.StatusDenied {
			t.Fatalf("deny: %v %+v", err, got)
		}
	}
	// A supervisor's extension.
	e := f.request(release.Selection{Documents: []int64{a.ID}})
	got, err := f.requests.SetDue(ctx, e.ID, chart.Date{Year: 2027, Month: 1, Day: 15})
	if err != nil || got.Due != (chart.Date{Year: 2027, Month: 1, Day: 15}) {
		t.Fatalf("set due: %v %+v", err, got)
	}
}

// TestSelection: a date-of-service range with types selects the patient's
// filed documents in it; an explicit list only the patient's own.
func TestSelection(t *testing.T) {
	f := newFixture(t)
	a := f.document("a", filingtest.Discharge) // 2024-03-14, discharge summary
	other := f.su.DB
	_ = other
	tests := []struct {
		name string
		sel  release.Selection
		want []int64
	}{
		{"explicit", release.Selection{Documents: []int64{a.ID}}, []int64{a.ID}},
		{"explicit, someone else's", release.Selection{Documents: []int64{a.ID + 1000}}, nil},
		{"range around it", release.Selection{From: chart.Date{Year: 2024, Month: 3, Day: 1}, To: chart.Date{Year: 2024, Month: 3, Day: 31}}, []int64{a.ID}},
		{"range after it", release.Selection{From: chart.Date{Year: 2024, Month: 3, Day: 15}}, nil},
		{"range before it", release.Selection{To: chart.Date{Year: 2024, Month: 3, Day: 13}}, nil},
		{"its type", release.Selection{Types: []string{a.Type}}, []int64{a.ID}},
		{"another type", release.Selection{Types: []string{"no-such-type"}}, nil},
		{"everything", release.Selection{}, []int64{a.ID}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := f.request(tt.sel)
			docs, err := f.rel.Documents(f.ctx, r)
			testenv.Must(t, err, "documents")
			var got []int64
			for _, d := range docs {
				got = append(got, d.ID)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("selected %v, want %v", got, tt.want)
			}
		})
	}
}

// BenchmarkPacket builds the packet of a request for 10 one-page
// documents, every page with a redaction box (so every page image is
// decoded, burnt and re-encoded), to nowhere: the time a technician waits
// for a preview, or a release less its upload. The pages are fetched from
// the object store each time; at 50 dpi (the tests' pages) and at 300 dpi
// (US letter as scanners send it, 2550×3300).
func BenchmarkPacket(b *testing.B) {
	for _, dpi := range []int{50, 300} {
		b.Run(fmt.Sprintf("%ddpi", dpi), func(b *testing.B) {
			f := newFixture(b)
			var ids []int64
			var boxes []release.Box
			x0, y0, x1, y1 := norm(secretBox)
			for i := range 10 {
				d := f.document(fmt.Sprintf("bench%d", i), filingtest.Discharge)
				if dpi != pageDPI {
					f.rescan(d, dpi)
				}
				ids = append(ids, d.ID)
				boxes = append(boxes, release.Box{Document: d.ID, Page: d.Pages[0], X0: x0, Y0: y0, X1: x1, Y1: y1})
			}
			r := f.request(release.Selection{Documents: ids})
			for _, bx := range boxes {
				_, err := f.requests.SetBoxes(f.ctx, r.ID, bx.Document, bx.Page, []release.Box{bx})
				testenv.Must(b, err, "set boxes")
			}
			r, err := f.requests.Get(f.ctx, r.ID)
			testenv.Must(b, err, "get")
			b.ResetTimer()
			for b.Loop() {
				if _, pages, err := f.rel.Packet(f.ctx, io.Discard, r, "ann", time.Now()); err != nil || pages != 11 {
					b.Fatalf("packet: %d pages, %v", pages, err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N)/11, "ms/page")
		})
	}
}

// rescan replaces a document's page images by the same page at dpi (its
// word boxes scaled), and its rows' sizes with them.
func (f *fixture) rescan(d storage.Document, dpi int) {
	f.t.Helper()
	k := dpi / pageDPI
	for _, no := range d.Pages {
		img := image.NewGray(image.Rect(0, 0, pageW*k, pageH*k))
		for i := range img.Pix {
			img.Pix[i] = 255
		}
		for _, w := range words(filingtest.Discharge) {
			for y := w.Y0 * k; y < w.Y1*k; y++ {
				for x := w.X0 * k; x < w.X1*k; x++ {
					if (x/3+y/5)%4 != 0 { // letters have holes
						img.Pix[img.PixOffset(x, y)] = 20
					}
				}
			}
		}
		var buf bytes.Buffer
		testenv.Must(f.t, jpeg.Encode(&buf, img, &jpeg.Options{Quality: 75}), "encode")
		testenv.Must(f.t, f.su.Objects.Put(f.ctx, storage.PageImageKey(d.BatchID, no), buf.Bytes(), "image/jpeg"), "store")
	}
	_, err := f.su.DB.Pool().Exec(f.ctx, `UPDATE pages SET width = $2, height = $3, dpi = $4 WHERE batch_id = $1`, d.BatchID, pageW*k, pageH*k, dpi)
	testenv.Must(f.t, err, "page sizes")
}
