package review

import (
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"paperchart/audit"
	"paperchart/chart"
	"paperchart/filing/filingtest"
	"paperchart/internal/testenv"
	"paperchart/release"
	"paperchart/storage"
	"paperchart/users"
)

// releaseFixture is the workstation with a filed document of HARTMANN,
// ELISE (00410001) and a records clerk, an indexer and a supervisor.
type releaseFixture struct {
	*env
	doc                storage.Document
	rita, ivan, sue    users.User
	requests           *release.Store
	patient            int64
	ritaC, ivanC, sueC *client
}

func newReleaseFixture(t *testing.T) *releaseFixture {
	e := newEnv(t)
	docs := e.batch("release", []filingtest.Page{{Text: filingtest.Discharge}})
	if len(docs) != 1 || docs[0].State != storage.DocFiled {
		t.Fatalf("fixture: want one filed document, got %+v", docs)
	}
	f := &releaseFixture{env: e, doc: docs[0], requests: release.NewStore(e.db.Pool()), patient: *docs[0].PatientID}
	f.rita, f.ivan, f.sue = e.addUser("rita", users.Records), e.addUser("ivan", users.Indexer), e.addUser("sue", users.Supervisor)
	f.ritaC, f.ivanC, f.sueC = e.as(f.rita), e.as(f.ivan), e.as(f.sue)
	return f
}

func (f *releaseFixture) newRequestForm() url.Values {
	return url.Values{"mrn": {"00410001"}, "requester_name": {"Dana Whitfield"}, "requester_organisation": {"Whitfield & Ames LLP"},
		"requester_address": {"400 Court St"}, "purpose": {"legal"}, "purpose_text": {"subpoena 24-CV-118"}, "authorization_on_file": {"1"}}
}

var requestPath = regexp.MustCompile(`^/review/release/(\d+)$`)

// create records a request through the form, as rita, and returns it.
func (f *releaseFixture) create() release.Request {
	f.t.Helper()
	r := f.ritaC.post("/review/release", f.newRequestForm())
	m := requestPath.FindStringSubmatch(r.loc())
	if r.code != 303 || m == nil {
		f.t.Fatalf("create: %d %s %s", r.code, r.loc(), r.body)
	}
	id, _ := release.ParseNumber(m[1])
	q, err := f.requests.Get(f.ctx, id)
	testenv.Must(f.t, err, "get request")
	return q
}

func (f *releaseFixture) disclosures() int {
	f.t.Helper()
	es, err := f.audit.List(f.ctx, audit.Filter{PatientID: &f.patient, Limit: 1000})
	testenv.Must(f.t, err, "audit")
	n := 0
	for _, e := range es {
		if e.Action == audit.ActionDisclosure {
			n++
		}
	}
	return n
}

func (f *releaseFixture) hasPacket(id int64) bool {
	_, err := f.obj.Stat(f.ctx, storage.ReleasePacketKey(id))
	return err == nil
}

var confirmField = regexp.MustCompile(`name="confirm" value="([0-9a-f]+)"`)

func (f *releaseFixture) confirmToken(c *client, id int64) string {
	f.t.Helper()
	r := c.get(fmt.Sprintf("/review/release/%d/confirm", id))
	m := confirmField.FindStringSubmatch(r.body)
	if r.code != 200 || m == nil {
		f.t.Fatalf("confirm screen: %d %s", r.code, r.body)
	}
	return m[1]
}

