package search_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"paperchart/audit"
	"paperchart/chart"
	"paperchart/filing/filingtest"
	"paperchart/internal/testenv"
	"paperchart/search"
	"paperchart/storage"
	"paperchart/users"
)

// Page texts of a two-page discharge summary of HARTMANN, ELISE (00410001)
// whose second page tells of a fracture.
var (
	hipPage1 = "SPRINGFIELD MEMORIAL HOSPITAL\nDISCHARGE SUMMARY\nPatient: HARTMANN, ELISE\nMRN: 00410001\nDOB: 04/12/1961\n" +
		"Date of Service: 03/20/2024\nAdmission Date: 03/18/2024\nHospital Course: admitted after a fall at home.\nPage 1 of 2\n"
	hipPage2 = "HARTMANN, ELISE MRN: 00410001 Page 2 of 2\nImaging showed a displaced fracture of the left femoral neck " +
		"near the left hip. Orthopedics performed a hemiarthroplasty. <script>alert(1)</script> Weight bearing as tolerated.\n" +
		"Discharge Condition: stable.\n"
)

type fixture struct {
	s        *search.Searcher
	db       *storage.DB
	trail    *audit.Log
	access   *users.Access
	store    *users.Store
	hip      storage.Document // two pages, fracture on page 2
	disch    storage.Document // filingtest.Discharge (pneumonia)
	lab      storage.Document // filingtest.Lab, OKAFOR
	review   storage.Document // waiting for review: never found
	hipBatch int64
}

func setup(t *testing.T) fixture {
	t.Helper()
	ctx := context.Background()
	st := filingtest.New(t, nil)
	var f fixture
	f.db = st.DB
	file := func(name string, pages []filingtest.Page) []storage.Document {
		id := filingtest.Batch(t, st.DB, st.Objects, name+testenv.Name(""), pages)
		_, err := st.Filer.FileBatch(ctx, id)
		testenv.Must(t, err, "file batch %s", name)
		docs, err := st.DB.BatchDocuments(ctx, id)
		testenv.Must(t, err, "documents of %s", name)
		return docs
	}
	hip := file("hip", []filingtest.Page{{Cover: "00410001", Type: "discharge-summary"}, {Text: hipPage1}, {Text: hipPage2}})
	if len(hip) != 1 || len(hip[0].Pages) != 2 || hip[0].State != storage.DocFiled {
		t.Fatalf("fixture: hip batch gave %+v", hip)
	}
	f.hip, f.hipBatch = hip[0], hip[0].BatchID
	two := file("two", []filingtest.Page{{Text: filingtest.Discharge}, {Sep: true}, {Text: filingtest.Lab}, {Sep: true}, {Text: filingtest.Stranger}})
	if len(two) != 3 || two[0].State != storage.DocFiled || two[1].State != storage.DocFiled || two[2].State != storage.DocReview {
		t.Fatalf("fixture: second batch gave %+v", two)
	}
	f.disch, f.lab, f.review = two[0], two[1], two[2]
	f.store = users.NewStore(st.DB.Pool())
	f.access = users.NewAccess(f.store, 0)
	f.trail = audit.New(st.DB.Pool())
	f.s = &search.Searcher{Pool: st.DB.Pool(), Access: f.access, Audit: f.trail}
	return f
}

var cli = search.Who{Actor: "cli:tester"}

func ids(r search.Result) []int64 {
	out := []int64{}
	for _, h := range r.Hits {
		out = append(out, h.DocumentID)
	}
	return out
}

