package review

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"paperchart/audit"
	"paperchart/filing/filingtest"
	"paperchart/internal/testenv"
	"paperchart/storage"
	"paperchart/users"
)

func want(t *testing.T, r resp, code int, contains ...string) {
	t.Helper()
	if r.code != code {
		t.Fatalf("status %d, want %d: %.600s", r.code, code, r.body)
	}
	for _, c := range contains {
		if !strings.Contains(r.body, c) {
			t.Errorf("body lacks %q: %.2000s", c, r.body)
		}
	}
}

func wantLoc(t *testing.T, r resp, pattern string) string {
	t.Helper()
	if r.code != http.StatusSeeOther {
		t.Fatalf("status %d, want 303: %.600s", r.code, r.body)
	}
	if !regexp.MustCompile("^" + pattern + "$").MatchString(r.loc()) {
		t.Fatalf("redirect to %q, want %s", r.loc(), pattern)
	}
	return r.loc()
}

func docPath(id int64, rest ...string) string {
	return fmt.Sprintf("/review/doc/%d", id) + strings.Join(rest, "")
}

func form(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return v
}

// TestWorkstation runs every route and action over a real database and
// object store, as an indexer (ida), a supervisor (sam) and an admin (ada).
func TestWorkstation(t *testing.T) {
	e := newEnv(t)
	idaU := e.addUser("ida", users.Indexer)
	samU := e.addUser("sam", users.Supervisor)
	adaU := e.addUser("ada", users.Admin)
	e.addUser("lou", users.Indexer)
	ida, sam, ada := e.as(idaU), e.as(samU), e.as(adaU)

	t.Run("sign-in", func(t *testing.T) {
		anon := e.anonymous()
		wantLoc(t, anon.get("/review/"), `/review/login\?next=%2Freview%2F`)
		r := anon.get("/review/login")
		want(t, r, 200, `name="password"`, `action="/review/login"`)
		if csp := r.header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("CSP %q", csp)
		}
		if r.header.Get("X-Frame-Options") != "DENY" || r.header.Get("Cache-Control") != "no-store" {
			t.Errorf("headers %v", r.header)
		}
		// A wrong password says so without saying which of the two was wrong.
		r = anon.postRaw("/review/login", form("name", "ida", "password", "not-the-password"))
		want(t, r, http.StatusUnauthorized, "Wrong name or password.")
		if len(r.header.Values("Set-Cookie")) > 0 {
			t.Errorf("a failed sign-in set a cookie: %v", r.header.Values("Set-Cookie"))
		}
		// A post from another site is refused.
		req, _ := http.NewRequest("POST", e.srv.URL+"/review/login", strings.NewReader(form("name", "ida", "password", password("ida")).Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", "http://evil.example")
		want(t, anon.do(req), http.StatusForbidden)
		// Five failures lock the name, even for the right password.
		for range 5 {
			want(t, anon.postRaw("/review/login", form("name", "lou", "password", "guess-guess-guess")), http.StatusUnauthorized)
		}
		want(t, anon.postRaw("/review/login", form("name", "lou", "password", password("lou"))), http.StatusTooManyRequests,
			"Too many failed sign-ins")
		// The right password signs in and goes where the person was going;
		// never to another site.
		r = anon.postRaw("/review/login", form("name", "ida", "password", password("ida"), "next", "/review/batches"))
		wantLoc(t, r, `/review/batches`)
		want(t, anon.get("/review/batches"), 200, ">ida <small>indexer</small>")
		anon.csrf = anon.get("/review/").csrf()
		wantLoc(t, anon.get("/review/login?next=https://evil.example/"), `/review/`)
		// Signing out needs the form's token; then the pages need signing in.
		want(t, anon.postRaw("/review/logout", nil), http.StatusForbidden)
		wantLoc(t, anon.post("/review/logout", nil), `/review/login\?bye`)
		wantLoc(t, anon.get("/review/"), `/review/login\?next=%2Freview%2F`)
		want(t, anon.postRaw("/review/next", nil), http.StatusUnauthorized)
	})

	twin, stranger := e.twinBatch("queue")
	consult := e.batch("consult", []filingtest.Page{{Text: filingtest.Consult}})[0]

	t.Run("queue", func(t *testing.T) {
		r := ida.get("/review/")
		want(t, r, 200, "low patient match", "no patient found", "no identifiers", "queue-", docPath(twin.ID), docPath(stranger.ID), "Start with the oldest")
		if strings.Index(r.body, docPath(twin.ID)) > strings.Index(r.body, docPath(consult.ID)) {
			t.Error("the queue is not oldest first")
		}
		r = ida.get("/review/?reason=identifiers")
		want(t, r, 200, docPath(consult.ID))
		if strings.Contains(r.body, docPath(twin.ID)+`"`) {
			t.Error("the reason filter let a document through that waits for another reason")
		}
		want(t, ida.get("/review/?source=test&reason=patient"), 200, docPath(twin.ID))
		want(t, ida.get("/review/?source=elsewhere"), 200, "No document waits for review with this filter")
	})

	t.Run("document view", func(t *testing.T) {
		// Looking claims nothing; working on it is a POST.
		want(t, ida.get(docPath(twin.ID)), 200, `id="work-on-it"`)
		wantLoc(t, ida.post(docPath(twin.ID, "/open"), nil), docPath(twin.ID))
		r := ida.get(docPath(twin.ID))
		want(t, r, 200, "NGUYEN, LINH", "NGUYEN, MAI", "00410003", `<mark class="id-birth" title="birth">02/27/1990</mark>`,
			`name="patient_id"`, `<option value="progress-note" selected>`, "birth date agrees", `id="confirm"`,
			docPath(twin.ID, "/page/1"), docPath(twin.ID, "/page/2"), "yours until")
		if r.header.Get("Cache-Control") != "no-store" {
			t.Errorf("a page with patient data may be cached: %q", r.header.Get("Cache-Control"))
		}
		// Neither twin is pre-selected: the match is in doubt.
		if strings.Contains(r.body, "checked") {
			t.Error("a candidate is pre-selected on a document whose patient is in doubt")
		}
		d := e.doc(twin.ID)
		if d.ClaimedBy != "ida" || d.ClaimedUntil == nil || time.Until(*d.ClaimedUntil) < 9*time.Minute {
			t.Errorf("claim %q until %v", d.ClaimedBy, d.ClaimedUntil)
		}
		if evs := e.events(twin.ID); !slices.Contains(evs, "ida:viewed") || !slices.Contains(evs, "ida:claimed") {
			t.Errorf("history %v", evs)
		}
		// The page images, from object storage; only the document's pages.
		req, _ := http.NewRequest("GET", e.srv.URL+docPath(twin.ID, "/page/2"), nil)
		req.Header.Set("Referer", e.srv.URL+docPath(twin.ID))
		img := ida.do(req)
		if img.code != 200 || img.header.Get("Content-Type") != "image/jpeg" || !strings.HasPrefix(img.body, "\xff\xd8") ||
			img.header.Get("Cache-Control") != "no-store" {
			t.Fatalf("page image: %d %v", img.code, img.header)
		}
		want(t, ida.get(docPath(twin.ID, "/page/3")), 404)
		want(t, ida.get(docPath(twin.ID, "/page/x")), 404)
		n := len(e.events(twin.ID))
		want(t, ida.get(docPath(twin.ID, "/page/1")), 200) // not from the view: recorded
		if evs := e.events(twin.ID); len(evs) != n+1 || evs[n] != "ida:viewed" {
			t.Errorf("a direct image read is not in the history: %v", evs)
		}
		want(t, ida.get("/review/doc/999999"), 404, "no such document")
		want(t, ida.get("/review/doc/abc"), 404)
		// Renewing the claim (the page's script).
		req, _ = http.NewRequest("POST", e.srv.URL+docPath(twin.ID, "/claim"), nil)
		req.Header.Set("X-CSRF-Token", ida.csrf)
		req.Header.Set("Accept", "application/json")
		want(t, ida.do(req), 200, `"claimed_until"`)
	})

	t.Run("claims", func(t *testing.T) {
		// Somebody else's document: who has it, and until when.
		r := sam.get(docPath(twin.ID))
		want(t, r, http.StatusConflict, "ida is working on document", `id="release-claim"`)
		want(t, sam.post(docPath(twin.ID, "/confirm"), form("patient_id", fmt.Sprint(e.patient("00410004").ID), "type", "progress-note")),
			http.StatusConflict, "ida is working on")
		req, _ := http.NewRequest("POST", e.srv.URL+docPath(twin.ID, "/claim"), nil)
		req.Header.Set("X-CSRF-Token", sam.csrf)
		req.Header.Set("Accept", "application/json")
		want(t, sam.do(req), http.StatusConflict, `"by":"ida"`)
		// An indexer cannot release someone else's claim; a supervisor can.
		lou := e.as(e.addUser("lin", users.Indexer))
		want(t, lou.get(docPath(twin.ID)), http.StatusConflict)
		if strings.Contains(lou.get(docPath(twin.ID)).body, "release-claim") {
			t.Error("an indexer is offered to release another's claim")
		}
		lou.post(docPath(twin.ID, "/release"), form("force", "1"))
		if d := e.doc(twin.ID); d.ClaimedBy != "ida" {
			t.Fatalf("an indexer released ida's claim: %q", d.ClaimedBy)
		}
		want(t, sam.get("/review/stats"), 200, "Being worked on now", docPath(twin.ID))
		wantLoc(t, sam.post(docPath(twin.ID, "/release"), form("force", "1", "back", "stats")), `/review/stats`)
		if d := e.doc(twin.ID); d.ClaimedBy != "" {
			t.Fatalf("claim not released: %q", d.ClaimedBy)
		}
		wantLoc(t, sam.post(docPath(twin.ID, "/open"), nil), docPath(twin.ID))
		want(t, sam.get(docPath(twin.ID)), 200, "yours until")
		want(t, ida.get(docPath(twin.ID)), http.StatusConflict, "sam is working on")
		want(t, ida.post(docPath(twin.ID, "/open"), nil), http.StatusConflict, "sam is working on")
		wantLoc(t, sam.post(docPath(twin.ID, "/release"), nil), `/review/`)
		wantLoc(t, ida.post(docPath(twin.ID, "/open"), nil), docPath(twin.ID))
	})

	t.Run("confirm", func(t *testing.T) {
		mai := e.patient("00410004")
		ok := form("patient_id", fmt.Sprint(mai.ID), "type", "progress-note", "service_date", "2024-03-15")
		want(t, ida.postRaw(docPath(twin.ID, "/confirm"), ok), http.StatusForbidden) // no CSRF token
		ok.Set("csrf_token", "forged")
		want(t, ida.postRaw(docPath(twin.ID, "/confirm"), ok), http.StatusForbidden)
		ok.Del("csrf_token")
		want(t, ida.post(docPath(twin.ID, "/confirm"), form("type", "progress-note")), 422, "Pick the patient first")
		want(t, ida.post(docPath(twin.ID, "/confirm"), form("patient_id", fmt.Sprint(mai.ID), "type", "nonsense")), 422, "document type")
		want(t, ida.post(docPath(twin.ID, "/confirm"), form("patient_id", "999999", "type", "progress-note")), 422, "not in the patient index")
		want(t, ida.post(docPath(twin.ID, "/confirm"), form("patient_id", fmt.Sprint(mai.ID), "type", "progress-note", "service_date", "2999-01-01")),
			422, "date of service")
		// Filed; the next document opens, the filed one said.
		loc := wantLoc(t, ida.post(docPath(twin.ID, "/confirm"), ok), fmt.Sprintf(`/review/doc/\d+\?filed=%d`, twin.ID))
		d := e.doc(twin.ID)
		if d.State != storage.DocFiled || d.FiledBy != "ida" || d.PatientID == nil || *d.PatientID != mai.ID ||
			d.ServiceDate == nil || d.ServiceDate.Format("2006-01-02") != "2024-03-15" || d.Type != "progress-note" {
			t.Fatalf("filed document %+v", d)
		}
		if evs := e.events(twin.ID); !slices.Contains(evs, "ida:filed") {
			t.Errorf("history %v", evs)
		}
		next := ida.get(loc)
		want(t, next, 200, fmt.Sprintf("Document %d filed.", twin.ID))
		// The filed document is shown as it is, read-only.
		want(t, ida.get(docPath(twin.ID)), 200, "This document is filed to <strong>NGUYEN, MAI</strong>", "by ida")
		want(t, ida.post(docPath(twin.ID, "/confirm"), ok), http.StatusConflict, "no longer waiting for review")
	})

	t.Run("reject", func(t *testing.T) {
		ida.post(docPath(stranger.ID, "/open"), nil)
		want(t, ida.post(docPath(stranger.ID, "/reject"), form("reject_reason", "  ")), 422, "Say why")
		wantLoc(t, ida.post(docPath(stranger.ID, "/reject"), form("reject_reason", "outside referral, not our patient")),
			fmt.Sprintf(`/review/(doc/\d+)?\?(empty=1&)?rejected=%d`, stranger.ID))
		if d := e.doc(stranger.ID); d.State != storage.DocDiscarded {
			t.Fatalf("state %s", d.State)
		}
		evs, _ := e.db.DocumentEvents(e.ctx, stranger.ID)
		if last := evs[len(evs)-1]; last.Actor != "ida" || last.Event != "discarded" || last.Detail != "outside referral, not our patient" {
			t.Errorf("history %+v", last)
		}
		want(t, ida.get(docPath(stranger.ID)), 200, "This document is rejected")
	})

	t.Run("split merge move drop", func(t *testing.T) {
		twin, stranger := e.twinBatch("edit")
		ida.post(docPath(twin.ID, "/open"), nil)
		want(t, ida.get(docPath(twin.ID)), 200, `id="split-form"`, "Merge with previous", "not possible: it is the first document")
		want(t, ida.postRaw(docPath(twin.ID, "/split"), form("page", "2")), http.StatusForbidden)
		want(t, ida.post(docPath(twin.ID, "/split"), form("page", "1")), 422, "split before one of its pages")
		loc := wantLoc(t, ida.post(docPath(twin.ID, "/split"), form("page", "2", "reason", "patient")),
			fmt.Sprintf(`/review/doc/%d\?reason=patient&split=\d+`, twin.ID))
		var second int64
		fmt.Sscanf(loc[strings.Index(loc, "split=")+6:], "%d", &second)
		if d := e.doc(twin.ID); !slices.Equal(d.Pages, []int{1}) {
			t.Fatalf("first half %v", d.Pages)
		}
		if d := e.doc(second); !slices.Equal(d.Pages, []int{2}) || d.State != storage.DocReview {
			t.Fatalf("second half %+v", d)
		}
		want(t, ida.get(loc), 200, fmt.Sprintf("the later pages are now document %d", second))
		// Merge the second half back.
		ida.post(docPath(second, "/open"), nil)
		want(t, ida.get(docPath(second)), 200, fmt.Sprintf("Merge with previous (%d)", twin.ID))
		wantLoc(t, ida.post(docPath(second, "/merge"), nil), fmt.Sprintf(`/review/doc/%d\?merged=%d`, twin.ID, second))
		if d := e.doc(twin.ID); !slices.Equal(d.Pages, []int{1, 2}) {
			t.Fatalf("merged %v", d.Pages)
		}
		if d := e.doc(second); d.State != storage.DocMerged {
			t.Fatalf("merged-in document is %s", d.State)
		}
		want(t, ida.post(docPath(twin.ID, "/merge"), nil), 422, "merges only with the one before it")
		// Move page 2 to the stranger's document, then take it out again.
		want(t, ida.get(docPath(twin.ID)), 200, fmt.Sprintf(`<option value="%d">document %d (page 3`, stranger.ID, stranger.ID))
		wantLoc(t, ida.post(docPath(twin.ID, "/move-page"), form("page", "2", "to", fmt.Sprint(stranger.ID))),
			fmt.Sprintf(`/review/doc/%d\?moved=%d`, twin.ID, stranger.ID))
		if d := e.doc(stranger.ID); !slices.Equal(d.Pages, []int{2, 3}) {
			t.Fatalf("moved to %v", d.Pages)
		}
		want(t, ida.post(docPath(twin.ID, "/move-page"), form("page", "1", "to", fmt.Sprint(consult.ID))), 422, "same batch")
		ida.post(docPath(stranger.ID, "/open"), nil)
		wantLoc(t, ida.post(docPath(stranger.ID, "/remove-page"), form("page", "2", "remove_reason", "another patient's page")),
			fmt.Sprintf(`/review/doc/%d\?removed=1`, stranger.ID))
		if d := e.doc(stranger.ID); !slices.Equal(d.Pages, []int{3}) {
			t.Fatalf("after dropping %v", d.Pages)
		}
		want(t, ida.post(docPath(stranger.ID, "/remove-page"), form("page", "1")), 422, "only a page of the document")
		// Dropping the last page leaves nothing to decide: on to the next.
		wantLoc(t, ida.post(docPath(twin.ID, "/remove-page"), form("page", "1")), `/review/(doc/\d+)?(\?empty=1)?`)
		if d := e.doc(twin.ID); d.State != storage.DocDiscarded {
			t.Fatalf("document without pages is %s", d.State)
		}
		evs := strings.Join(e.events(stranger.ID), " ")
		for _, ev := range []string{"ida:page 2 moved from document", "ida:page 2 removed: another patient's page"} {
			if !strings.Contains(evs, ev) {
				t.Errorf("history lacks %q: %s", ev, evs)
			}
		}
		ida.post(docPath(stranger.ID, "/release"), nil)
	})

	t.Run("next and skip", func(t *testing.T) {
		e.twinBatch("next1")
		_, last := e.twinBatch("next2")
		// Release every claim, so that "next" starts from the oldest.
		rows, err := e.db.ReviewList(e.ctx, storage.ReviewFilter{Limit: 1000})
		testenv.Must(t, err, "review list")
		for _, r := range rows {
			e.db.ReleaseClaim(e.ctx, r.ID, "", true)
		}
		low, err := e.db.ReviewList(e.ctx, storage.ReviewFilter{Limit: 2, Reason: storage.ReasonPatient})
		testenv.Must(t, err, "review list")
		if len(low) < 2 {
			t.Fatalf("fixture: %d documents wait for their patient", len(low))
		}
		wantLoc(t, ida.post("/review/next", form("reason", "patient")), fmt.Sprintf(`/review/doc/%d\?reason=patient`, low[0].ID))
		// Skip leaves it and opens the next one of the same filter.
		wantLoc(t, ida.post(docPath(low[0].ID, "/skip"), form("reason", "patient")), fmt.Sprintf(`/review/doc/%d\?reason=patient`, low[1].ID))
		if d := e.doc(low[0].ID); d.ClaimedBy != "" {
			t.Errorf("skipped document still claimed by %q", d.ClaimedBy)
		}
		// Somebody else's document is never "next"; one's own is.
		for _, r := range rows {
			if r.ID != last.ID {
				e.db.Claim(e.ctx, r.ID, "zed", time.Minute)
			}
		}
		e.db.ReleaseClaim(e.ctx, low[1].ID, "", true)
		e.db.Claim(e.ctx, low[1].ID, "zed", time.Minute)
		wantLoc(t, ida.post("/review/next", nil), docPath(last.ID))
		wantLoc(t, ida.post("/review/next", nil), docPath(last.ID))
		e.db.ReleaseClaim(e.ctx, last.ID, "", true)
		e.db.Claim(e.ctx, last.ID, "zed", time.Minute)
		wantLoc(t, ida.post("/review/next", nil), `/review/\?empty=1`)
		want(t, ida.get("/review/?empty=1"), 200, "Nothing left to review", "zed until")
		for _, r := range rows {
			e.db.ReleaseClaim(e.ctx, r.ID, "", true)
		}
	})

	t.Run("patient search", func(t *testing.T) {
		var hits []patientHit
		r := ida.get("/review/patients?q=" + url.QueryEscape("NGUYEN, 1990-02-27"))
		want(t, r, 200, "00410003", "00410004")
		if err := json.Unmarshal([]byte(r.body), &hits); err != nil || len(hits) < 2 {
			t.Fatalf("hits %v %v", hits, err)
		}
		want(t, ida.get("/review/patients?q=O0410OO1"), 200, `"family":"HARTMANN"`, "MRN as misread")
		want(t, ida.get("/review/patients?q=HARTMANN,+ELISE"), 200, `"mrn":"00410001"`)
		want(t, ida.get("/review/patients?family=BRENNAN&birth_date=1982-09-14"), 200, `"00410006"`)
		want(t, ida.get("/review/patients?q="), 400, "MRN, a name or a birth date")
		want(t, ida.get("/review/patients?q=31/31/1990"), 400, "birth date")
		wantLoc(t, e.anonymous().get("/review/patients?q=NGUYEN"), `/review/login\?next=.*`)
	})

	t.Run("batches", func(t *testing.T) {
		r := ida.get("/review/batches")
		want(t, r, 200, "queue-", "<progress", "filed", "in review")
		r = ida.get("/review/batches.json")
		want(t, r, 200, `"documents_filed"`, `"pages_done"`, `"state_label":"done"`)
		var out struct{ Batches []batchRow }
		if err := json.Unmarshal([]byte(r.body), &out); err != nil || len(out.Batches) == 0 {
			t.Fatalf("batches.json: %v", err)
		}
		for _, phi := range []string{"NGUYEN", "ZIMMERMANN", "02/27/1990"} {
			if strings.Contains(r.body, phi) {
				t.Errorf("batch progress carries patient data %q", phi)
			}
		}
	})

	t.Run("roles", func(t *testing.T) {
		want(t, ida.get("/review/stats"), http.StatusForbidden)
		want(t, sam.get("/review/stats"), 200, "waiting for review", "Filed by people today", "ida")
		want(t, ida.get("/review/admin/users"), http.StatusForbidden)
		want(t, sam.get("/review/admin/users"), http.StatusForbidden)
		want(t, ida.post("/review/admin/users", form("name", "mallory", "role", "admin", "password", "mallory-password-1")), http.StatusForbidden)
		if strings.Contains(ida.get("/review/").body, `href="/review/admin/users"`) {
			t.Error("an indexer is shown the users page")
		}
	})

	t.Run("admin", func(t *testing.T) {
		want(t, ada.get("/review/admin/users"), 200, "ida", "sam", "lou", "Add a user")
		want(t, ada.postRaw("/review/admin/users", form("name", "newbie", "role", "indexer", "password", "newbie-password-1")), http.StatusForbidden)
		want(t, ada.post("/review/admin/users", form("name", "newbie", "role", "indexer", "password", "short")), 422, "too short")
		want(t, ada.post("/review/admin/users", form("name", "New Bie", "role", "indexer", "password", "newbie-password-1")), 422, "A user name is")
		want(t, ada.post("/review/admin/users", form("name", "newbie", "role", "boss", "password", "newbie-password-1")), 422, "Pick a role")
		if !testing.Short() {
			// users.Store.Add hashes at bcrypt cost 12: seconds under -race.
			wantLoc(t, ada.post("/review/admin/users", form("name", "newbie", "role", "indexer", "password", "newbie-password-1")),
				`/review/admin/users\?added&name=newbie`)
			want(t, ada.get("/review/admin/users?added&name=newbie"), 200, "Added newbie.", `data-name="newbie"`)
		}
		wantLoc(t, ada.post("/review/admin/users/role", form("name", "lou", "role", "supervisor")), `/review/admin/users\?role&name=lou`)
		if u, _ := e.users.ByName(e.ctx, "lou"); u.Role != users.Supervisor {
			t.Errorf("role %s", u.Role)
		}
		want(t, ada.post("/review/admin/users/role", form("name", "ada", "role", "indexer")), 422, "cannot take the admin role from yourself")
		want(t, ada.post("/review/admin/users/disable", form("name", "ada", "disabled", "1")), 422, "cannot disable yourself")
		// Disabling ends the person's sessions at once.
		lin := e.as(e.addUser("lyn", users.Indexer))
		wantLoc(t, ada.post("/review/admin/users/disable", form("name", "lyn", "disabled", "1")), `/review/admin/users\?disabled&name=lyn`)
		wantLoc(t, lin.get("/review/"), `/review/login\?next=.*`)
		want(t, ada.get("/review/admin/users"), 200, `<tr class="disabled" data-name="lyn">`)
		wantLoc(t, ada.post("/review/admin/users/disable", form("name", "lyn", "disabled", "0")), `/review/admin/users\?enabled&name=lyn`)
		want(t, ada.post("/review/admin/users/disable", form("name", "nobody", "disabled", "1")), 404, "no such user")
	})

	t.Run("static and not found", func(t *testing.T) {
		r := ida.get("/review/static/app.js")
		want(t, r, 200, "use strict")
		if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/javascript") {
			t.Errorf("content type %q", ct)
		}
		want(t, ida.get("/review/static/app.css"), 200, ":root")
		want(t, ida.get("/review/static/nothing.js"), 404)
		want(t, ida.get("/review/nowhere"), 404, "There is no such page.")
	})

	t.Run("audit trail", func(t *testing.T) {
		mai := e.patient("00410004")
		es, err := e.audit.List(e.ctx, audit.Filter{DocumentID: &twin.ID, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, en := range es {
			got = append(got, en.Actor+" "+en.Action+" "+en.Resource)
			if en.Action == audit.ActionReviewFile && (en.PatientID == nil || *en.PatientID != mai.ID) {
				t.Errorf("filing entry names patient %v", en.PatientID)
			}
		}
		res := docResource(twin.ID)
		for _, w := range []string{"user:ida document.view " + res, "user:sam document.view " + res, "user:ida review.file " + res} {
			if !slices.Contains(got, w) {
				t.Errorf("audit trail lacks %q: %q", w, got)
			}
		}
		all, err := e.audit.List(e.ctx, audit.Filter{Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		var sign []string
		for _, en := range all {
			if strings.HasPrefix(en.Action, "signin.") {
				sign = append(sign, en.Actor+" "+en.Action+" "+en.Outcome)
			}
		}
		for _, w := range []string{"user:ida signin.ok ok", "user:ida signin.fail denied", "user:lou signin.fail denied"} {
			if !slices.Contains(sign, w) {
				t.Errorf("audit trail lacks %q: %q", w, sign)
			}
		}
		if rep, err := e.audit.Verify(e.ctx); err != nil || !rep.Intact {
			t.Errorf("audit chain: %+v %v", rep, err)
		}
	})

	// Nothing that names a patient reaches the log.
	for _, phi := range []string{"NGUYEN", "HARTMANN", "ZIMMERMANN", "00410001", "00410004", "1990-02-27", "02/27/1990", "1961"} {
		if strings.Contains(e.logs.String(), phi) {
			t.Errorf("the log holds patient data %q", phi)
		}
	}
}
