package storage_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"paperchart/chart"
	"paperchart/internal/testenv"
	"paperchart/patients"
	"paperchart/storage"
)

// rebuildIndex is a small patient index: the documents name the first three
// (filed to, suggested, candidates); the fourth is named by none.
const rebuildIndex = `mrn,family,given,birth_date,sex
00510001,ALDER,ROSE,1960-01-02,female
00510002,BIRCH,TOM,1971-03-04,male
00510003,BIRCH,THOMAS,1971-03-04,male
00510004,CEDAR,ANN,1980-05-06,female
`

// rebuiltTables are the tables a rebuild recreates, with the order their
// rows are compared in.
var rebuiltTables = []struct{ table, order string }{
	{"batches", "id"}, {"batch_events", "id"}, {"pages", "batch_id, page_no"}, {"documents", "id"},
	{"document_events", "id"}, {"document_corrections", "id"}, {"patients", "id"},
	{"patient_identifiers", "patient_id, system, value"},
}

// dumpRows returns every row of the rebuilt tables as PostgreSQL writes
// it, each column by name; patients only those in keep (nil: all).
func dumpRows(t *testing.T, db *storage.DB, keep []int64) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, tt := range rebuiltTables {
		where := ""
		if keep != nil && strings.HasPrefix(tt.table, "patient") {
			col := "id"
			if tt.table == "patient_identifiers" {
				col = "patient_id"
			}
			where = fmt.Sprintf(" WHERE %s = ANY($1)", col)
		}
		q := `SELECT coalesce(jsonb_agg(to_jsonb(t) ORDER BY ` + tt.order + `), '[]')::text FROM ` + tt.table + ` t` + where
		args := []any{}
		if where != "" {
			args = append(args, keep)
		}
		ctx := context.Background()
		tx, err := db.Pool().Begin(ctx)
		testenv.Must(t, err, "begin")
		_, err = tx.Exec(ctx, `SET LOCAL TimeZone = 'UTC'`)
		testenv.Must(t, err, "time zone")
		var s string
		testenv.Must(t, tx.QueryRow(ctx, q, args...).Scan(&s), "dump %s", tt.table)
		tx.Rollback(ctx)
		out[tt.table] = s
	}
	return out
}

func manifestOf(t *testing.T, objs *storage.Objects, batch int64) storage.Manifest {
	t.Helper()
	data, err := objs.Get(context.Background(), storage.ManifestKey(batch))
	testenv.Must(t, err, "read manifest of batch %d", batch)
	m, err := storage.DecodeManifest(data)
	testenv.Must(t, err, "decode manifest of batch %d", batch)
	return m
}