func TestSearch(t *testing.T) {
	ctx := context.Background()
	f := setup(t)
	date := func(s string) chart.Date {
		d, err := chart.ParseDate(s)
		testenv.Must(t, err, "date %s", s)
		return d
	}
	for _, tt := range []struct {
		name string
		q    search.Query
		want []int64
	}{
		{"stemming: fractures finds fracture", search.Query{Text: "fractures"}, []int64{f.hip.ID}},
		{"stemming both ways", search.Query{Text: "fractured hips"}, []int64{f.hip.ID}},
		{"phrase", search.Query{Text: `"left femoral neck"`}, []int64{f.hip.ID}},
		{"a hyphenated word is a phrase", search.Query{Text: "follow-up care"}, []int64{f.disch.ID}},
		{"phrase in the wrong order", search.Query{Text: `"neck femoral left"`}, []int64{}},
		{"words anywhere in the page", search.Query{Text: "hemiarthroplasty orthopedics"}, []int64{f.hip.ID}},
		{"words on different pages of one document", search.Query{Text: "fall hemiarthroplasty"}, []int64{f.hip.ID}},
		{"excluded word", search.Query{Text: "discharge -fracture"}, []int64{f.disch.ID}},
		{"or", search.Query{Text: "pneumonia or hemiarthroplasty"}, []int64{f.disch.ID, f.hip.ID}},
		{"last word as a prefix", search.Query{Text: "pneumo"}, []int64{f.disch.ID}},
		{"a prefix after a word", search.Query{Text: "chest radio"}, []int64{f.disch.ID}},
		{"no such word", search.Query{Text: "xylophone"}, []int64{}},
		{"not filed: never found", search.Query{Text: "lisinopril"}, []int64{}},
		{"patient by MRN", search.Query{Text: "mmol", MRN: "00410002"}, []int64{f.lab.ID}},
		{"another patient's MRN", search.Query{Text: "fracture", MRN: "00410002"}, []int64{}},
		{"patient by ID", search.Query{Text: "discharge", PatientID: *f.hip.PatientID}, []int64{f.disch.ID, f.hip.ID}},
		{"type", search.Query{Text: "blood", Type: "lab-report"}, []int64{f.lab.ID}},
		{"type that does not match", search.Query{Text: "fracture", Type: "lab-report"}, []int64{}},
		{"from", search.Query{Text: "discharge", From: date("2024-03-15")}, []int64{f.hip.ID}},
		{"to", search.Query{Text: "discharge", To: date("2024-03-15")}, []int64{f.disch.ID}},
		{"from and to", search.Query{Text: "discharge", From: date("2024-03-01"), To: date("2024-03-31")}, []int64{f.disch.ID, f.hip.ID}},
		{"batch", search.Query{Text: "discharge", BatchID: f.hipBatch}, []int64{f.hip.ID}},
		{"facility", search.Query{Text: "discharge", Facility: "NOWHERE GENERAL"}, []int64{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r, err := f.s.Search(ctx, cli, tt.q)
			testenv.Must(t, err, "search")
			got := ids(r)
			slices.Sort(got)
			want := slices.Clone(tt.want)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("found %v, want %v", got, want)
			}
			if r.Total != len(want) {
				t.Errorf("total %d, want %d", r.Total, len(want))
			}
		})
	}

	t.Run("hit: page, snippet, patient", func(t *testing.T) {
		r, err := f.s.Search(ctx, cli, search.Query{Text: "fractures"})
		testenv.Must(t, err, "search")
		if len(r.Hits) != 1 {
			t.Fatalf("hits %+v", r.Hits)
		}
		h := r.Hits[0]
		if h.Page != 2 || h.BatchPage != f.hip.Pages[1] || !slices.Equal(h.Pages, []int{2}) || h.PageCount != 2 {
			t.Errorf("page %d (batch page %d), pages %v of %d; want page 2 (batch page %d)", h.Page, h.BatchPage, h.Pages, h.PageCount, f.hip.Pages[1])
		}
		if h.MRN != "00410001" || h.PatientID != *f.hip.PatientID || h.Type != "discharge-summary" {
			t.Errorf("hit %+v", h)
		}
		var marks []string
		for _, s := range h.Snippet {
			if s.Mark {
				marks = append(marks, s.Text)
			}
			if strings.ContainsAny(s.Text, "\uE000\uE001") {
				t.Errorf("a sentinel left in the snippet: %q", s.Text)
			}
		}
		if !slices.Equal(marks, []string{"fracture"}) {
			t.Errorf("marked %q in %q", marks, h.SnippetText("[", "]"))
		}
		if got := h.SnippetText("[", "]"); !strings.Contains(got, "displaced [fracture] of the left") {
			t.Errorf("snippet %q", got)
		}
	})

	t.Run("facility as filed", func(t *testing.T) {
		if f.hip.Facility == "" || f.hip.Facility != f.disch.Facility {
			t.Fatalf("fixture: facilities %q and %q", f.hip.Facility, f.disch.Facility)
		}
		r, err := f.s.Search(ctx, cli, search.Query{Text: "discharge", Facility: f.hip.Facility})
		testenv.Must(t, err, "search")
		if r.Total != 2 {
			t.Errorf("facility %q: found %v", f.hip.Facility, ids(r))
		}
	})

	t.Run("ranking: more matches rank higher", func(t *testing.T) {
		r, err := f.s.Search(ctx, cli, search.Query{Text: "discharge"})
		testenv.Must(t, err, "search")
		for i := 1; i < len(r.Hits); i++ {
			if r.Hits[i].Rank > r.Hits[i-1].Rank {
				t.Errorf("hits not by rank: %+v", r.Hits)
			}
		}
	})

	t.Run("only the newest matches ranked", func(t *testing.T) {
		capped := *f.s
		capped.Ranked = 1
		r, err := capped.Search(ctx, cli, search.Query{Text: "discharge"})
		testenv.Must(t, err, "search")
		newest := max(f.hip.ID, f.disch.ID)
		if r.Total != 1 || !r.More || !slices.Equal(ids(r), []int64{newest}) {
			t.Errorf("total %d, more %v, found %v; want 1+, the newest (%d)", r.Total, r.More, ids(r), newest)
		}
		r, err = capped.Search(ctx, cli, search.Query{Text: "fracture"})
		testenv.Must(t, err, "search")
		if r.Total != 1 || r.More {
			t.Errorf("one match: total %d, more %v", r.Total, r.More)
		}
		// A phrase: checked among the newest documents with its words.
		r, err = capped.Search(ctx, cli, search.Query{Text: `"left femoral"`})
		testenv.Must(t, err, "search")
		if !slices.Equal(ids(r), []int64{f.hip.ID}) || r.More {
			t.Errorf("phrase: found %v, more %v", ids(r), r.More)
		}
	})

	t.Run("limit", func(t *testing.T) {
		r, err := f.s.Search(ctx, cli, search.Query{Text: "discharge", Limit: 1})
		testenv.Must(t, err, "search")
		if len(r.Hits) != 1 || r.Total != 2 {
			t.Errorf("%d hits of %d, want 1 of 2", len(r.Hits), r.Total)
		}
	})

	for _, tt := range []struct {
		text string
		err  error
	}{{"", search.ErrEmptyQuery}, {"   ", search.ErrEmptyQuery}, {"the and", search.ErrEmptyQuery}, {`"of the"`, search.ErrEmptyQuery}, {strings.Repeat("a", search.MaxText+1), search.ErrTooLong}} {
		if _, err := f.s.Search(ctx, cli, search.Query{Text: tt.text}); err != tt.err {
			t.Errorf("search %.10q: %v, want %v", tt.text, err, tt.err)
		}
	}
	// Whatever is typed is a query, never SQL or tsquery syntax.
	for _, text := range []string{`'; DROP TABLE documents; --`, `fracture & | ! ( ) :* <->`, `"unclosed phrase`, `-`, `or`, `héllo wörld`, "\x00nul"} {
		if _, err := f.s.Search(ctx, cli, search.Query{Text: text}); err != nil && err != search.ErrEmptyQuery {
			t.Errorf("search %q: %v", text, err)
		}
	}
}

