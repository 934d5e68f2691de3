package review

import (
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"paperchart/audit"
	"paperchart/filing/filingtest"
	"paperchart/internal/testenv"
	"paperchart/search"
	"paperchart/storage"
	"paperchart/users"
)

// A two-page discharge summary of HARTMANN, ELISE (00410001), filed by its
// cover sheet, whose second page tells of a fracture, with markup in the
// OCR text that must reach the page as text.
var (
	hipPage1 = "SPRINGFIELD MEMORIAL HOSPITAL\nDISCHARGE SUMMARY\nPatient: HARTMANN, ELISE\nMRN: 00410001\nDOB: 04/12/1961\n" +
		"Date of Service: 03/20/2024\nAdmission Date: 03/18/2024\nHospital Course: admitted after a fall at home.\nPage 1 of 2\n"
	hipPage2 = "HARTMANN, ELISE MRN: 00410001 Page 2 of 2\nImaging showed a displaced fracture <img src=x onerror=alert(1)> & dislocation of the left femoral neck " +
		"near the left hip. Orthopedics performed a hemiarthroplasty. Weight bearing as tolerated.\nDischarge Condition: stable.\n"
)

func (e *env) hipDocument(t *testing.T) storage.Document {
	t.Helper()
	docs := e.batch("hip", []filingtest.Page{{Cover: "00410001", Type: "discharge-summary"}, {Text: hipPage1}, {Text: hipPage2}})
	if len(docs) != 1 || docs[0].State != storage.DocFiled || len(docs[0].Pages) != 2 {
		t.Fatalf("fixture: %+v", docs)
	}
	return docs[0]
}

// TestDocumentSearch: the search page finds filed documents by their text
// for those who may read them, shows the snippet escaped with only the
// matches marked, audits every search with its text, and logs none of it.
func TestDocumentSearch(t *testing.T) {
	e := newEnv(t)
	hip := e.hipDocument(t)
	rosa := e.as(e.addUser("rosa", users.Records))
	ida := e.as(e.addUser("ida", users.Indexer))
	const secret = "hemiarthroplastx" // a word no page has: only the audit trail may hold it

	for _, tt := range []struct {
		name     string
		c        *client
		q        url.Values
		want     []string
		not      []string
		jsonWant string
	}{
		{"records find it", rosa, url.Values{"q": {"fractures"}}, []string{
			fmt.Sprintf(`href="/review/doc/%d?page=2"`, hip.ID), "page 2 of 2", `<mark class="hit">fracture</mark>`,
			"HARTMANN, ELISE", "MRN 00410001", "Discharge summary", `id="found">1 found`,
			"&lt;img src=x onerror=alert(1)&gt;", "&amp; dislocation"}, []string{"<img src=x"}, ""},
		{"with filters", rosa, url.Values{"q": {"fracture"}, "mrn": {"00410001"}, "type": {"discharge-summary"}, "from": {"2024-03-01"}, "to": {"2024-03-31"},
			"batch": {fmt.Sprint(hip.BatchID)}}, []string{"1 found"}, nil, ""},
		{"a filter that excludes it", rosa, url.Values{"q": {"fracture"}, "mrn": {"00410002"}}, []string{"0 found", `id="nothing"`}, nil, ""},
		{"an indexer outside their work", ida, url.Values{"q": {"fracture"}}, []string{"0 found"}, []string{"HARTMANN"}, ""},
		{"nothing to search", rosa, url.Values{"q": {"the"}}, []string{`id="search-error"`, "Type words"}, nil, ""},
		{"bad date", rosa, url.Values{"q": {"fracture"}, "from": {"soon"}}, []string{"must be a date"}, nil, ""},
		{"bad type", rosa, url.Values{"q": {"fracture"}, "type": {"novel"}}, []string{"Pick a document type"}, nil, ""},
		{"no query: the form", rosa, url.Values{}, []string{`id="q"`, "autofocus"}, []string{`id="found"`}, ""},
		{"a word nobody wrote", rosa, url.Values{"q": {secret}}, []string{"0 found"}, nil, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.c.get("/review/search?" + tt.q.Encode())
			want(t, r, 200, tt.want...)
			for _, s := range tt.not {
				if strings.Contains(r.body, s) {
					t.Errorf("page holds %q", s)
				}
			}
		})
	}
	es, err := e.audit.List(e.ctx, audit.Filter{Limit: 100})
	testenv.Must(t, err, "audit list")
	var searches []string
	for _, en := range es {
		if en.Action == search.ActionSearch {
			searches = append(searches, en.Actor+" "+en.Detail)
			if en.Remote == "" {
				t.Errorf("no remote address: %+v", en)
			}
		}
	}
	joined := strings.Join(searches, "\n")
	for _, w := range []string{
		fmt.Sprintf(`user:rosa q="fractures"; 1 found: DocumentReference/%d`, hip.ID),
		`user:ida q="fracture"; 0 found`,
		`user:rosa q="fracture" mrn="00410002"; 0 found`,
		`user:rosa q="` + secret + `"; 0 found`,
	} {
		if !strings.Contains(joined, w) {
			t.Errorf("audit trail lacks %q:\n%s", w, joined)
		}
	}
	// The query text is in the audit trail only, never in the log.
	if logs := e.logs.String(); strings.Contains(logs, secret) || strings.Contains(logs, "fracture") {
		t.Errorf("the server log holds query text:\n%s", logs)
	}
}

