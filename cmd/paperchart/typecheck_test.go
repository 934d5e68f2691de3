package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/hibiken/asynq"

	"paperchart/filing"
	"paperchart/filing/filingtest"
	"paperchart/internal/testenv"
	"paperchart/patients"
	"paperchart/storage"
	"paperchart/tokens"
	"paperchart/users"
	"paperchart/workers"
)

// A document whose split and patient are sure but whose type is not is
// filed under its patient and shown to the EHR over FHIR as preliminary;
// a technician signs in to the workstation, confirms its type from the
// type-check queue, and the EHR then sees it final.
func TestTypeCheckEndToEnd(t *testing.T) {
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	db, _ := migratedDB(t)
	objs := testenv.Objects(t)
	_, err := patients.New(db.Pool(), patients.Options{}).Import(ctx, strings.NewReader(filingtest.Index), patients.FormatCSV, patients.ImportOptions{})
	testenv.Must(t, err, "import")
	f, err := filing.New(db, objs, filing.Config{}, log)
	testenv.Must(t, err, "filer")
	bid := filingtest.Batch(t, db, objs, "tc-"+testenv.Name(""), []filingtest.Page{{Text: filingtest.VagueType}})
	_, err = f.FileBatch(ctx, bid)
	testenv.Must(t, err, "file")
	docs, err := db.BatchDocuments(ctx, bid)
	testenv.Must(t, err, "documents")
	if len(docs) != 1 || docs[0].DocStatus != storage.DocStatusPreliminary {
		t.Fatalf("fixture: %+v, want one preliminary document", docs)
	}
	doc := docs[0]

	s := &services{db: db, objs: objs,
		queue: workers.NewQueue(asynq.RedisClientOpt{Addr: testenv.RedisAddr()}, workers.QueueConfig{Prefix: testenv.Name("tc") + ":"})}
	h, err := webHandler(&config{Authority: "MRN", MRNWidth: 8}, s, log)
	testenv.Must(t, err, "web handler")
	srv := httptest.NewServer(h)
	defer srv.Close()
	secret, _, err := tokens.New(db.Pool()).Create(ctx, "ehr", []string{"system/*.read"}, 0)
	testenv.Must(t, err, "token")

	docStatus := func() string {
		t.Helper()
		req, _ := http.NewRequest("GET", fmt.Sprintf("%s/fhir/DocumentReference/%d", srv.URL, doc.ID), nil)
		req.Header.Set("Authorization", "Bearer "+secret)
		resp, err := http.DefaultClient.Do(req)
		testenv.Must(t, err, "FHIR read")
		defer resp.Body.Close()
		var dr struct {
			DocStatus string `json:"docStatus"`
			Type      struct {
				Coding []struct{ Code string } `json:"coding"`
			} `json:"type"`
		}
		if resp.StatusCode != 200 {
			t.Fatalf("FHIR DocumentReference: %d", resp.StatusCode)
		}
		testenv.Must(t, json.NewDecoder(resp.Body).Decode(&dr), "decode")
		return dr.DocStatus + " " + dr.Type.Coding[0].Code
	}
	if got := docStatus(); !strings.HasPrefix(got, "preliminary ") {
		t.Fatalf("before the check FHIR says %q, want preliminary", got)
	}

	// A technician signs in as a browser would and works the queue.
	const pw = "type-check-correct-horse"
	_, err = users.NewStore(db.Pool()).Add(ctx, "tess", users.Indexer, pw)
	testenv.Must(t, err, "add user")
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := c.Get(srv.URL + path)
		testenv.Must(t, err, "GET %s", path)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	csrf := regexp.MustCompile(`<meta name="csrf-token" content="([^"]+)">`)
	post := func(path, page string, form url.Values) *http.Response {
		t.Helper()
		if m := csrf.FindStringSubmatch(page); m != nil {
			form.Set("csrf_token", m[1])
		}
		resp, err := c.PostForm(srv.URL+path, form)
		testenv.Must(t, err, "POST %s", path)
		resp.Body.Close()
		return resp
	}
	_, login := get("/review/login")
	if resp := post("/review/login", login, url.Values{"name": {"tess"}, "password": {pw}}); resp.StatusCode != 303 {
		t.Fatalf("sign in: %d", resp.StatusCode)
	}
	code, list := get("/review/types")
	if code != 200 || !strings.Contains(list, fmt.Sprintf(`/review/doc/%d"`, doc.ID)) || !strings.Contains(list, "1 waiting") {
		t.Fatalf("type-check queue: %d, document %d not listed", code, doc.ID)
	}
	code, page := get(fmt.Sprintf("/review/doc/%d", doc.ID))
	if code != 200 || !strings.Contains(page, `id="typecheck"`) || !strings.Contains(page, "unconfirmed") {
		t.Fatalf("document page: %d, no type check form", code)
	}
	resp := post(fmt.Sprintf("/review/doc/%d/type", doc.ID), page, url.Values{"type": {"progress-note"}})
	if resp.StatusCode != 303 || !strings.HasPrefix(resp.Header.Get("Location"), "/review/types?empty=1") {
		t.Fatalf("confirm type: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if got := docStatus(); got != "final 11506-3" {
		t.Fatalf("after the check FHIR says %q, want final 11506-3 (progress note)", got)
	}
	if _, list := get("/review/types"); !strings.Contains(list, "0 waiting") {
		t.Error("the type-check queue is not empty")
	}
	var n int
	testenv.Must(t, db.Pool().QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE action = 'review.type' AND actor = 'user:tess'`).Scan(&n), "audit")
	if n != 1 {
		t.Errorf("%d review.type audit entries, want 1", n)
	}
}
