package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"paperchart/filing"
	"paperchart/filing/filingtest"
	"paperchart/internal/harness"
	"paperchart/internal/testenv"
	"paperchart/patients"
	"paperchart/scangen"
	"paperchart/scangen/sheetprint"
	"paperchart/storage"
	"paperchart/tokens"
	"paperchart/workers"
)

// rebuiltTables are the tables `paperchart rebuild` recreates, with the
// order their rows are compared in.
var rebuiltTables = []struct{ table, order string }{
	{"batches", "id"}, {"batch_events", "id"}, {"pages", "batch_id, page_no"}, {"documents", "id"},
	{"document_events", "id"}, {"document_corrections", "id"}, {"patients", "id"},
	{"patient_identifiers", "patient_id, system, value"},
}

// tableRows returns every row of the rebuilt tables, each column by name as
// PostgreSQL writes it: a table's rows together, but patients and their
// identifiers one patient at a time ("patients/ID"), since a rebuild
// recreates only the patients documents name.
func tableRows(t *testing.T, db *storage.DB) map[string]string {
	t.Helper()
	ctx := context.Background()
	tx, err := db.Pool().Begin(ctx)
	testenv.Must(t, err, "begin")
	defer tx.Rollback(ctx)
	_, err = tx.Exec(ctx, `SET LOCAL TimeZone = 'UTC'`)
	testenv.Must(t, err, "time zone")
	out := map[string]string{}
	for _, tt := range rebuiltTables {
		key, group := "''", ""
		switch tt.table {
		case "patients":
			key, group = "id::text", " GROUP BY id"
		case "patient_identifiers":
			key, group = "patient_id::text", " GROUP BY patient_id"
		}
		rows, err := tx.Query(ctx, `SELECT `+key+`, coalesce(jsonb_agg(to_jsonb(t) ORDER BY `+tt.order+`), '[]')::text FROM `+tt.table+` t`+group)
		testenv.Must(t, err, "rows of %s", tt.table)
		for rows.Next() {
			var k, v string
			testenv.Must(t, rows.Scan(&k, &v), "rows of %s", tt.table)
			if k != "" {
				k = "/" + k
			}
			out[tt.table+k] = v
		}
		testenv.Must(t, rows.Err(), "rows of %s", tt.table)
	}
	return out
}

// fhirAnswers asks the FHIR server of db everything the EHR can ask about
// the filed documents — each DocumentReference, its Binary (the PDF), each
// patient's search by ID and by MRN, each Patient — and returns the
// answers by request, the time a search was answered left out.
func fhirAnswers(t *testing.T, db *storage.DB, objs *storage.Objects) map[string]string {
	t.Helper()
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	s := &services{db: db, objs: objs,
		queue: workers.NewQueue(asynq.RedisClientOpt{Addr: testenv.RedisAddr()}, workers.QueueConfig{Prefix: testenv.Name("rb") + ":"})}
	defer s.queue.Close()
	h, err := webHandler(&config{Authority: "MRN", MRNWidth: 8, FHIRBase: "https://ehr-facing.example/fhir"}, s, log)
	testenv.Must(t, err, "web handler")
	srv := httptest.NewServer(h)
	defer srv.Close()
	secret, _, err := tokens.New(db.Pool()).Create(ctx, testenv.Name("ehr"), []string{"system/*.read"}, 0)
	testenv.Must(t, err, "token")

	var paths []string
	rows, err := db.Pool().Query(ctx, `SELECT d.id, p.id, p.mrn FROM documents d JOIN patients p ON p.id = d.patient_id
		WHERE d.state IN ('filed', 'moved') ORDER BY d.id`)
	testenv.Must(t, err, "filed documents")
	seen := map[int64]bool{}
	for rows.Next() {
		var doc, pid int64
		var mrn string
		testenv.Must(t, rows.Scan(&doc, &pid, &mrn), "scan")
		paths = append(paths, fmt.Sprintf("/fhir/DocumentReference/%d", doc), fmt.Sprintf("/fhir/Binary/%d", doc))
		if !seen[pid] {
			seen[pid] = true
			paths = append(paths, fmt.Sprintf("/fhir/Patient/%d", pid), fmt.Sprintf("/fhir/DocumentReference?patient=%d", pid),
				"/fhir/DocumentReference?patient.identifier="+url.QueryEscape("urn:paperchart:authority:MRN|"+mrn))
		}
	}
	testenv.Must(t, rows.Err(), "filed documents")
	if len(seen) == 0 {
		t.Fatal("no filed document to ask the FHIR server about")
	}
	out := map[string]string{}
	for _, p := range paths {
		req, _ := http.NewRequest("GET", srv.URL+p, nil)
		req.Header.Set("Authorization", "Bearer "+secret)
		if strings.HasPrefix(p, "/fhir/Binary/") {
			req.Header.Set("Accept", "application/pdf")
		}
		resp, err := http.DefaultClient.Do(req)
		testenv.Must(t, err, "GET %s", p)
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		testenv.Must(t, err, "read %s", p)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d", p, resp.StatusCode)
		}
		if strings.Contains(p, "?") {
			var b map[string]any
			testenv.Must(t, json.Unmarshal(body, &b), "decode %s", p)
			delete(b["meta"].(map[string]any), "lastUpdated") // when the search was answered
			body, _ = json.Marshal(b)
		}
		out[p] = string(body)
	}
	return out
}

