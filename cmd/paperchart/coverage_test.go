package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/hibiken/asynq"
	"golang.org/x/crypto/bcrypt"

	"paperchart/api"
	"paperchart/audit"
	"paperchart/fhir"
	"paperchart/filing/filingtest"
	"paperchart/internal/testenv"
	"paperchart/release"
	"paperchart/review"
	"paperchart/storage"
	"paperchart/tokens"
	"paperchart/users"
	"paperchart/workers"
)

// webFixture is what the tests of the web handlers read: a filed document
// with its page images, an admin's session (an admin may read every
// document) and the EHR's token.
type webFixture struct {
	su       filingtest.Setup
	services *services
	log      *slog.Logger
	doc      storage.Document
	cookie   *http.Cookie
	secret   string
}

func newWebFixture(t *testing.T) webFixture {
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	su := filingtest.New(t, log)
	id := filingtest.Batch(t, su.DB, su.Objects, "coverage", []filingtest.Page{{Text: filingtest.Discharge}})
	_, err := su.Filer.FileBatch(ctx, id)
	testenv.Must(t, err, "file batch")
	docs, err := su.DB.BatchDocuments(ctx, id)
	testenv.Must(t, err, "documents")
	doc := docs[0]
	if doc.State != storage.DocFiled {
		t.Fatalf("fixture: %s", doc.State)
	}
	s := &services{db: su.DB, objs: su.Objects, filer: su.Filer,
		queue: workers.NewQueue(asynq.RedisClientOpt{Addr: testenv.RedisAddr()}, workers.QueueConfig{Prefix: testenv.Name("cov") + ":"})}
	hash, _ := bcrypt.GenerateFromPassword([]byte("admin-password-1"), bcrypt.MinCost)
	_, err = su.DB.Pool().Exec(ctx, `INSERT INTO users (name, role, password_hash, created_at, updated_at, password_changed_at)
		VALUES ('ada', 'admin', $1, now(), now(), now())`, string(hash))
	testenv.Must(t, err, "add user")
	st := users.NewStore(su.DB.Pool())
	u, err := st.ByName(ctx, "ada")
	testenv.Must(t, err, "user")
	rec := httptest.NewRecorder()
	_, err = users.NewSessions(st, users.Config{}, log).Start(ctx, rec, u)
	testenv.Must(t, err, "session")
	secret, _, err := tokens.New(su.DB.Pool()).Create(ctx, "ehr", []string{"system/*.read"}, 0)
	testenv.Must(t, err, "token")
	return webFixture{su: su, services: s, log: log, doc: doc, cookie: rec.Result().Cookies()[0], secret: secret}
}