// An indexer finds only what users.Access lets them read; records staff
// find every filed document.
func TestSearchAccess(t *testing.T) {
	ctx := context.Background()
	f := setup(t)
	add := func(name string, role users.Role) *users.User {
		u, err := f.store.Add(ctx, name, role, "a long enough password")
		testenv.Must(t, err, "add user %s", name)
		return &u
	}
	ann, rec := add("ann", users.Indexer), add("rita", users.Records)
	as := func(u *users.User) search.Who { return search.Who{Actor: audit.UserActor(u.Name), User: u} }
	find := func(u *users.User, text string) []int64 {
		r, err := f.s.Search(ctx, as(u), search.Query{Text: text})
		testenv.Must(t, err, "search as %s", u.Name)
		got := ids(r)
		slices.Sort(got)
		return got
	}
	if got := find(ann, "discharge"); len(got) != 0 {
		t.Errorf("indexer with no work found %v", got)
	}
	if got := find(rec, "discharge"); len(got) != 2 {
		t.Errorf("records found %v, want both discharge summaries", got)
	}
	// Reading a document does not open it; working on it does.
	testenv.Must(t, f.db.RecordDocumentEvent(ctx, f.hip.ID, "ann", "viewed", ""), "view")
	if got := find(ann, "discharge"); len(got) != 0 {
		t.Errorf("indexer who only read found %v", got)
	}
	testenv.Must(t, f.db.RecordDocumentEvent(ctx, f.hip.ID, "ann", "edited", "type"), "edit")
	if got := find(ann, "discharge"); !slices.Equal(got, []int64{f.hip.ID}) {
		t.Errorf("indexer who worked on %d found %v", f.hip.ID, got)
	}
	// Break the glass: the document opens for an hour.
	testenv.Must(t, f.access.BreakGlass(ctx, *ann, f.disch.ID, "the patient's physician asked for it"), "break glass")
	if got, want := find(ann, "discharge"), []int64{min(f.disch.ID, f.hip.ID), max(f.disch.ID, f.hip.ID)}; !slices.Equal(got, want) {
		t.Errorf("after breaking the glass found %v", got)
	}
	// The filter agrees with Access.Document for every filed document.
	for _, d := range []storage.Document{f.hip, f.disch, f.lab} {
		basis, err := f.access.Document(ctx, *ann, d.ID)
		testenv.Must(t, err, "access")
		r, err := f.s.Search(ctx, as(ann), search.Query{Text: "page", BatchID: d.BatchID, Limit: 100})
		testenv.Must(t, err, "search")
		if slices.Contains(ids(r), d.ID) != (basis != "") {
			t.Errorf("document %d: access %q but found %v", d.ID, basis, ids(r))
		}
	}
}

