package review

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"paperchart/audit"
	"paperchart/filing/filingtest"
	"paperchart/internal/testenv"
	"paperchart/storage"
	"paperchart/users"
)

// trail lists the audit entries since entry after as "actor action
// resource outcome detail".
func (e *env) trail(after int64) []string {
	e.t.Helper()
	es, err := e.audit.List(e.ctx, audit.Filter{Limit: 1000})
	testenv.Must(e.t, err, "audit list")
	var out []string
	for i := len(es) - 1; i >= 0; i-- {
		if en := es[i]; en.ID > after {
			out = append(out, strings.TrimSpace(fmt.Sprintf("%s %s %s %s %s", en.Actor, en.Action, en.Resource, en.Outcome, en.Detail)))
		}
	}
	return out
}

// head is the ID of the last audit entry.
func (e *env) head() int64 {
	e.t.Helper()
	es, err := e.audit.List(e.ctx, audit.Filter{Limit: 1})
	testenv.Must(e.t, err, "audit list")
	if len(es) == 0 {
		return 0
	}
	return es[0].ID
}

func hasEntry(entries []string, prefix string) bool {
	for _, s := range entries {
		if strings.HasPrefix(s, prefix) {
			return true
		}
	}
	return false
}

// TestMinimumNecessary: an indexer reads the queue and their own work;
// any other filed document only after breaking the glass, which is audited
// and shown to supervisors. Records staff read every document.
func TestMinimumNecessary(t *testing.T) {
	e := newEnv(t)
	lou := e.as(e.addUser("lou", users.Indexer))
	sam := e.as(e.addUser("sam", users.Supervisor))
	rob := e.as(e.addUser("rob", users.Records))
	filed := e.batch("filed", []filingtest.Page{{Text: filingtest.Discharge}})[0]
	if filed.State != storage.DocFiled {
		t.Fatalf("fixture: %s", filed.State)
	}
	_, stranger := e.twinBatch("queue")

	// In the queue: readable. Filed by the pipeline, never touched: not.
	want(t, lou.get(docPath(stranger.ID)), 200)
	before := e.head()
	r := lou.get(docPath(filed.ID))
	want(t, r, http.StatusForbidden, "outside your work", `action="/review/doc/`+fmt.Sprint(filed.ID)+`/break-glass"`)
	if strings.Contains(r.body, "HARTMANN") {
		t.Error("a refused document shows patient data")
	}
	want(t, lou.get(docPath(filed.ID, "/page/1")), http.StatusForbidden)
	if got := e.trail(before); !hasEntry(got, fmt.Sprintf("user:lou document.view DocumentReference/%d denied", filed.ID)) {
		t.Errorf("the refusal is not audited: %q", got)
	}
	// Records staff read it.
	want(t, rob.get(docPath(filed.ID)), 200, "HARTMANN")

	// Breaking the glass takes a reason; then the document opens, and the
	// reason is audited and listed for supervisors.
	want(t, lou.post(docPath(filed.ID, "/break-glass"), form("why", "")), 422, "Say why")
	before = e.head()
	wantLoc(t, lou.post(docPath(filed.ID, "/break-glass"), form("why", "patient at the front desk asks for a copy")), docPath(filed.ID))
	if got := e.trail(before); !hasEntry(got, fmt.Sprintf("user:lou document.break-glass DocumentReference/%d ok", filed.ID)) {
		t.Errorf("break-glass not audited: %q", got)
	}
	want(t, lou.get(docPath(filed.ID)), 200, "HARTMANN")
	want(t, sam.get("/review/stats"), 200, `id="breakglass"`, "patient at the front desk asks for a copy", "lou")
	want(t, lou.get("/review/stats"), http.StatusForbidden)
}