// TestReleaseNeedsConfirmation: nothing is released without the
// confirmation screen's token, without the CSRF token, or by an indexer;
// each refusal writes no packet and no disclosure. Released from the
// screen, it is released once, however often it is posted.
func TestReleaseNeedsConfirmation(t *testing.T) {
	f := newReleaseFixture(t)
	q := f.create()
	if q.Status != release.StatusOpen || q.PatientID != f.patient || q.Due != release.DueFor(q.Received) {
		t.Fatalf("created: %+v", q)
	}
	path := fmt.Sprintf("/review/release/%d", q.ID)

	// The indexer sees none of it.
	for _, p := range []string{"/review/release", "/review/release/new", path, path + "/confirm", path + "/preview"} {
		if r := f.ivanC.get(p); r.code != 403 {
			t.Errorf("indexer GET %s: %d, want 403", p, r.code)
		}
	}
	if r := f.ivanC.post("/review/release", f.newRequestForm()); r.code != 403 {
		t.Errorf("indexer creates a request: %d", r.code)
	}

	// The review page: the request goes in review, its documents' views
	// are audited and their page images carry the view's token.
	r := f.ritaC.get(path)
	if r.code != 200 || !strings.Contains(r.body, fmt.Sprintf("/review/doc/%d/page/%d?v=", f.doc.ID, f.doc.Pages[0])) {
		t.Fatalf("review page: %d %s", r.code, r.body)
	}
	es, err := f.audit.List(f.ctx, audit.Filter{DocumentID: &f.doc.ID, Limit: 10})
	testenv.Must(t, err, "audit")
	if len(es) == 0 || es[0].Action != audit.ActionDocumentView || es[0].Detail != "release review "+q.Number || es[0].Actor != "user:rita" {
		t.Errorf("review view not audited: %+v", es)
	}
	if img := f.ritaC.get(strings.Split(strings.Split(r.body, `<img src="`)[1], `"`)[0]); img.code != 200 {
		t.Errorf("page image: %d", img.code)
	}

	tok := f.confirmToken(f.ritaC, q.ID)
	refused := []struct {
		name string
		do   func() resp
		code int
	}{
		{"no confirmation", func() resp { return f.ritaC.post(path+"/release", nil) }, 409},
		{"a forged confirmation", func() resp { return f.ritaC.post(path+"/release", url.Values{"confirm": {strings.Repeat("0", 32)}}) }, 409},
		{"no CSRF token", func() resp { return f.ritaC.postRaw(path+"/release", url.Values{"confirm": {tok}}) }, 403},
		{"another's CSRF token", func() resp {
			return f.ritaC.postRaw(path+"/release", url.Values{"confirm": {tok}, "csrf_token": {f.sueC.csrf}})
		}, 403},
		{"an indexer", func() resp { return f.ivanC.post(path+"/release", url.Values{"confirm": {tok}}) }, 403},
		{"the supervisor with rita's confirmation", func() resp { return f.sueC.post(path+"/release", url.Values{"confirm": {tok}}) }, 409},
	}
	for _, tt := range refused {
		if got := tt.do(); got.code != tt.code {
			t.Errorf("%s: %d, want %d", tt.name, got.code, tt.code)
		}
		got, err := f.requests.Get(f.ctx, q.ID)
		testenv.Must(t, err, "get")
		if got.Status == release.StatusReleased || f.disclosures() != 0 || f.hasPacket(q.ID) {
			t.Fatalf("%s released it: %s, %d disclosures, packet %v", tt.name, got.Status, f.disclosures(), f.hasPacket(q.ID))
		}
	}

	// A change after the confirmation screen makes it stale.
	if r := f.ritaC.post(path+"/boxes", url.Values{"document": {fmt.Sprint(f.doc.ID)}, "page": {fmt.Sprint(f.doc.Pages[0])},
		"boxes": {`[{"x0":0.1,"y0":0.1,"x1":0.5,"y1":0.2}]`}}); r.code != 303 {
		t.Fatalf("set boxes: %d %s", r.code, r.body)
	}
	if r := f.ritaC.post(path+"/release", url.Values{"confirm": {tok}}); r.code != 409 || f.disclosures() != 0 {
		t.Fatalf("a stale confirmation: %d, %d disclosures", r.code, f.disclosures())
	}

	tok = f.confirmToken(f.ritaC, q.ID)
	for i := range 2 {
		if r := f.ritaC.post(path+"/release", url.Values{"confirm": {tok}}); r.code != 303 || r.loc() != path+"?released=1" {
			t.Fatalf("release %d: %d %s %s", i+1, r.code, r.loc(), r.body)
		}
	}
	got, err := f.requests.Get(f.ctx, q.ID)
	testenv.Must(t, err, "get")
	if got.Status != release.StatusReleased || got.DecidedBy != "rita" || f.disclosures() != 1 || !f.hasPacket(q.ID) || len(got.Boxes) != 1 {
		t.Fatalf("released: %+v, %d disclosures", got, f.disclosures())
	}
	if r := f.ritaC.get(path + "/packet"); r.code != 200 || !strings.HasPrefix(r.body, "%PDF-") {
		t.Errorf("packet: %d", r.code)
	}
	if r := f.ritaC.post(path+"/deny", url.Values{"reason": {"changed my mind"}}); r.code != 409 {
		t.Errorf("deny a released request: %d", r.code)
	}

	// Denied: nothing released, and nothing can be.
	d := f.create()
	dpath := fmt.Sprintf("/review/release/%d", d.ID)
	dtok := f.confirmToken(f.ritaC, d.ID)
	if r := f.ritaC.post(dpath+"/deny", url.Values{"reason": {""}}); r.code != 422 {
		t.Errorf("deny without a reason: %d", r.code)
	}
	if r := f.ritaC.post(dpath+"/deny", url.Values{"reason": {"no valid authorisation"}}); r.code != 303 {
		t.Fatalf("deny: %d %s", r.code, r.body)
	}
	if r := f.ritaC.post(dpath+"/release", url.Values{"confirm": {dtok}}); r.code == 303 {
		t.Errorf("a denied request was released")
	}
	if got, _ := f.requests.Get(f.ctx, d.ID); got.Status != release.StatusDenied || f.disclosures() != 1 || f.hasPacket(d.ID) {
		t.Errorf("denied: %+v, %d disclosures", got, f.disclosures())
	}

	// The due date is a supervisor's to change.
	o := f.create()
	opath := fmt.Sprintf("/review/release/%d", o.ID)
	if r := f.ritaC.post(opath+"/due", url.Values{"due": {"2030-01-01"}}); r.code != 403 {
		t.Errorf("records changes the due date: %d", r.code)
	}
	if r := f.sueC.post(opath+"/due", url.Values{"due": {"2030-01-01"}}); r.code != 303 {
		t.Errorf("supervisor changes the due date: %d", r.code)
	}
	if got, _ := f.requests.Get(f.ctx, o.ID); got.Due != (chart.Date{Year: 2030, Month: 1, Day: 1}) {
		t.Errorf("due %s", got.Due)
	}

	// The log names no patient or requester.
	for _, s := range []string{"HARTMANN", "Whitfield", "00410001", "subpoena"} {
		if strings.Contains(f.logs.String(), s) {
			t.Errorf("the server log has %q", s)
		}
	}
}