// Routes that carry no patient data, or that are actions audited by their
// own package's tests, and why. A route of the servers that is in neither
// this list nor walkPaths fails TestAuditCoverage: a new route must be
// audited, or say here why it need not be.
var notWalked = map[string]string{
	"GET /healthz":              "dependencies' health, no patient data",
	"GET /livez":                "the process answers, no patient data",
	"GET /api/batches":          "batch progress; file names only for a signed-in user",
	"GET /api/batches/{id}":     "batch progress; file names only for a signed-in user",
	"GET /api/types":            "the document types, no patient data",
	"GET /fhir/metadata":        "the CapabilityStatement, no patient data",
	"GET /review/static/{file}": "scripts and styles",
	"GET /review/login":         "the sign-in page",
	"GET /review/batches":       "batch progress, no patient data (review.TestWorkstation checks)",
	"GET /review/batches.json":  "batch progress, no patient data (review.TestWorkstation checks)",
	"GET /review/admin/users":   "the accounts, no patient data",

	"POST /review/login":                   "sign-in, audited (review.TestWorkstation, TestAdminHardening)",
	"POST /review/logout":                  "no patient data",
	"POST /review/next":                    "a redirect to the next document, whose view is audited",
	"POST /review/doc/{id}/open":           "a claim; the view it redirects to is audited",
	"POST /review/doc/{id}/claim":          "renews a claim, no patient data",
	"POST /review/doc/{id}/release":        "gives a claim back, no patient data",
	"POST /review/doc/{id}/skip":           "gives a claim back, no patient data",
	"POST /review/doc/{id}/break-glass":    "audited (review.TestMinimumNecessary)",
	"POST /review/doc/{id}/confirm":        "a decision, audited (review.TestWorkstation)",
	"POST /review/doc/{id}/reject":         "a decision, audited (review.recordDecision)",
	"POST /review/doc/{id}/split":          "an edit, audited (review.recordDecision)",
	"POST /review/doc/{id}/merge":          "an edit, audited (review.recordDecision)",
	"POST /review/doc/{id}/remove-page":    "an edit, audited (review.recordDecision)",
	"POST /review/doc/{id}/move-page":      "an edit, audited (review.recordDecision)",
	"POST /review/doc/{id}/type":           "a decision, audited (review.recordDecision)",
	"POST /review/doc/{id}/move-filed":     "a move, audited in its transaction (review.TestMoveFiledDocument)",
	"POST /review/admin/users":             "an admin change, audited (review.TestAdminHardening)",
	"POST /review/admin/users/disable":     "an admin change, audited (review.TestAdminHardening)",
	"POST /review/admin/users/role":        "an admin change, audited (review.TestAdminHardening)",
	"POST /review/admin/users/unlock":      "an admin change, audited (review.TestAdminHardening)",
	"GET /review/release/new":              "the form for a new release request, no patient data",
	"GET /review/release/{id}/packet":      "a released packet, audited per document (review.TestReleaseNeedsConfirmation)",
	"POST /review/release":                 "records a release request, audited (release.create)",
	"POST /review/release/{id}/exclude":    "an edit, audited (release.edit)",
	"POST /review/release/{id}/boxes":      "an edit, audited (release.edit)",
	"POST /review/release/{id}/due":        "an edit, audited (release.edit)",
	"POST /review/release/{id}/release":    "a release: disclosures in the audit trail (release.TestDisclosures)",
	"POST /review/release/{id}/deny":       "a decision, audited (release.deny)",
	"POST /api/documents/{id}/break-glass": "audited (api.TestAPIAccess)",
	"POST /api/documents/{id}/file":        "a decision, in the document's history",
	"POST /api/documents/{id}/discard":     "a decision, in the document's history",
	"POST /api/documents/{id}/type":        "a decision, in the document's history",
}

// walkPaths are the routes that return patient data, each with a request
// that reads some ({doc}, {patient} and {page} are filled in).
var walkPaths = map[string]string{
	"GET /review/{$}":                  "/review/",
	"GET /review/doc/{id}":             "/review/doc/{doc}",
	"GET /review/doc/{id}/page/{no}":   "/review/doc/{doc}/page/{page}",
	"GET /review/patients":             "/review/patients?q=HARTMANN",
	"GET /review/search":               "/review/search?q=discharge",
	"GET /review/types":                "/review/types",
	"GET /review/stats":                "/review/stats",
	"GET /review/release":              "/review/release",
	"GET /review/release/{id}":         "/review/release/{release}",
	"GET /review/release/{id}/confirm": "/review/release/{release}/confirm",
	"GET /review/release/{id}/preview": "/review/release/{release}/preview",
	"GET /api/review":                  "/api/review",
	"GET /api/documents/{id}":          "/api/documents/{doc}",
	"GET /api/documents/{id}/pdf":      "/api/documents/{doc}/pdf",
	"GET /api/typecheck":               "/api/typecheck",
	"GET /api/patients/search":         "/api/patients/search?family=HARTMANN",
	"GET /api/patients/{id}/documents": "/api/patients/{patient}/documents",
	"GET /api/coversheet":              "/api/coversheet?mrn=00410001",
	"GET /fhir/Patient":                "/fhir/Patient?identifier=urn:paperchart:authority:MRN|00410001",
	"GET /fhir/Patient/{id}":           "/fhir/Patient/{patient}",
	"GET /fhir/DocumentReference":      "/fhir/DocumentReference?patient={patient}",
	"GET /fhir/DocumentReference/{id}": "/fhir/DocumentReference/{doc}",
	"GET /fhir/Binary/{id}":            "/fhir/Binary/{doc}",
	// $docref by POST with its parameters in the query (no body).
	"GET /fhir/DocumentReference/$docref":  "/fhir/DocumentReference/$docref?patient={patient}",
	"POST /fhir/DocumentReference/$docref": "/fhir/DocumentReference/$docref?patient={patient}",
}