// TestAuditedReads: every read of patient data on the workstation is in
// the audit trail, page images included — tied to the view by the signed
// token in their URL, never by the Referer.
func TestAuditedReads(t *testing.T) {
	e := newEnv(t)
	ida := e.as(e.addUser("ida", users.Indexer))
	twin, _ := e.twinBatch("reads")

	before := e.head()
	r := ida.get(docPath(twin.ID))
	want(t, r, 200)
	m := regexp.MustCompile(`src="(/review/doc/\d+/page/1\?v=[^"]+)"`).FindStringSubmatch(r.body)
	if m == nil {
		t.Fatalf("page image URL without a view token: %.3000s", r.body)
	}
	img := ida.get(strings.ReplaceAll(m[1], "&amp;", "&"))
	if img.code != 200 || !strings.HasPrefix(img.body, "\xff\xd8") {
		t.Fatalf("page image: %d", img.code)
	}
	got := e.trail(before)
	if len(got) < 2 || !strings.HasPrefix(got[0], fmt.Sprintf("user:ida document.view DocumentReference/%d ok", twin.ID)) ||
		!regexp.MustCompile(fmt.Sprintf(`^user:ida document.page DocumentReference/%d ok page 1 of view \d+$`, twin.ID)).MatchString(got[1]) {
		t.Errorf("view and page read: %q", got)
	}

	// A forged Referer changes nothing: the read is recorded, as not from a view.
	before = e.head()
	req, _ := http.NewRequest("GET", e.srv.URL+docPath(twin.ID, "/page/2"), nil)
	req.Header.Set("Referer", e.srv.URL+docPath(twin.ID))
	want(t, ida.do(req), 200)
	if got := e.trail(before); len(got) != 1 || got[0] != fmt.Sprintf("user:ida document.page DocumentReference/%d ok page 2, not from a view", twin.ID) {
		t.Errorf("page read with a forged Referer: %q", got)
	}
	// A token of another document, or tampered with, is no view either.
	before = e.head()
	want(t, ida.get(docPath(twin.ID, "/page/2?v=1.99999999999.deadbeef")), 200)
	if got := e.trail(before); len(got) != 1 || !strings.HasSuffix(got[0], "not from a view") {
		t.Errorf("page read with a forged token: %q", got)
	}

	// Patient search and the queue.
	before = e.head()
	want(t, ida.get("/review/patients?q="+url.QueryEscape("NGUYEN, 1990-02-27")), 200, "00410003")
	want(t, ida.get("/review/"), 200)
	got = e.trail(before)
	if len(got) != 2 || !strings.HasPrefix(got[0], "user:ida patient.search  ok") || strings.Contains(got[0], "NGUYEN") ||
		!strings.HasPrefix(got[1], "user:ida document.list ") {
		t.Errorf("search and queue: %q", got)
	}
}

// TestOpenClaimsOnPost: looking at a document claims nothing; working on
// it is a POST.
func TestOpenClaimsOnPost(t *testing.T) {
	e := newEnv(t)
	ida := e.as(e.addUser("ida", users.Indexer))
	twin, _ := e.twinBatch("open")
	want(t, ida.get(docPath(twin.ID)), 200, `action="/review/doc/`+fmt.Sprint(twin.ID)+`/open"`)
	if d := e.doc(twin.ID); d.ClaimedBy != "" {
		t.Fatalf("GET claimed the document for %q", d.ClaimedBy)
	}
	want(t, ida.postRaw(docPath(twin.ID, "/open"), nil), http.StatusForbidden) // no CSRF token
	wantLoc(t, ida.post(docPath(twin.ID, "/open"), form("reason", "patient")), docPath(twin.ID)+`\?reason=patient`)
	if d := e.doc(twin.ID); d.ClaimedBy != "ida" {
		t.Fatalf("open claimed it for %q", d.ClaimedBy)
	}
	want(t, ida.get(docPath(twin.ID)), 200, "yours until")
}

var inputRE = regexp.MustCompile(`<input[^>]*>`)

// formOf reads the named form of a page as a browser submits it: its
// inputs in document order, each with its value, fill giving the values
// of the fields a person types in.
func formOf(t *testing.T, page, id string, fill map[string]string) url.Values {
	t.Helper()
	start := strings.Index(page, `id="`+id+`"`)
	if start < 0 {
		t.Fatalf("no form %s", id)
	}
	body := page[start:]
	body = body[:strings.Index(body, "</form>")]
	attr := func(tag, name string) (string, bool) {
		m := regexp.MustCompile(`\s` + name + `="([^"]*)"`).FindStringSubmatch(tag)
		if m == nil {
			return "", false
		}
		return m[1], true
	}
	v := url.Values{}
	for _, tag := range inputRE.FindAllString(body, -1) {
		name, ok := attr(tag, "name")
		if !ok {
			continue
		}
		val, _ := attr(tag, "value")
		if id, ok := attr(tag, "id"); ok {
			if f, ok := fill[id]; ok {
				val = f
			}
		}
		v.Add(name, val)
	}
	return v
}