// A batch processed and worked on in review, a duplicate, a rejected file
// and one only received are written to the bucket as manifests, each write
// idempotent and every change written again; a rebuild from the bucket
// alone into an empty database then gives back every row of theirs, the
// patients their documents name, and IDs that continue after the highest.
func TestManifestsRebuild(t *testing.T) {
	ctx := context.Background()
	db := testenv.DB(t)
	objs := testenv.Objects(t)
	index := patients.New(db.Pool(), patients.Options{})
	_, err := index.Import(ctx, strings.NewReader(rebuildIndex), patients.FormatCSV, patients.ImportOptions{})
	testenv.Must(t, err, "import")
	pid := map[string]int64{}
	for _, mrn := range []string{"00510001", "00510002", "00510003", "00510004"} {
		p, err := index.ByMRN(ctx, patients.DefaultAuthority, mrn)
		testenv.Must(t, err, "patient %s", mrn)
		pid[mrn] = p.ID
	}
	_, err = db.Pool().Exec(ctx, `INSERT INTO patient_identifiers (patient_id, system, value) VALUES ($1, 'urn:oid:2.16.840.1.113883.4.1', '123-45-6789')`, pid["00510001"])
	testenv.Must(t, err, "identifier")

	// Batch 1: split, OCR'd, assembled, filed into two documents.
	b1, _, err := db.RecordBatch(ctx, newBatch("k1", "sha-one"))
	testenv.Must(t, err, "record")
	_, err = db.MarkQueued(ctx, b1.ID, "pdf")
	testenv.Must(t, err, "queue")
	_, err = db.StartSplit(ctx, b1.ID)
	testenv.Must(t, err, "split")
	var pages []storage.NewPage
	for i := 1; i <= 3; i++ {
		pages = append(pages, storage.NewPage{No: i, SourceKey: storage.PageSourceKey(b1.ID, i, ".jpg"), Kind: "image", DPI: 300, Width: 2550.5, Height: 3300})
	}
	testenv.Must(t, db.AddPages(ctx, b1.ID, "pdf", pages), "add pages")
	for i := 1; i <= 3; i++ {
		r := storage.PageResult{BatchID: b1.ID, No: i, ImageKey: storage.PageImageKey(b1.ID, i), OCRKey: storage.PageOCRKey(b1.ID, i),
			Text: fmt.Sprintf("page %d text", i), WordCount: 3, MeanConf: 91.37, Skew: 0.3, DPI: 300, Width: 2550, Height: 3300, OCRMillis: 812}
		if i == 2 {
			r.Blank, r.Text, r.WordCount = true, "", 0
		}
		if i == 1 {
			r.Barcodes = []storage.Barcode{{Format: "CODE_128", Text: "MRN00510001"}}
		}
		_, err := db.CompletePage(ctx, r)
		testenv.Must(t, err, "complete page %d", i)
	}
	_, err = db.Assembled(ctx, b1.ID, storage.SearchableKey(b1.ID))
	testenv.Must(t, err, "assembled")
	sd := time.Date(2024, 2, 3, 0, 0, 0, 0, time.UTC)
	a, b, c := pid["00510001"], pid["00510002"], pid["00510003"]
	docs := []storage.NewDocument{
		{Seq: 1, State: storage.DocFiled, DocStatus: storage.DocStatusPreliminary, Pages: []int{1}, ObjectKey: storage.PatientDocumentKey(a, b1.ID, 1),
			PDFSize: 1234, PDFSHA1: "a9993e364706816aba3e25717850c26c9cd0d89d", PatientID: &a, Type: "progress-note", LOINC: "11506-3", Title: "Progress note",
			ServiceDate: &sd, Facility: "Springfield Clinic", SeparatedBy: "first", SplitConfidence: 0.99, TypeSuggested: "progress-note",
			TypeConfidence: 0.41, TypeReview: true, TypeRanked: chart.RankedTypes{{Type: "progress-note", Probability: 0.41}},
			PatientSuggested: &a, PatientConfidence: 0.9999, Candidates: chart.Candidates{{PatientID: a, Probability: 0.9999, Weight: 21.5}},
			Identifiers: chart.Identifiers{MRN: "00510001", Family: "ALDER"}},
		{Seq: 2, State: storage.DocReview, Pages: []int{3}, ObjectKey: storage.ReviewDocumentKey(b1.ID, 2), SeparatedBy: "content",
			SplitConfidence: 0.7, SplitReview: true, SplitReasons: []string{"a title on top"}, Type: "letter", TypeSuggested: "letter",
			TypeConfidence: 0.8, PatientSuggested: &b, PatientConfidence: 0.6, PatientReview: true,
			Candidates:    chart.Candidates{{PatientID: b, Probability: 0.6}, {PatientID: c, Probability: 0.4}},
			ReviewReasons: []string{"two patients match"}},
		{Seq: 3, State: storage.DocReview, Pages: []int{2}, ObjectKey: storage.ReviewDocumentKey(b1.ID, 3), SeparatedBy: "content",
			SplitConfidence: 0.5, SplitReview: true, PatientReview: true, ReviewReasons: []string{"no identifiers"}},
	}
	_, _, err = db.FinishFiling(ctx, b1.ID, docs)
	testenv.Must(t, err, "file")
	// Batch 2: the same bytes again; 3: rejected; 4: only received.
	b2, _, err := db.RecordBatch(ctx, newBatch("k2", "sha-one"))
	testenv.Must(t, err, "duplicate")
	b3, _, err := db.RecordBatch(ctx, newBatch("k3", "sha-three"))
	testenv.Must(t, err, "record")
	_, err = db.Reject(ctx, b3.ID, "empty", "The file is empty.")
	testenv.Must(t, err, "reject")
	b4, _, err := db.RecordBatch(ctx, newBatch("k4", "sha-four"))
	testenv.Must(t, err, "record")

	n, err := db.WriteDueManifests(ctx, objs, 0)
	testenv.Must(t, err, "write manifests")
	if n != 4 {
		t.Fatalf("wrote %d manifests, want 4", n)
	}
	if due, _ := db.ManifestsDue(ctx); due != 0 {
		t.Fatalf("%d manifests still due", due)
	}
	if m := manifestOf(t, objs, b1.ID); m.State != storage.StateDone || len(m.Rows.Pages) != 3 || len(m.Rows.Documents) != 3 || len(m.Rows.Patients) != 3 {
		t.Fatalf("manifest of batch 1: state %s, %d pages, %d documents, %d patients; want done, 3, 3, 3",
			m.State, len(m.Rows.Pages), len(m.Rows.Documents), len(m.Rows.Patients))
	}

	// Writing again stores nothing: the same rows make the same bytes.
	before, err := objs.Stat(ctx, storage.ManifestKey(b1.ID))
	testenv.Must(t, err, "stat")
	wrote, err := db.WriteManifest(ctx, objs, b1.ID)
	testenv.Must(t, err, "write again")
	after, err := objs.Stat(ctx, storage.ManifestKey(b1.ID))
	testenv.Must(t, err, "stat")
	if wrote || after.VersionID != before.VersionID {
		t.Fatalf("a second write of the same rows stored again (wrote %v, version %q then %q)", wrote, before.VersionID, after.VersionID)
	}

	// Review: the third document is merged into the second, which is then
	// claimed and filed to the other candidate, the preliminary one's type
	// confirmed; then a merge retires
	// a patient the review document names only as a candidate.
	d1, d2, d3 := docIDs(t, db, b1.ID)
	merged := docs[1]
	merged.Pages, merged.ObjectKey = []int{2, 3}, storage.EditedDocumentKey(b1.ID, time.Now())
	_, err = db.ApplyEdit(ctx, storage.Edit{Actor: "ann", BatchID: b1.ID, Event: "merged with the previous",
		Update: map[int64]storage.NewDocument{d2: merged}, MergedInto: map[int64]int64{d3: d2}, Correction: "merge"})
	testenv.Must(t, err, "merge documents")
	_, err = db.Claim(ctx, d2, "ann", 10*time.Minute)
	testenv.Must(t, err, "claim")
	testenv.Must(t, db.FileReviewed(ctx, d2, storage.ReviewDecision{Actor: "ann", PatientID: c, Type: "consult-note", LOINC: "11488-4",
		ObjectKey: storage.PatientDocumentKey(c, b1.ID, 2)}), "file reviewed")
	testenv.Must(t, db.ConfirmType(ctx, d1, storage.TypeDecision{Actor: "ann", Type: "history-physical", LOINC: "34117-2", Title: "History and physical"}), "confirm type")
	if due, _ := db.ManifestsDue(ctx); due != 1 {
		t.Fatalf("%d manifests due after review, want 1", due)
	}
	n, err = db.WriteDueManifests(ctx, objs, 0)
	testenv.Must(t, err, "write manifests")
	if m := manifestOf(t, objs, b1.ID); n != 1 || !strings.Contains(string(m.Rows.Documents[1]), `"filed_by":"ann"`) ||
		len(m.Rows.DocumentCorrections) != 4 || !strings.Contains(string(m.Rows.Documents[2]), fmt.Sprintf(`"merged_into":%d`, d2)) {
		t.Fatalf("after review: wrote %d, manifest documents %s, %d corrections", n, m.Rows.Documents[1], len(m.Rows.DocumentCorrections))
	}
	testenv.Must(t, index.Merge(ctx, patients.PatientRef{MRN: "00510002"}, patients.PatientRef{MRN: "00510001"}, "test"), "merge")
	n, err = db.WriteDueManifests(ctx, objs, 0)
	testenv.Must(t, err, "write manifests")
	if n != 1 || !strings.Contains(string(manifestOf(t, objs, b1.ID).Rows.Patients[1]), fmt.Sprintf(`"merged_into":%d`, a)) {
		t.Fatalf("after the merge: wrote %d manifests; patients %s", n, manifestOf(t, objs, b1.ID).Rows.Patients)
	}

	// An original that no batch names, as if lost before its manifest.
	testenv.Must(t, objs.Put(ctx, storage.OriginalKey("sha-lost"), []byte("lost"), "application/pdf"), "put original")
	for _, sha := range []string{"sha-one", "sha-three", "sha-four"} {
		testenv.Must(t, objs.Put(ctx, storage.OriginalKey(sha), []byte(sha), "application/pdf"), "put original")
	}
	want := dumpRows(t, db, []int64{a, b, c})

	rebuilt := testenv.DB(t)
	sum, err := rebuilt.Rebuild(ctx, objs, storage.RebuildOptions{Chunk: 1}) // a manifest at a time: batch 2 is a duplicate of batch 1
	testenv.Must(t, err, "rebuild")
	if sum.Manifests != 4 || sum.Batches != 4 || sum.Pages != 3 || sum.Documents != 3 || sum.Patients != 3 || sum.Unsettled != 1 ||
		len(sum.Orphans) != 1 || sum.Orphans[0] != storage.OriginalKey("sha-lost") {
		t.Errorf("rebuild summary %+v", sum)
	}
	got := dumpRows(t, rebuilt, nil)
	for _, tt := range rebuiltTables {
		if got[tt.table] != want[tt.table] {
			t.Errorf("table %s rebuilt differs:\n got %s\nwant %s", tt.table, got[tt.table], want[tt.table])
		}
	}
	var outbox int
	testenv.Must(t, rebuilt.Pool().QueryRow(ctx, `SELECT (SELECT count(*) FROM hl7_outbox) + (SELECT count(*) FROM webhook_outbox)`).Scan(&outbox), "outbox")
	if outbox != 0 {
		t.Errorf("%d documents queued to be announced again after the rebuild", outbox)
	}
	// The rebuilt rows make the same manifests: none is stored again.
	if n, err := rebuilt.WriteDueManifests(ctx, objs, 0); err != nil || n != 0 {
		t.Errorf("the rebuilt database stored %d manifests anew (%v), want 0: its rows differ from the bucket's", n, err)
	}
	// New rows continue after the rebuilt IDs.
	b5, _, err := rebuilt.RecordBatch(ctx, newBatch("k5", "sha-five"))
	testenv.Must(t, err, "record after rebuild")
	if b5.ID <= b4.ID {
		t.Errorf("batch recorded after the rebuild got ID %d, not after %d", b5.ID, b4.ID)
	}
	if _, err := rebuilt.Rebuild(ctx, objs, storage.RebuildOptions{}); !errors.Is(err, storage.ErrNotEmpty) {
		t.Errorf("rebuild into a database with rows: %v, want ErrNotEmpty", err)
	}
	_ = b2

	// A manifest that cannot be read stops a rebuild, naming its key.
	testenv.Must(t, objs.Put(ctx, storage.ManifestKey(99), []byte(`{"type":"something else"}`), "application/json"), "put")
	if _, err := testenv.DB(t).Rebuild(ctx, objs, storage.RebuildOptions{}); !errors.Is(err, storage.ErrBadManifest) || !strings.Contains(err.Error(), storage.ManifestKey(99)) {
		t.Errorf("rebuild with a bad manifest: %v", err)
	}
}