// TestRebuildEndToEnd processes batches through the whole pipeline (real
// OCR, cover sheets and content separation), files and confirms documents
// in review, then drops the database, recreates it empty and runs
// `paperchart rebuild` on the bucket alone: every row of batches, pages,
// documents, their history and corrections and the patients they name
// must come back as it was, and the FHIR server must answer the EHR
// exactly as before.
func TestRebuildEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("OCRs 7 pages")
	}
	ctx := context.Background()
	p, err := harness.Start(ctx, harness.Options{DatabaseURL: testenv.DatabaseURL(), Redis: asynq.RedisClientOpt{Addr: testenv.RedisAddr()},
		Objects: testenv.ObjectsConfig(""), Concurrency: 2})
	if err != nil {
		t.Fatalf("start pipeline: %v; start the services with `bash deploy/setup.sh` (make test does)", err)
	}
	t.Cleanup(p.Close)
	index := patients.New(p.DB.Pool(), patients.Options{})
	_, err = index.Import(ctx, strings.NewReader(filingtest.Index), patients.FormatCSV, patients.ImportOptions{})
	testenv.Must(t, err, "import the test index")
	var pop []scangen.Patient
	for _, pt := range scangen.Population(77, 40) {
		if !strings.HasPrefix(pt.MRN, "004100") {
			pop = append(pop, pt)
		}
	}
	var csv bytes.Buffer
	testenv.Must(t, scangen.WritePatientsCSV(&csv, pop), "population")
	_, err = index.Import(ctx, &csv, patients.FormatCSV, patients.ImportOptions{})
	testenv.Must(t, err, "import the population")

	// Two scanned batches through the pipeline: one with cover sheets, one
	// cut by content.
	for i, opt := range []scangen.Options{
		{Pages: 4, Seed: 101, Format: scangen.FormatPDF, Clean: true, DPI: 150, Patients: pop[:2], Sheets: scangen.SheetsCover, SheetPrinter: sheetprint.Printer{}},
		{Pages: 3, Seed: 102, Format: scangen.FormatPDF, Clean: true, DPI: 150, Patients: pop[2:4]},
	} {
		var buf bytes.Buffer
		_, err := scangen.Generate(ctx, &buf, opt)
		testenv.Must(t, err, "generate")
		name := fmt.Sprintf("scan-%d.pdf", i)
		testenv.Must(t, p.DropBytes(buf.Bytes(), name), "drop")
		wctx, cancel := context.WithTimeout(ctx, 6*time.Minute)
		b, err := p.WaitBatch(wctx, name)
		cancel()
		testenv.Must(t, err, "wait for %s", name)
		if b.State != storage.StateDone {
			t.Fatalf("%s: %s (%s)", name, b.State, b.Reason)
		}
	}
	// A batch as OCR leaves it, filed by the filing stage: a sure
	// document, one whose type is in doubt (preliminary), one of a namesake
	// (review) and one with no identifiers (review). People then work on
	// it: the namesake.s document is filed to a patient they chose, the one without
	// identifiers discarded, the preliminary type corrected.
	log := slog.New(slog.DiscardHandler)
	f, err := filing.New(p.DB, p.Objects, filing.Config{}, log)
	testenv.Must(t, err, "filer")
	bid := filingtest.Batch(t, p.DB, p.Objects, "review-"+testenv.Name(""), []filingtest.Page{
		{Text: filingtest.Discharge}, {Sep: true}, {Text: filingtest.VagueType}, {Sep: true}, {Text: filingtest.Namesake}, {Sep: true}, {Text: filingtest.Consult}})
	_, err = f.FileBatch(ctx, bid)
	testenv.Must(t, err, "file")
	docs, err := p.DB.BatchDocuments(ctx, bid)
	testenv.Must(t, err, "documents")
	mai, err := index.ByMRN(ctx, "MRN", "00410004")
	testenv.Must(t, err, "twin")
	var reviewed, discarded, confirmed int
	for _, d := range docs {
		switch {
		case d.State == storage.DocReview && len(d.Candidates) > 0:
			_, err := p.DB.Claim(ctx, d.ID, "ann", time.Minute)
			testenv.Must(t, err, "claim")
			_, err = f.FileReviewed(ctx, d.ID, filing.ReviewDecision{Actor: "ann", PatientID: mai.ID, Type: "progress-note"})
			testenv.Must(t, err, "file reviewed")
			reviewed++
		case d.State == storage.DocReview:
			testenv.Must(t, p.DB.Discard(ctx, d.ID, "ann", "not a patient's record"), "discard")
			discarded++
		case d.DocStatus == storage.DocStatusPreliminary:
			testenv.Must(t, p.DB.ConfirmType(ctx, d.ID, storage.TypeDecision{Actor: "bob", Type: "letter", LOINC: "34109-9", Title: "Letter"}), "confirm")
			confirmed++
		}
	}
	if reviewed == 0 || discarded == 0 || confirmed == 0 {
		t.Fatalf("fixture: %d filed from review, %d discarded, %d types confirmed; want each", reviewed, discarded, confirmed)
	}
	// The sure document is found filed to the wrong patient later: moved
	// (the old row entered-in-error, a new one replacing it).
	if docs[0].State != storage.DocFiled {
		t.Fatalf("fixture: the first document is %s", docs[0].State)
	}
	_, err = f.MoveFiled(ctx, docs[0].ID, filing.Move{Actor: "rob", PatientID: mai.ID, Type: "referral-letter", Reason: "wrong patient"})
	testenv.Must(t, err, "move")
	// The EHR reads them (each read joins the document's history).
	wantFHIR := fhirAnswers(t, p.DB, p.Objects)
	// Every settled batch's manifest written by the pipeline's writer.
	deadline := time.Now().Add(time.Minute)
	for {
		n, err := p.DB.ManifestsDue(ctx)
		testenv.Must(t, err, "manifests due")
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d manifests still due after a minute", n)
		}
		time.Sleep(200 * time.Millisecond)
	}
	p.StopWorker()

	var named []int64
	rows, err := p.DB.Pool().Query(ctx, `SELECT DISTINCT unnest(array[patient_id, patient_suggested]) FROM documents`)
	testenv.Must(t, err, "named patients")
	for rows.Next() {
		var id *int64
		testenv.Must(t, rows.Scan(&id), "scan")
		if id != nil {
			named = append(named, *id)
		}
	}
	var summary struct{ batches, pages, documents, filed int }
	testenv.Must(t, p.DB.Pool().QueryRow(ctx, `SELECT (SELECT count(*) FROM batches), (SELECT count(*) FROM pages),
		(SELECT count(*) FROM documents), (SELECT count(*) FROM documents WHERE state = 'filed')`).
		Scan(&summary.batches, &summary.pages, &summary.documents, &summary.filed), "count")
	before := tableRows(t, p.DB)

	// The database is lost: dropped, and made again empty.
	admin := testenv.DatabaseURL()
	testenv.Must(t, storage.DropDatabase(ctx, admin, p.Name), "drop the database")
	_, err = storage.CreateDatabase(ctx, admin, p.Name)
	testenv.Must(t, err, "create it again")
	oc := testenv.ObjectsConfig(p.Bucket)
	flags := []string{"--database-url=" + p.DBURL(), "--s3-endpoint=" + oc.Endpoint, "--s3-access-key=" + oc.AccessKey,
		"--s3-secret-key=" + oc.SecretKey, "--s3-bucket=" + oc.Bucket}
	var out bytes.Buffer
	testenv.Must(t, runRebuild(ctx, append(flags, "--check"), &out), "rebuild --check")
	want := fmt.Sprintf("%d batches, %d pages, %d documents", summary.batches, summary.pages, summary.documents)
	if !strings.Contains(out.String(), "checked (nothing written)") || !strings.Contains(out.String(), want) {
		t.Fatalf("rebuild --check said %q, want %q", out.String(), want)
	}
	out.Reset()
	testenv.Must(t, runRebuild(ctx, flags, &out), "rebuild")
	t.Logf("paperchart rebuild: %s", out.String())
	if !strings.Contains(out.String(), "rebuilt from 3 manifests") || !strings.Contains(out.String(), want) {
		t.Fatalf("rebuild said %q, want 3 manifests and %q", out.String(), want)
	}
	db, err := storage.OpenDB(ctx, p.DBURL())
	testenv.Must(t, err, "open the rebuilt database")
	defer db.Close()

	var rebuiltPatients []int64
	rows, err = db.Pool().Query(ctx, `SELECT id FROM patients ORDER BY id`)
	testenv.Must(t, err, "patients")
	for rows.Next() {
		var id int64
		testenv.Must(t, rows.Scan(&id), "scan")
		rebuiltPatients = append(rebuiltPatients, id)
	}
	for _, id := range named {
		if !slices.Contains(rebuiltPatients, id) {
			t.Errorf("patient %d, named by a document, was not rebuilt", id)
		}
	}
	after := tableRows(t, db)
	for _, tt := range rebuiltTables[:6] {
		if after[tt.table] != before[tt.table] {
			t.Errorf("table %s differs after the rebuild:\n got %.2000s\nwant %.2000s", tt.table, after[tt.table], before[tt.table])
		}
	}
	for _, id := range rebuiltPatients {
		for _, table := range []string{"patients", "patient_identifiers"} {
			k := fmt.Sprintf("%s/%d", table, id)
			if after[k] != before[k] {
				t.Errorf("%s differs after the rebuild:\n got %s\nwant %s", k, after[k], before[k])
			}
		}
	}
	gotFHIR := fhirAnswers(t, db, p.Objects)
	if len(gotFHIR) != len(wantFHIR) {
		t.Errorf("%d FHIR requests after the rebuild, %d before", len(gotFHIR), len(wantFHIR))
	}
	for path, w := range wantFHIR {
		if gotFHIR[path] != w {
			t.Errorf("GET %s answers differently after the rebuild:\n got %.1500s\nwant %.1500s", path, gotFHIR[path], w)
		}
	}
	t.Logf("rebuilt %d batches, %d pages, %d documents (%d filed), %d patients; %d FHIR answers identical",
		summary.batches, summary.pages, summary.documents, summary.filed, len(rebuiltPatients), len(wantFHIR))
}