// Every search is in the audit trail with who searched and what they typed.
func TestSearchAudited(t *testing.T) {
	ctx := context.Background()
	f := setup(t)
	who := search.Who{Actor: "user:ann", Remote: "10.0.0.7"}
	_, err := f.s.Search(ctx, who, search.Query{Text: `"left femoral" fractures`, MRN: "00410001", Type: "discharge-summary"})
	testenv.Must(t, err, "search")
	_, err = f.s.Search(ctx, who, search.Query{Text: "xylophone"})
	testenv.Must(t, err, "search")
	es, err := f.trail.List(ctx, audit.Filter{Limit: 5})
	testenv.Must(t, err, "audit list")
	var got []audit.Entry
	for _, e := range es {
		if e.Action == search.ActionSearch {
			got = append(got, e)
		}
	}
	if len(got) != 2 {
		t.Fatalf("audit entries %+v", es)
	}
	hit, miss := got[1], got[0] // newest first
	wantDetail := fmt.Sprintf(`q="\"left femoral\" fractures" mrn="00410001" type="discharge-summary"; 1 found: DocumentReference/%d`, f.hip.ID)
	if hit.Actor != "user:ann" || hit.Remote != "10.0.0.7" || hit.Detail != wantDetail || hit.PatientID == nil || *hit.PatientID != *f.hip.PatientID ||
		hit.DocumentID == nil || *hit.DocumentID != f.hip.ID {
		t.Errorf("audit entry %+v, want detail %s", hit, wantDetail)
	}
	if miss.Detail != `q="xylophone"; 0 found` || miss.PatientID != nil {
		t.Errorf("audit entry of a search finding nothing: %+v", miss)
	}
	// A search with no actor is refused, not run unaudited.
	if _, err := f.s.Search(ctx, search.Who{}, search.Query{Text: "fracture"}); err == nil {
		t.Error("a search with no actor ran")
	}
}