func docIDs(t *testing.T, db *storage.DB, batch int64) (int64, int64, int64) {
	t.Helper()
	docs, err := db.BatchDocuments(context.Background(), batch)
	testenv.Must(t, err, "documents")
	if len(docs) != 3 {
		t.Fatalf("%d documents", len(docs))
	}
	return docs[0].ID, docs[1].ID, docs[2].ID
}

func TestDecodeManifestRefuses(t *testing.T) {
	good, err := storage.EncodeManifest(storage.Manifest{Schema: 16, Batch: 7, State: "done",
		Rows: storage.Rows{Batches: []storage.Row{json.RawMessage(`{"id": 7}`)}}})
	testenv.Must(t, err, "encode")
	if m, err := storage.DecodeManifest(good); err != nil || m.Batch != 7 || m.Type != storage.ManifestType {
		t.Fatalf("decode what was encoded: %+v, %v", m, err)
	}
	for name, data := range map[string][]byte{
		"not JSON":             []byte("PK\x03\x04"),
		"another type":         bytes.Replace(good, []byte(storage.ManifestType), []byte("paperchart.audit.anchor/v1"), 1),
		"unknown field":        bytes.Replace(good, []byte(`"schema"`), []byte(`"extra":1,"schema"`), 1),
		"batch row of another": bytes.Replace(good, []byte(`{"id":7}`), []byte(`{"id":8}`), 1),
		"no batch row":         bytes.Replace(good, []byte(`[{"id":7}]`), []byte(`[]`), 1),
	} {
		if _, err := storage.DecodeManifest(data); !errors.Is(err, storage.ErrBadManifest) {
			t.Errorf("%s: %v, want ErrBadManifest", name, err)
		}
	}
}

