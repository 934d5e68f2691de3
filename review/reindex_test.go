package review

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"paperchart/filing/filingtest"
	"paperchart/storage"
	"paperchart/users"
)

// TestMoveFiledDocument: records staff (and supervisors) move a filed
// document from its page; an indexer cannot, not even by posting the form.
// The move is audited by IDs, a repeat is one move, a move to the same
// placement and a move of the withdrawn placement are refused in plain
// words, and both pages say where the document went.
func TestMoveFiledDocument(t *testing.T) {
	e := newEnv(t)
	lou := e.as(e.addUser("lou", users.Indexer))
	rob := e.as(e.addUser("rob", users.Records))
	sam := e.as(e.addUser("sam", users.Supervisor))
	filed := e.batch("move", []filingtest.Page{{Text: filingtest.Discharge}})[0]
	if filed.State != storage.DocFiled {
		t.Fatalf("fixture: %s", filed.State)
	}
	hart, oka := e.patient("00410001"), e.patient("00410002")
	path := docPath(filed.ID, "/move-filed")

	// The role: an indexer has no move, and the form is refused.
	lou.post(docPath(filed.ID, "/break-glass"), form("why", "checking a filing"))
	r := lou.get(docPath(filed.ID))
	want(t, r, 200)
	if strings.Contains(r.body, `id="move-dialog"`) || strings.Contains(r.body, `id="move-open"`) {
		t.Error("an indexer is offered the move")
	}
	want(t, lou.post(path, form("patient_id", fmt.Sprint(oka.ID), "type", "discharge-summary", "move_reason", "x")), http.StatusForbidden)
	if d := e.doc(filed.ID); d.State != storage.DocFiled {
		t.Fatalf("an indexer's post moved the document: %s", d.State)
	}
	want(t, rob.get(docPath(filed.ID)), 200, `id="move-open"`, `id="move-dialog"`, `action="/review/doc/`+fmt.Sprint(filed.ID)+`/move-filed"`,
		"where it is now")
	want(t, sam.get(docPath(filed.ID)), 200, `id="move-open"`)

	// Refusals, in plain words.
	want(t, rob.post(path, form("patient_id", fmt.Sprint(oka.ID), "type", "discharge-summary")), 422, "Say why the document is moved")
	want(t, rob.post(path, form("patient_id", fmt.Sprint(hart.ID), "type", "discharge-summary", "move_reason", "x")), 422,
		"filed to that patient with that type already")

	// The move, then the same move again: one move.
	before := e.head()
	mv := form("patient_id", fmt.Sprint(oka.ID), "type", "discharge-summary", "move_reason", "wrong patient: the label was misread")
	loc := wantLoc(t, rob.post(path, mv), `/review/doc/\d+\?refiled=`+fmt.Sprint(filed.ID))
	if again := wantLoc(t, rob.post(path, mv), `/review/doc/\d+\?refiled=`+fmt.Sprint(filed.ID)); again != loc {
		t.Errorf("the repeat went to %s, the move to %s", again, loc)
	}
	var newID int64
	fmt.Sscanf(loc, "/review/doc/%d", &newID)
	nd := e.doc(newID)
	if nd.State != storage.DocFiled || *nd.PatientID != oka.ID || nd.Replaces == nil || *nd.Replaces != filed.ID {
		t.Fatalf("new document %+v", nd)
	}
	trail := e.trail(before)
	var moves []string
	for _, s := range trail {
		if strings.Contains(s, "document.move") {
			moves = append(moves, s)
		}
	}
	wantEntry := fmt.Sprintf("user:rob document.move DocumentReference/%d ok DocumentReference/%d (Patient/%d, type discharge-summary) moved to DocumentReference/%d (Patient/%d, type discharge-summary)",
		filed.ID, filed.ID, hart.ID, newID, oka.ID)
	if len(moves) != 1 || !strings.HasPrefix(moves[0], wantEntry) {
		t.Errorf("audited moves %q, want one: %s", moves, wantEntry)
	}
	for _, s := range trail {
		if strings.Contains(s, "misread") || strings.Contains(s, "OKAFOR") || strings.Contains(s, "00410002") {
			t.Errorf("the audit trail holds the reason or patient data: %s", s)
		}
	}
	want(t, rob.post(path, form("patient_id", fmt.Sprint(hart.ID), "type", "lab-report", "move_reason", "x")), http.StatusConflict,
		fmt.Sprintf("it is now document %d", newID))

	// Both pages say where the document went; the old one has no move.
	r = rob.get(docPath(filed.ID))
	want(t, r, 200, "This placement was withdrawn", fmt.Sprintf(`href="/review/doc/%d" id="replaced-by"`, newID), "moved (entered in error)",
		"wrong patient: the label was misread")
	if strings.Contains(r.body, `id="move-open"`) {
		t.Error("the withdrawn placement offers a move")
	}
	want(t, rob.get(loc), 200, "moved: this is its new placement", fmt.Sprintf(`id="replaces">document %d`, filed.ID), "OKAFOR")
	if strings.Contains(e.logs.String(), "misread") || strings.Contains(e.logs.String(), "OKAFOR") {
		t.Error("the log holds the reason or a name")
	}
}