// TestRejectAsBrowser posts the reject and drop-page forms as a browser
// sends them: every field in order, the queue filter's hidden ones first.
func TestRejectAsBrowser(t *testing.T) {
	e := newEnv(t)
	ida := e.as(e.addUser("ida", users.Indexer))
	twin, stranger := e.twinBatch("reject")
	for _, id := range []int64{twin.ID, stranger.ID} {
		ida.post(docPath(id, "/open"), nil)
	}
	page := ida.get(docPath(stranger.ID) + "?reason=patient").body
	f := formOf(t, page, "reject-form", map[string]string{"reject-reason": "outside referral, not our patient"})
	wantLoc(t, ida.postRaw(docPath(stranger.ID, "/reject"), f), `/review/(doc/\d+)?\?(empty=1&)?reason=patient&rejected=\d+|/review/doc/\d+\?reason=patient&rejected=\d+`)
	evs, _ := e.db.DocumentEvents(e.ctx, stranger.ID)
	if last := evs[len(evs)-1]; last.Event != "discarded" || last.Detail != "outside referral, not our patient" {
		t.Errorf("history %+v", last)
	}
	page = ida.get(docPath(twin.ID)).body
	f = formOf(t, page, "remove-form", map[string]string{"remove-reason": "fax cover"})
	f.Set("page", "2")
	wantLoc(t, ida.postRaw(docPath(twin.ID, "/remove-page"), f), docPath(twin.ID)+`\?removed=1`)
	if evs := strings.Join(e.events(twin.ID), " "); !strings.Contains(evs, "ida:page 2 removed: fax cover") {
		t.Errorf("history %s", evs)
	}
}

// TestFormCap: the workstation's forms are read up to 64 KiB.
func TestFormCap(t *testing.T) {
	e := newEnv(t)
	ida := e.as(e.addUser("ida", users.Indexer))
	_, stranger := e.twinBatch("cap")
	ida.post(docPath(stranger.ID, "/open"), nil)
	want(t, ida.post(docPath(stranger.ID, "/reject"), form("reject_reason", strings.Repeat("x", 4<<20))), http.StatusRequestEntityTooLarge)
	if d := e.doc(stranger.ID); d.State != storage.DocReview {
		t.Errorf("a 4 MiB form was acted on: %s", d.State)
	}
}

// TestAdminHardening: the users page reflects no free text, an admin
// cannot disable themself in another case, every change is audited, and a
// locked name can be unlocked.
func TestAdminHardening(t *testing.T) {
	e := newEnv(t)
	ada := e.as(e.addUser("ada", users.Admin))
	e.addUser("lou", users.Indexer)

	r := ada.get("/review/admin/users?added&name=" + url.QueryEscape("your-account-expires-call-555-0100"))
	want(t, r, 200)
	if strings.Contains(r.body, "your-account-expires") {
		t.Error("the users page reflects a name that is no user's")
	}
	want(t, ada.get("/review/admin/users?role&name=lou"), 200, "Changed the role of lou.")

	for _, name := range []string{"ADA", " Ada "} {
		want(t, ada.post("/review/admin/users/disable", form("name", name, "disabled", "1")), 422, "cannot disable yourself")
		want(t, ada.post("/review/admin/users/role", form("name", name, "role", "indexer")), 422, "cannot take the admin role from yourself")
	}
	if u, _ := e.users.ByName(e.ctx, "ada"); u.Disabled || u.Role != users.Admin {
		t.Fatalf("ada is %+v", u)
	}

	before := e.head()
	wantLoc(t, ada.post("/review/admin/users/role", form("name", "lou", "role", "records")), `/review/admin/users\?role&name=lou`)
	wantLoc(t, ada.post("/review/admin/users/disable", form("name", "lou", "disabled", "1")), `/review/admin/users\?disabled&name=lou`)
	wantLoc(t, ada.post("/review/admin/users/disable", form("name", "lou", "disabled", "0")), `/review/admin/users\?enabled&name=lou`)
	// Five wrong passwords lock lou at this address; the admin unlocks.
	anon := e.anonymous()
	for range 5 {
		anon.postRaw("/review/login", form("name", "lou", "password", "guess-guess-guess"))
	}
	want(t, anon.postRaw("/review/login", form("name", "lou", "password", password("lou"))), http.StatusTooManyRequests)
	want(t, ada.get("/review/admin/users"), 200, `id="locks"`, "127.0.0.1")
	wantLoc(t, ada.post("/review/admin/users/unlock", form("name", "lou")), `/review/admin/users\?unlocked&name=lou`)
	wantLoc(t, anon.postRaw("/review/login", form("name", "lou", "password", password("lou"))), `/review/`)
	got := e.trail(before)
	for _, w := range []string{"user:ada user.role user/lou ok records", "user:ada user.disable user/lou ok", "user:ada user.enable user/lou ok",
		"user:lou signin.fail", "user:ada user.unlock user/lou ok", "user:lou signin.ok"} {
		if !hasEntry(got, w) {
			t.Errorf("audit trail lacks %q: %q", w, got)
		}
	}

	// A failed sign-in with a name that is no user's keeps only its hash.
	before = e.head()
	anon.postRaw("/review/login", form("name", "correct-horse-battery", "password", "x"))
	got = e.trail(before)
	if len(got) != 1 || strings.Contains(got[0], "correct-horse") || !strings.HasPrefix(got[0], "unknown:") {
		t.Errorf("failed sign-in of an unknown name: %q", got)
	}
}