// Writers racing on one batch (a task run twice, two worker machines) store
// its manifest once, and a change committed while they write is not lost.
func TestManifestWritersRace(t *testing.T) {
	ctx := context.Background()
	db := testenv.DB(t)
	objs := testenv.Objects(t)
	b, _, err := db.RecordBatch(ctx, newBatch("race", "sha-race"))
	testenv.Must(t, err, "record")
	var wrote atomic.Int32
	var wg sync.WaitGroup
	for range 6 {
		wg.Go(func() {
			ok, err := db.WriteManifest(ctx, objs, b.ID)
			if err != nil {
				t.Error(err)
			}
			if ok {
				wrote.Add(1)
			}
		})
	}
	wg.Wait()
	if wrote.Load() != 1 {
		t.Fatalf("%d of 6 racing writers stored the manifest, want 1", wrote.Load())
	}
	// Changes while writers run: the last one written is the last state.
	for i := range 5 {
		wg.Go(func() {
			if _, err := db.WriteDueManifests(ctx, objs, 0); err != nil {
				t.Error(err)
			}
		})
		_, err := db.Pool().Exec(ctx, `INSERT INTO batch_events (batch_id, event) VALUES ($1, $2)`, b.ID, fmt.Sprintf("change %d", i))
		testenv.Must(t, err, "change")
	}
	wg.Wait()
	_, err = db.WriteDueManifests(ctx, objs, 0)
	testenv.Must(t, err, "write")
	if due, _ := db.ManifestsDue(ctx); due != 0 {
		t.Fatalf("%d manifests due after the last write", due)
	}
	m := manifestOf(t, objs, b.ID)
	if len(m.Rows.BatchEvents) != 6 || !strings.Contains(string(m.Rows.BatchEvents[5]), "change 4") {
		t.Fatalf("manifest holds %d events, the last %s; want 6, the last change 4", len(m.Rows.BatchEvents), m.Rows.BatchEvents[len(m.Rows.BatchEvents)-1])
	}
}