// TestBrowserSearch: from the queue, / opens the search; the words typed
// and Enter show the hit highlighted; Enter opens the document at the
// page the hit is on.
func TestBrowserSearch(t *testing.T) {
	tab := browser(t)
	e := newEnv(t)
	hip := e.hipDocument(t)
	e.renderPages(t, hip.BatchID)
	e.batch("other", []filingtest.Page{{Text: filingtest.Discharge}, {Sep: true}, {Text: filingtest.Stranger}})
	e.signInCookie(t, tab, e.addUser("rosa", users.Records))
	base := e.srv.URL

	do(t, tab, "the queue", chromedp.Navigate(base+"/review/"), chromedp.WaitVisible(chromedp.ID("queue")))
	do(t, tab, "press /", chromedp.KeyEvent("/"), chromedp.WaitVisible(chromedp.ID("q")),
		waitJS(`document.activeElement && document.activeElement.id === "q"`))
	do(t, tab, "type and search", chromedp.KeyEvent("fractures"), chromedp.KeyEvent("\r"), chromedp.WaitVisible(chromedp.ID("results")))
	if got := text(t, tab, "#results li.marked mark.hit"); got != "fracture" {
		t.Errorf("highlighted %q, want fracture", got)
	}
	if got := text(t, tab, "#results li.marked .open"); !strings.Contains(got, fmt.Sprintf("Document %d · page 2 of 2", hip.ID)) {
		t.Errorf("result says %q", got)
	}
	// The markup in the OCR text is shown as text, not made an element.
	if n := eval[int](t, tab, `document.querySelectorAll("#results img").length`); n != 0 {
		t.Errorf("%d img elements in the results", n)
	}
	if got := text(t, tab, "#results li.marked .snippet"); !strings.Contains(got, "<img src=x onerror=alert(1)>") {
		t.Errorf("snippet %q", got)
	}
	screenshot(t, tab, "search.png")
	do(t, tab, "open it", chromedp.KeyEvent("\r"), chromedp.WaitVisible(chromedp.ID("stage")), waitJS(`document.querySelector("#cur").textContent === "2"`))
	if loc, _ := chromedp.Run(tab, chromedp.Location()); !strings.HasSuffix(loc, fmt.Sprintf("/review/doc/%d?page=2", hip.ID)) {
		t.Errorf("opened %s", loc)
	}
	screenshot(t, tab, "search-opened.png")
}