// TestReleaseList: undecided requests by due date, overdue marked;
// supervisors see every request, records staff the undecided and their
// own; the list is audited.
func TestReleaseList(t *testing.T) {
	f := newReleaseFixture(t)
	late, err := f.requests.Create(f.ctx, release.NewRequest{Requester: release.Requester{Name: "Blue Cross claims"}, Purpose: release.PurposePayment,
		PatientID: f.patient, Received: chart.DateOf(chart.Date{Year: 2020, Month: 1, Day: 2}.Time())}, "sue")
	testenv.Must(t, err, "create")
	mine := f.create()
	theirs, err := f.requests.Create(f.ctx, release.NewRequest{Requester: release.Requester{Name: "Dr Rowe"}, Purpose: release.PurposeTreatment,
		PatientID: f.patient}, "sue")
	testenv.Must(t, err, "create")
	_, err = f.requests.Deny(f.ctx, theirs.ID, "sue", "duplicate")
	testenv.Must(t, err, "deny")

	r := f.ritaC.get("/review/release")
	if r.code != 200 {
		t.Fatalf("list: %d", r.code)
	}
	rows := regexp.MustCompile(`<tr data-href="/review/release/(\d+)" class="([a-z]*)">`).FindAllStringSubmatch(r.body, -1)
	if len(rows) != 2 || rows[0][1] != fmt.Sprint(late.ID) || rows[0][2] != "overdue" || rows[1][1] != fmt.Sprint(mine.ID) || rows[1][2] != "" {
		t.Errorf("records' list: %v", rows)
	}
	if !strings.Contains(r.body, late.Due.String()) {
		t.Errorf("the due date %s is not shown", late.Due)
	}
	if r := f.sueC.get("/review/release"); strings.Count(r.body, `<tr data-href="/review/release/`) != 3 {
		t.Errorf("supervisor's list lacks the denied request")
	}
	if r := f.sueC.get("/review/release?status=denied"); strings.Count(r.body, `<tr data-href="/review/release/`) != 1 {
		t.Errorf("status filter")
	}
	es, err := f.audit.List(f.ctx, audit.Filter{Actor: "user:rita", Limit: 5})
	testenv.Must(t, err, "audit")
	if len(es) == 0 || es[0].Action != release.ActionList || !strings.Contains(es[0].Detail, fmt.Sprint(late.ID)) {
		t.Errorf("list not audited: %+v", es)
	}
}