// A new, empty database started against the bucket of another (instead of
// rebuilt from it) does not write over that bucket's manifests: its batch 1
// is another batch than the bucket's batch 1.
func TestForeignManifestKept(t *testing.T) {
	ctx := context.Background()
	objs := testenv.Objects(t)
	first := testenv.DB(t)
	_, _, err := first.RecordBatch(ctx, newBatch("first", "sha-first"))
	testenv.Must(t, err, "record")
	_, err = first.WriteDueManifests(ctx, objs, 0)
	testenv.Must(t, err, "write")
	kept, err := objs.Get(ctx, storage.ManifestKey(1))
	testenv.Must(t, err, "read")

	other := testenv.DB(t)
	_, _, err = other.RecordBatch(ctx, newBatch("other", "sha-other"))
	testenv.Must(t, err, "record")
	if _, err := other.WriteDueManifests(ctx, objs, 0); !errors.Is(err, storage.ErrForeignManifest) {
		t.Fatalf("writing over another database's manifest: %v, want ErrForeignManifest", err)
	}
	if now, _ := objs.Get(ctx, storage.ManifestKey(1)); !bytes.Equal(now, kept) {
		t.Fatal("the bucket's manifest of batch 1 was replaced")
	}
	if due, _ := other.ManifestsDue(ctx); due != 1 {
		t.Errorf("%d manifests due in the other database, want 1 (kept, and counted for the alert)", due)
	}
	// The first database itself, and one rebuilt from the bucket, still write.
	_, err = first.Pool().Exec(ctx, `INSERT INTO batch_events (batch_id, event) VALUES (1, 'later')`)
	testenv.Must(t, err, "change")
	if n, err := first.WriteDueManifests(ctx, objs, 0); err != nil || n != 1 {
		t.Fatalf("the bucket's own database wrote %d manifests: %v", n, err)
	}
}