// The index follows the documents: re-cut, page text changed, taken out of
// filed; and building it again changes nothing.
func TestSearchIndexFollows(t *testing.T) {
	ctx := context.Background()
	f := setup(t)
	pool := f.db.Pool()
	count := func() (n int) {
		testenv.Must(t, pool.QueryRow(ctx, `SELECT count(*) FROM search_pages`).Scan(&n), "count")
		return n
	}
	find := func(text string) []int64 {
		r, err := f.s.Search(ctx, cli, search.Query{Text: text})
		testenv.Must(t, err, "search")
		return ids(r)
	}
	if n := count(); n != 4 {
		t.Errorf("%d indexed pages, want 4 (hip 2, discharge, lab)", n)
	}
	var docs int
	testenv.Must(t, pool.QueryRow(ctx, `SELECT count(*) FROM search_documents`).Scan(&docs), "count")
	if docs != 3 {
		t.Errorf("%d indexed documents, want 3", docs)
	}
	_, err := pool.Exec(ctx, `SELECT search_index_document(id) FROM documents`)
	testenv.Must(t, err, "index again")
	if n := count(); n != 4 {
		t.Errorf("after indexing again %d pages, want 4", n)
	}
	// The page's text changes (OCR read again).
	_, err = pool.Exec(ctx, `UPDATE pages SET text = replace(text, 'hemiarthroplasty', 'arthrodesis') WHERE batch_id = $1`, f.hipBatch)
	testenv.Must(t, err, "change text")
	if got := find("hemiarthroplasty"); len(got) != 0 {
		t.Errorf("old text still found: %v", got)
	}
	if got := find("arthrodesis"); !slices.Equal(got, []int64{f.hip.ID}) {
		t.Errorf("new text found %v", got)
	}
	// The document loses its first page: the fracture is now on page 1.
	_, err = pool.Exec(ctx, `UPDATE documents SET pages = pages[2:2] WHERE id = $1`, f.hip.ID)
	testenv.Must(t, err, "re-cut")
	r, err := f.s.Search(ctx, cli, search.Query{Text: "fracture"})
	testenv.Must(t, err, "search")
	if len(r.Hits) != 1 || r.Hits[0].Page != 1 || r.Hits[0].PageCount != 1 {
		t.Errorf("after the re-cut: %+v", r.Hits)
	}
	if n := count(); n != 3 {
		t.Errorf("after the re-cut %d pages, want 3", n)
	}
	// Back in review: not found until filed again.
	_, err = pool.Exec(ctx, `UPDATE documents SET state = 'review' WHERE id = $1`, f.hip.ID)
	testenv.Must(t, err, "unfile")
	if got := find("fracture"); len(got) != 0 {
		t.Errorf("a document in review found: %v", got)
	}
	_, err = pool.Exec(ctx, `UPDATE documents SET state = 'filed' WHERE id = $1`, f.hip.ID)
	testenv.Must(t, err, "file again")
	if got := find("fracture"); !slices.Equal(got, []int64{f.hip.ID}) {
		t.Errorf("filed again: found %v", got)
	}
}