// TestReleaseBrowser drives release of information in Chromium: record a
// request with the form, review it, drag a redaction box on the page
// image, go to the confirmation with the keyboard and release it.
func TestReleaseBrowser(t *testing.T) {
	tab := browser(t)
	f := newReleaseFixture(t)
	f.renderPages(t, f.doc.BatchID)
	second := f.batch("release-2", []filingtest.Page{{Text: filingtest.Discharge}})
	f.renderPages(t, second[0].BatchID)
	_, err := f.requests.Create(f.ctx, release.NewRequest{Requester: release.Requester{Name: "Blue Cross claims", Organisation: "Blue Cross"},
		Purpose: release.PurposePayment, PatientID: f.patient, Received: chart.Date{Year: 2026, Month: 9, Day: 1}}, "sue")
	testenv.Must(t, err, "create an overdue request")
	f.signInCookie(t, tab, f.rita)
	base := f.srv.URL

	do(t, tab, "the form", chromedp.Navigate(base+"/review/release"), chromedp.WaitVisible(chromedp.ID("requests")),
		chromedp.KeyEvent("c"), chromedp.WaitVisible(chromedp.ID("new-form")),
		chromedp.SendKeys(chromedp.ID("mrn"), "00410001"),
		chromedp.SendKeys(chromedp.ID("requester-name"), "Dana Whitfield"),
		chromedp.SendKeys(chromedp.ID("requester-org"), "Whitfield & Ames LLP"),
		chromedp.SendKeys(chromedp.ID("requester-address"), "400 Court St, Springfield IL"),
		chromedp.SetValue(chromedp.ID("purpose"), "legal"),
		chromedp.SendKeys(chromedp.ID("purpose-text"), "subpoena 24-CV-118"),
		chromedp.Click(chromedp.ID("auth-on-file")),
		chromedp.Click(chromedp.ID("create")),
		chromedp.WaitVisible(chromedp.CSS(".rpage.current img")),
		waitJS(`document.querySelector(".rpage.current img").complete && document.querySelector(".rpage.current img").naturalWidth > 100`))
	id, err := release.ParseNumber(strings.TrimPrefix(text(t, tab, "h1"), "REL-"))
	testenv.Must(t, err, "request number")

	rect := eval[[]float64](t, tab, `(() => { const r = document.querySelector(".rpage.current .canvas").getBoundingClientRect(); return [r.left, r.top, r.width, r.height]; })()`)
	x := func(v float64) float64 { return rect[0] + v*rect[2] }
	y := func(v float64) float64 { return rect[1] + v*rect[3] }
	do(t, tab, "drag a box", chromedp.MouseEvent(chromedp.MousePressed, x(0.08), y(0.06), chromedp.ButtonLeft),
		chromedp.MouseEvent(chromedp.MouseMoved, x(0.3), y(0.08), chromedp.ButtonLeft),
		chromedp.MouseEvent(chromedp.MouseMoved, x(0.62), y(0.105), chromedp.ButtonLeft),
		chromedp.MouseEvent(chromedp.MouseReleased, x(0.62), y(0.105), chromedp.ButtonLeft),
		waitJS(`document.querySelector("#saved").textContent === "boxes saved"`))
	q, err := f.requests.Get(f.ctx, id)
	testenv.Must(t, err, "get")
	if len(q.Boxes) != 1 || q.Status != release.StatusInReview {
		t.Fatalf("after the drag: %+v", q)
	}
	if b := q.Boxes[0]; b.Document != f.doc.ID || abs(b.X0-0.08) > 0.01 || abs(b.Y0-0.06) > 0.01 || abs(b.X1-0.62) > 0.01 || abs(b.Y1-0.105) > 0.01 {
		t.Errorf("box %+v, want about 0.08,0.06–0.62,0.105", b)
	}
	screenshot(t, tab, "release-review.png")
	do(t, tab, "next page", chromedp.KeyEvent("j"), waitJS(`document.querySelector("#pos").textContent === "page 2 of 2"`),
		waitJS(`document.querySelectorAll(".rpage.current .rbox").length === 0`))
	do(t, tab, "previous page", chromedp.KeyEvent("k"), waitJS(`document.querySelector("#pos").textContent === "page 1 of 2"`),
		waitJS(`document.querySelectorAll(".rpage.current .rbox").length === 1`))

	do(t, tab, "to the confirmation", chromedp.KeyEvent("r"), chromedp.WaitVisible(chromedp.ID("release-now")))
	screenshot(t, tab, "release-confirm.png")
	do(t, tab, "release", chromedp.Click(chromedp.ID("release-now")), chromedp.WaitVisible(chromedp.ID("flash")))
	if q, _ := f.requests.Get(f.ctx, id); q.Status != release.StatusReleased || q.PacketPages != 3 || len(q.PacketDocuments) != 2 {
		t.Fatalf("released: %+v", q)
	}
	// The packet's pages, as a person would print them, for a look.
	pdf, err := f.obj.Get(f.ctx, storage.ReleasePacketKey(id))
	testenv.Must(t, err, "packet")
	path := filepath.Join(t.TempDir(), "packet.pdf")
	testenv.Must(t, os.WriteFile(path, pdf, 0o600), "write packet")
	for page, name := range map[int]string{1: "release-packet-cover.png", 2: "release-packet-page.png"} {
		out, err := exec.Command("pdftoppm", "-png", "-r", "60", "-f", fmt.Sprint(page), "-l", fmt.Sprint(page), "-singlefile",
			path, filepath.Join(screenshotDir, strings.TrimSuffix(name, ".png"))).CombinedOutput()
		testenv.Must(t, err, "render packet page %d: %s", page, out)
	}
	do(t, tab, "the list", chromedp.Navigate(base+"/review/release"), chromedp.WaitVisible(chromedp.ID("requests")))
	if n := eval[int](t, tab, `document.querySelectorAll("#requests tr.overdue").length`); n != 1 {
		t.Errorf("%d overdue rows, want 1", n)
	}
	screenshot(t, tab, "release-list.png")
}

func abs(v float64) float64 {
	if v < 0 {
		return -v
	}
	return v
}