// TestAuditCoverage walks every route of the workstation, the JSON API
// and the FHIR server that returns patient data, and fails when one
// leaves no entry in the audit trail. The routes are the servers' own
// lists, so a new route is walked or classified.
func TestAuditCoverage(t *testing.T) {
	ctx := context.Background()
	fx := newWebFixture(t)
	su, doc, cookie, secret := fx.su, fx.doc, fx.cookie, fx.secret
	// A release request for the document, for the release pages.
	req, err := release.NewStore(su.DB.Pool()).Create(ctx, release.NewRequest{Requester: release.Requester{Name: "Dana Whitfield"},
		Purpose: release.PurposeLegal, PatientID: *doc.PatientID}, "ada")
	testenv.Must(t, err, "release request")
	h, err := webHandler(&config{Authority: "MRN", MRNWidth: 8, AccessDays: 14}, fx.services, fx.log)
	testenv.Must(t, err, "web handler")
	srv := httptest.NewServer(h)
	defer srv.Close()

	var all []string
	all = append(all, (&review.Server{}).Routes()...)
	all = append(all, (&api.Server{Documents: su.DB}).Routes()...)
	all = append(all, (&fhir.Server{}).Routes()...)
	trail := audit.New(su.DB.Pool())
	head := func() int64 {
		es, err := trail.List(ctx, audit.Filter{Limit: 1})
		testenv.Must(t, err, "audit")
		if len(es) == 0 {
			return 0
		}
		return es[0].ID
	}
	for _, pattern := range all {
		if _, ok := notWalked[pattern]; ok {
			continue
		}
		t.Run(pattern, func(t *testing.T) {
			p, ok := walkPaths[pattern]
			if !ok {
				t.Fatalf("route %s is neither walked (walkPaths) nor said to need no audit (notWalked)", pattern)
			}
			p = strings.NewReplacer("{doc}", fmt.Sprint(doc.ID), "{patient}", fmt.Sprint(*doc.PatientID), "{release}", fmt.Sprint(req.ID),
				"{page}", fmt.Sprint(doc.Pages[0])).Replace(p)
			req, _ := http.NewRequest(strings.Fields(pattern)[0], srv.URL+p, nil)
			if strings.HasPrefix(p, "/fhir/") {
				req.Header.Set("Authorization", "Bearer "+secret)
			} else {
				req.AddCookie(cookie)
			}
			before := head()
			resp, err := http.DefaultClient.Do(req)
			testenv.Must(t, err, "get")
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("%s: %d, want 200", p, resp.StatusCode)
			}
			es, err := trail.List(ctx, audit.Filter{Limit: 10})
			testenv.Must(t, err, "audit")
			if len(es) == 0 || es[0].ID <= before {
				t.Errorf("%s left no entry in the audit trail", p)
			} else if e := es[0]; e.Outcome != audit.OutcomeOK || e.Remote == "" || e.Actor == "" || e.At.IsZero() {
				t.Errorf("entry %+v lacks who, from where or the outcome", e)
			}
		})
	}
	for pattern := range walkPaths {
		if !slices.Contains(all, pattern) {
			t.Errorf("walkPaths names %s, which no server serves", pattern)
		}
	}
	if rep, err := trail.Verify(ctx); err != nil || !rep.Intact {
		t.Errorf("audit chain %+v %v", rep, err)
	}
}