// After a restore from last night's dump, a rebuild with Update brings the
// database to the bucket's state: what review did since the dump (a
// document filed, a type confirmed, a merge), batches recorded since, every
// row as in the database that was lost; the document filed since the dump
// joins the outboxes, announced to the EHR.
func TestRebuildOntoRestore(t *testing.T) {
	for _, tool := range []string{"pg_dump", "pg_restore"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is not installed: deploy/setup.sh installs PostgreSQL's client tools", tool)
		}
	}
	ctx := context.Background()
	url := testenv.DBURL(t)
	db, err := storage.OpenDB(ctx, url)
	testenv.Must(t, err, "open")
	defer db.Close()
	_, err = db.Migrate(ctx)
	testenv.Must(t, err, "migrate")
	objs := testenv.Objects(t)
	index := patients.New(db.Pool(), patients.Options{})
	_, err = index.Import(ctx, strings.NewReader(rebuildIndex), patients.FormatCSV, patients.ImportOptions{})
	testenv.Must(t, err, "import")
	p1, err := index.ByMRN(ctx, patients.DefaultAuthority, "00510001")
	testenv.Must(t, err, "patient")
	p2, err := index.ByMRN(ctx, patients.DefaultAuthority, "00510002")
	testenv.Must(t, err, "patient")
	b1, _, err := db.RecordBatch(ctx, newBatch("k1", "sha-one"))
	testenv.Must(t, err, "record")
	db.MarkQueued(ctx, b1.ID, "pdf")
	db.StartSplit(ctx, b1.ID)
	testenv.Must(t, db.AddPages(ctx, b1.ID, "pdf", []storage.NewPage{{No: 1, SourceKey: "s1", Kind: "image"}, {No: 2, SourceKey: "s2", Kind: "image"}}), "pages")
	for no := 1; no <= 2; no++ {
		_, err := db.CompletePage(ctx, storage.PageResult{BatchID: b1.ID, No: no, Text: "text", WordCount: 1})
		testenv.Must(t, err, "page")
	}
	db.Assembled(ctx, b1.ID, storage.SearchableKey(b1.ID))
	_, _, err = db.FinishFiling(ctx, b1.ID, []storage.NewDocument{
		{Seq: 1, State: storage.DocFiled, DocStatus: storage.DocStatusPreliminary, Pages: []int{1}, ObjectKey: "d1", PatientID: &p1.ID,
			Type: "letter", LOINC: "34109-9", SeparatedBy: "first", TypeSuggested: "letter", TypeReview: true},
		{Seq: 2, State: storage.DocReview, Pages: []int{2}, ObjectKey: "d2", SeparatedBy: "content", PatientSuggested: &p2.ID,
			Candidates: chart.Candidates{{PatientID: p2.ID, Probability: 0.5}}, PatientReview: true},
	})
	testenv.Must(t, err, "file")
	_, err = db.WriteDueManifests(ctx, objs, 0)
	testenv.Must(t, err, "write manifests")

	dump := t.TempDir() + "/nightly.dump"
	if out, err := exec.Command("pg_dump", "--format=custom", "--no-owner", "--file="+dump, url).CombinedOutput(); err != nil {
		t.Fatalf("pg_dump: %v\n%s", err, out)
	}

	// The day goes on after the dump.
	d1, d2 := firstDocs(t, db, b1.ID)
	_, err = db.Claim(ctx, d2, "ann", time.Minute)
	testenv.Must(t, err, "claim")
	testenv.Must(t, db.FileReviewed(ctx, d2, storage.ReviewDecision{Actor: "ann", PatientID: p1.ID, Type: "letter", LOINC: "34109-9", ObjectKey: "d2p"}), "file")
	testenv.Must(t, db.ConfirmType(ctx, d1, storage.TypeDecision{Actor: "bob", Type: "letter", LOINC: "34109-9", Title: "Letter"}), "confirm")
	testenv.Must(t, index.Merge(ctx, patients.PatientRef{MRN: "00510002"}, patients.PatientRef{MRN: "00510001"}, "test"), "merge")
	b2, _, err := db.RecordBatch(ctx, newBatch("k2", "sha-two"))
	testenv.Must(t, err, "record")
	_, err = db.Reject(ctx, b2.ID, "empty", "The file is empty.")
	testenv.Must(t, err, "reject")
	_, err = db.WriteDueManifests(ctx, objs, 0)
	testenv.Must(t, err, "write manifests")
	want := dumpRows(t, db, nil)

	// The database is lost; last night's dump is restored, then the bucket
	// brings it up to date.
	restoredURL := testenv.DBURL(t)
	if out, err := exec.Command("pg_restore", "--no-owner", "--no-privileges", "--exit-on-error", "--dbname="+restoredURL, dump).CombinedOutput(); err != nil {
		t.Fatalf("pg_restore: %v\n%s", err, out)
	}
	restored, err := storage.OpenDB(ctx, restoredURL)
	testenv.Must(t, err, "open the restored database")
	defer restored.Close()
	if _, err := restored.Rebuild(ctx, objs, storage.RebuildOptions{}); !errors.Is(err, storage.ErrNotEmpty) || !strings.Contains(err.Error(), "--update") {
		t.Fatalf("rebuild onto a restored database without Update: %v", err)
	}
	sum, err := restored.Rebuild(ctx, objs, storage.RebuildOptions{Update: true})
	testenv.Must(t, err, "rebuild onto the restore")
	if sum.Batches != 2 {
		t.Errorf("summary %+v, want 2 batches", sum)
	}
	got := dumpRows(t, restored, nil)
	for _, tt := range rebuiltTables {
		if got[tt.table] != want[tt.table] {
			t.Errorf("table %s after restore and rebuild differs:\n got %s\nwant %s", tt.table, got[tt.table], want[tt.table])
		}
	}
	var outbox []int64
	rows, err := restored.Pool().Query(ctx, `SELECT document_id FROM hl7_outbox WHERE state = 'pending' ORDER BY document_id`)
	testenv.Must(t, err, "outbox")
	for rows.Next() {
		var id int64
		testenv.Must(t, rows.Scan(&id), "scan")
		outbox = append(outbox, id)
	}
	if !slices.Equal(outbox, []int64{d1, d2}) {
		t.Errorf("MDM outbox after the rebuild: %v, want the document filed before the dump (%d, pending then) and the one filed since (%d)", outbox, d1, d2)
	}
	// Again: nothing changes (every row is already the manifests' version).
	_, err = restored.Rebuild(ctx, objs, storage.RebuildOptions{Update: true})
	testenv.Must(t, err, "rebuild again")
	if again := dumpRows(t, restored, nil); again["documents"] != got["documents"] || again["document_events"] != got["document_events"] {
		t.Error("a second rebuild onto the same database changed it")
	}
}

func firstDocs(t *testing.T, db *storage.DB, batch int64) (int64, int64) {
	t.Helper()
	docs, err := db.BatchDocuments(context.Background(), batch)
	testenv.Must(t, err, "documents")
	if len(docs) != 2 {
		t.Fatalf("%d documents", len(docs))
	}
	return docs[0].ID, docs[1].ID
}