// TestBrowserMoveDialog moves a filed document to another patient in a
// real Chromium with the keyboard alone: v opens the dialog (focus in its
// search), Esc closes it, the search finds the patient, ↓ picks them, Tab
// goes to the type and the reason, Enter moves; reindex.png shows the
// dialog filled in.
func TestBrowserMoveDialog(t *testing.T) {
	tab := browser(t)
	e := newEnv(t)
	robU := e.addUser("rob", users.Records)
	docs := e.batch("reindex", []filingtest.Page{{Text: filingtest.Discharge}})
	filed := docs[0]
	if filed.State != storage.DocFiled {
		t.Fatalf("fixture: %s", filed.State)
	}
	e.renderPages(t, filed.BatchID)
	oka := e.patient("00410002")
	e.signInCookie(t, tab, robU)
	base := e.srv.URL

	do(t, tab, "open the filed document", chromedp.Navigate(base+docPath(filed.ID)), chromedp.WaitVisible(chromedp.ID("move-open")))
	do(t, tab, "v opens the dialog", chromedp.KeyEvent("v"), chromedp.WaitVisible(chromedp.ID("move-dialog")),
		waitJS(`document.activeElement && document.activeElement.id === "move-q"`))
	do(t, tab, "Esc closes it", chromedp.KeyEvent(kb.Escape), waitJS(`!document.getElementById("move-dialog").open`))
	do(t, tab, "v again", chromedp.KeyEvent("v"), waitJS(`document.getElementById("move-dialog").open && document.activeElement.id === "move-q"`))
	do(t, tab, "search the patient", chromedp.KeyEvent("00410002"), chromedp.KeyEvent(kb.Enter),
		chromedp.WaitVisible(chromedp.CSS("#move-found .cand.found")))
	do(t, tab, "pick them", chromedp.KeyEvent(kb.ArrowDown),
		waitJS(fmt.Sprintf(`document.activeElement.name === "patient_id" && document.activeElement.value === "%d" && document.activeElement.checked`, oka.ID)))
	do(t, tab, "to the type", chromedp.KeyEvent(kb.Tab), waitJS(`document.activeElement.id === "move-type"`))
	do(t, tab, "to the reason", chromedp.KeyEvent(kb.Tab), waitJS(`document.activeElement.id === "move-reason"`),
		chromedp.KeyEvent("wrong patient: the label was misread"))
	if n := eval[bool](t, tab, `document.querySelector("#move-found .cand.selected input").value === "`+fmt.Sprint(oka.ID)+`"`); !n {
		t.Error("the patient picked is not marked")
	}
	if bg := eval[string](t, tab, `getComputedStyle(document.getElementById("move-dialog"), "::backdrop").backgroundColor`); bg == "" || bg == "rgba(0, 0, 0, 0)" {
		t.Errorf("the dialog has no backdrop (%q): the page behind is not dimmed", bg)
	}
	screenshot(t, tab, "reindex.png")
	do(t, tab, "move", chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.ID("flash")))
	if got := text(t, tab, "#flash"); !strings.Contains(got, fmt.Sprintf("Document %d moved", filed.ID)) {
		t.Errorf("flash %q", got)
	}
	screenshot(t, tab, "reindex-moved.png")
	d := e.doc(filed.ID)
	if d.State != storage.DocMoved {
		t.Fatalf("the document is %s after the move", d.State)
	}
	to, err := e.db.ReplacedBy(e.ctx, filed.ID)
	if err != nil || to == 0 {
		t.Fatalf("replaced by %d, %v", to, err)
	}
	if nd := e.doc(to); *nd.PatientID != oka.ID || nd.State != storage.DocFiled {
		t.Errorf("the new document: patient %d, %s", *nd.PatientID, nd.State)
	}
	do(t, tab, "the old placement", chromedp.Navigate(base+docPath(filed.ID)), chromedp.WaitVisible(chromedp.ID("replaced-by")))
	if eval[bool](t, tab, `document.getElementById("move-open") !== null`) {
		t.Error("the withdrawn placement offers a move")
	}
	screenshot(t, tab, "reindex-old.png")
}
