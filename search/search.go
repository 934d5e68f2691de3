// Package search owns full-text search over the OCR text of filed
// documents: reading what a person typed (plain words, "quoted phrases",
// -excluded words, or; the last plain word also matches as a prefix), the
// SQL over the per-page index of migration 0017 (table search_pages: one
// English tsvector per page of each filed document, kept up to date by
// triggers when a document is filed, re-cut or its page text changes),
// the filters (patient, type, date of service, facility, batch), ranking
// (ts_rank_cd, a document ranked by its best page), the highlighted snippet
// of the best page (ts_headline, returned as typed spans, never as HTML),
// minimum necessary (users.Access: a person finds only documents they may
// read) and the audit trail (every search, with who asked and the query
// text, in the audit trail and nowhere else: this package logs nothing).
package search

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"paperchart/audit"
	"paperchart/chart"
	"paperchart/users"
)

// ActionSearch is the audit action of a document search; its Detail holds
// the query text, the filters and the documents found.
const ActionSearch = "document.search"

// Limits of a query.
const (
	DefaultLimit = 20
	MaxLimit     = 100
	MaxText      = 200 // characters of query text
)

// ErrEmptyQuery is returned for a query with no word to search.
var ErrEmptyQuery = errors.New("type words to search for")

// ErrTooLong is returned for query text over MaxText characters.
var ErrTooLong = fmt.Errorf("the search is longer than %d characters", MaxText)

// Query is one search: Text (required) and the filters, each ignored when
// zero.
type Query struct {
	Text      string
	PatientID int64     // filed to this patient
	MRN       chart.MRN // filed to the patient with this MRN (any assigning authority)
	Type      string    // document type code (classify)
	From, To  chart.Date
	Facility  string
	BatchID   int64
	Limit     int // DefaultLimit when 0, at most MaxLimit
}

// Who is who searches.
type Who struct {
	Actor  string // audit actor: audit.UserActor, audit.TokenActor, "cli:NAME"
	Remote string
	// User is a signed-in person, who finds only the documents
	// users.Access lets them read. Nil is a caller allowed every filed
	// document: a token with the DocumentReference scope, the command line.
	User *users.User
}

// Span is a piece of a snippet; Mark is a piece that matched.
type Span struct {
	Text string `json:"text"`
	Mark bool   `json:"mark,omitempty"`
}

// Hit is one document found.
type Hit struct {
	DocumentID  int64      `json:"document_id"`
	BatchID     int64      `json:"batch_id"`
	Page        int        `json:"page"`       // the best-ranked page, 1-based within the document
	BatchPage   int        `json:"batch_page"` // that page's number in its batch
	Pages       []int      `json:"pages"`      // every page of the document that matched
	PageCount   int        `json:"page_count"`
	PatientID   int64      `json:"patient_id"`
	MRN         chart.MRN  `json:"mrn"`
	Type        string     `json:"type"`
	Title       string     `json:"title,omitempty"`
	ServiceDate chart.Date `json:"service_date,omitzero"`
	Facility    string     `json:"facility,omitempty"`
	Rank        float64    `json:"rank"`
	Snippet     []Span     `json:"snippet"`
}

// SnippetText is the snippet as plain text with each match between open
// and close.
func (h Hit) SnippetText(open, close string) string {
	var b strings.Builder
	for _, s := range h.Snippet {
		if s.Mark {
			b.WriteString(open + s.Text + close)
		} else {
			b.WriteString(s.Text)
		}
	}
	return b.String()
}

// Result is a search's answer: the documents found, best first, and how
// many matched in all; with More, more than Total matched and the hits are
// the best of the newest Total (Searcher.Ranked): words or filters to add.
type Result struct {
	Total int   `json:"total"`
	More  bool  `json:"more,omitempty"`
	Hits  []Hit `json:"hits"`
}

// Searcher searches. Pool is required; Access (minimum necessary for
// Who.User) and Audit are required in production, nil only in tests.
type Searcher struct {
	Pool   *pgxpool.Pool
	Access *users.Access
	Audit  *audit.Log
	// Now is the clock of the access window; nil is time.Now.
	Now func() time.Time
	// Ranked is how many matching documents, the newest, are ranked;
	// DefaultRanked when 0.
	Ranked int
}

// DefaultRanked is how many of the matching documents, the newest, a
// search ranks: a word found in most documents is answered in time that
// does not grow with the archive (see README, Search).
const DefaultRanked = 1000

// parsed is query text made ready for SQL: web goes to
// websearch_to_tsquery, prefix (a word of letters and digits, or "") to
// to_tsquery as WORD:*.
type parsed struct {
	web, prefix string
}

// parse reads query text: websearch syntax (words, "phrases", -word, or),
// with the last plain word also matching words it begins (OCR cuts words;
// a person types the start of one).
func parse(text string) (parsed, error) {
	text = strings.TrimSpace(strings.ToValidUTF8(strings.ReplaceAll(text, "\x00", ""), ""))
	if utf8.RuneCountInString(text) > MaxText {
		return parsed{}, ErrTooLong
	}
	if text == "" {
		return parsed{}, ErrEmptyQuery
	}
	// The last token, when it is a plain word outside quotes.
	if strings.Count(text, `"`)%2 == 0 && !strings.HasSuffix(text, `"`) {
		i := strings.LastIndexFunc(text, unicode.IsSpace)
		last := text[i+1:]
		plain := last != "" && !strings.EqualFold(last, "or") && !strings.HasPrefix(last, "-")
		for _, r := range last {
			if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
				plain = false
			}
		}
		if plain {
			if i < 0 {
				return parsed{prefix: strings.ToLower(last)}, nil
			}
			rest := strings.TrimSpace(text[:i])
			if f := strings.Fields(rest); len(f) > 0 && strings.EqualFold(f[len(f)-1], "or") {
				return parsed{web: text}, nil // "a or b": keep the or's meaning
			}
			return parsed{web: rest, prefix: strings.ToLower(last)}, nil
		}
	}
	return parsed{web: text}, nil
}

// tsquery is the SQL of the query, from parameters $1 (web) and $2
// (the prefix with :*, or an empty string).
const tsquery = `(websearch_to_tsquery('english', $1) && to_tsquery('english', $2))`

// Sentinels of ts_headline's marks: private-use characters, removed from
// the text first, so that every mark in its answer is one of ours.
const (
	startSel = "\uE000"
	stopSel  = "\uE001"
)

const headline = `ts_headline('english', translate(p.text, E'\uE000\uE001', ''), q.q,
	'StartSel=` + startSel + `, StopSel=` + stopSel + `, MaxFragments=2, MaxWords=30, MinWords=12, FragmentDelimiter=" … "')`

// Search runs q for who and audits it (before anything is returned: a
// search whose audit entry cannot be written fails).
func (s *Searcher) Search(ctx context.Context, who Who, q Query) (Result, error) {
	p, err := parse(q.Text)
	if err != nil {
		return Result{}, err
	}
	if who.Actor == "" {
		return Result{}, errors.New("search: no actor to audit")
	}
	limit := q.Limit
	if limit <= 0 {
		limit = DefaultLimit
	}
	limit = min(limit, MaxLimit)
	prefix := ""
	if p.prefix != "" {
		prefix = p.prefix + ":*"
	}
	args := []any{p.web, prefix}
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	var where []string
	if q.PatientID > 0 {
		where = append(where, "d.patient_id = "+arg(q.PatientID))
	}
	if !q.MRN.IsZero() {
		where = append(where, "pt.mrn = "+arg(strings.TrimSpace(q.MRN.String())))
	}
	if q.Type != "" {
		where = append(where, "d.type = "+arg(q.Type))
	}
	if !q.From.IsZero() {
		where = append(where, "d.service_date >= "+arg(q.From.Time())+"::date")
	}
	if !q.To.IsZero() {
		where = append(where, "d.service_date <= "+arg(q.To.Time())+"::date")
	}
	if q.Facility != "" {
		where = append(where, "d.facility = "+arg(q.Facility))
	}
	if q.BatchID > 0 {
		where = append(where, "d.batch_id = "+arg(q.BatchID))
	}
	check := false // each hit checked with Access.Document too
	if u := who.User; u != nil && !u.Role.Allows(users.Records) {
		if !u.Role.Allows(users.Indexer) || s.Access == nil {
			where = append(where, "false")
		} else {
			// users.Access.Document's rule, as a filter: the type-check
			// queue, or their own work within the window, or a
			// break-the-glass read within the hour. Every hit is checked
			// with Access.Document as well, which has the last word.
			now := time.Now()
			if s.Now != nil {
				now = s.Now()
			}
			where = append(where, `(d.doc_status = 'preliminary' OR EXISTS (SELECT 1 FROM document_events e
				WHERE e.document_id = d.id AND e.actor = `+arg(u.Name)+` AND (
					(e.at > `+arg(now.Add(-s.Access.Window()))+` AND e.event <> ALL(`+arg([]string{"viewed", "downloaded", users.EventBreakGlass})+`))
					OR (e.at > `+arg(now.Add(-users.BreakGlassFor))+` AND e.event = `+arg(users.EventBreakGlass)+`))))`)
			check = true
		}
	}
	filter := ""
	for _, w := range where {
		filter += "\n\t\t  AND " + w
	}
	// Only stop words ("the", "and"): nothing to search for.
	var nodes int
	var text string
	if err := s.Pool.QueryRow(ctx, `SELECT numnode(q), q::text FROM (SELECT `+tsquery+` AS q) x`, p.web, prefix).Scan(&nodes, &text); err != nil {
		return Result{}, fmt.Errorf("read the search words: %w", err)
	}
	if nodes == 0 {
		return Result{}, ErrEmptyQuery
	}
	// The candidates: the newest matching documents, at most ranked+1 of
	// them (one more says there are more), read from the GIN index without
	// ranking (document_id + 0: not in the primary key's order, which
	// would read every document's tsvector when few match); then the best
	// of them by rank. Ranking reads each candidate's whole tsvector, so
	// ranking every match of a common word would take time in proportion
	// to the archive. A phrase ("chest pain", follow-up) needs each
	// document's tsvector to check the words' positions: the newest
	// documents with all its words (at most wide) are found first, and the
	// phrase checked in those only.
	ranked := s.Ranked
	if ranked <= 0 {
		ranked = DefaultRanked
	}
	join := ""
	if filter != "" {
		join = `
		JOIN documents d ON d.id = sd.document_id
		LEFT JOIN patients pt ON pt.id = d.patient_id`
	}
	wide, cands := 0, ""
	if !strings.Contains(text, "<") || strings.Contains(text, "!") {
		cands = `
	cands AS (
		SELECT sd.document_id FROM q, search_documents sd` + join + `
		WHERE sd.tsv @@ q.q` + filter + `
		ORDER BY sd.document_id + 0 DESC LIMIT ` + arg(ranked+1) + `
	)`
	} else {
		wide = 3 * ranked
		loose := phraseOps.ReplaceAllString(text, "&")
		cands = `
	loose AS (
		SELECT sd.document_id FROM q, search_documents sd` + join + `
		WHERE sd.tsv @@ ` + arg(loose) + `::tsquery` + filter + `
		ORDER BY sd.document_id + 0 DESC LIMIT ` + arg(wide) + `
	),
	cands AS (
		SELECT sd.document_id FROM q, loose JOIN search_documents sd ON sd.document_id = loose.document_id
		WHERE ts_match_vq(sd.tsv, q.q) -- @@, but not through the index: only loose's documents are read
		ORDER BY sd.document_id DESC LIMIT ` + arg(ranked+1) + `
	)`
	}
	sql := `
	WITH q AS (SELECT ` + tsquery + ` AS q),` + cands + `,
	docs AS (
		SELECT c.document_id, ts_rank_cd(sd.tsv, q.q) AS rank, (SELECT count(*) FROM cands) AS total,
		       ` + wideFull(wide) + ` AS wide_full
		FROM q, (SELECT document_id FROM cands ORDER BY document_id DESC LIMIT ` + arg(ranked) + `) c
		JOIN search_documents sd ON sd.document_id = c.document_id
		ORDER BY rank DESC, c.document_id DESC LIMIT ` + arg(limit) + `
	)
	SELECT docs.document_id, d.batch_id, best.page, best.page_no, matched.pages, cardinality(d.pages), coalesce(d.patient_id, 0),
	       coalesce(pt.mrn, ''), d.type, d.title, d.service_date, d.facility, docs.rank, docs.total, docs.wide_full, ` + headline + `
	FROM docs CROSS JOIN q
	JOIN documents d ON d.id = docs.document_id
	LEFT JOIN patients pt ON pt.id = d.patient_id
	-- The best page: one that matches the whole query, else the one
	-- ranked highest (the words are on different pages).
	CROSS JOIN LATERAL (SELECT sp.page, sp.page_no FROM search_pages sp WHERE sp.document_id = docs.document_id
		ORDER BY sp.tsv @@ q.q DESC, ts_rank_cd(sp.tsv, q.q) DESC, sp.page LIMIT 1) best
	CROSS JOIN LATERAL (SELECT coalesce(array_agg(sp.page ORDER BY sp.page), ARRAY[best.page]) AS pages
		FROM search_pages sp WHERE sp.document_id = docs.document_id AND sp.tsv @@ q.q) matched
	JOIN pages p ON p.batch_id = d.batch_id AND p.page_no = best.page_no
	ORDER BY docs.rank DESC, docs.document_id DESC`
	// A read-only transaction without JIT compilation: the planner's cost
	// of a common word's candidates makes PostgreSQL compile the query,
	// which takes longer than running it (seconds at a million pages).
	tx, err := s.Pool.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly})
	if err != nil {
		return Result{}, fmt.Errorf("search documents: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	// And never a sequential scan of the tsvectors: the planner takes one
	// for words in most documents, which reads every document's tsvector.
	if _, err := tx.Exec(ctx, `SET LOCAL jit = off; SET LOCAL enable_seqscan = off`); err != nil {
		return Result{}, fmt.Errorf("search documents: %w", err)
	}
	rows, err := tx.Query(ctx, sql, args...)
	if err != nil {
		return Result{}, fmt.Errorf("search documents: %w", err)
	}
	var res Result
	for rows.Next() {
		var h Hit
		var date *time.Time
		var rank float32
		var total int64
		var wideFull bool
		var snippet string
		var mrn string
		if err := rows.Scan(&h.DocumentID, &h.BatchID, &h.Page, &h.BatchPage, &h.Pages, &h.PageCount, &h.PatientID,
			&mrn, &h.Type, &h.Title, &date, &h.Facility, &rank, &total, &wideFull, &snippet); err != nil {
			rows.Close()
			return Result{}, fmt.Errorf("read search hits: %w", err)
		}
		h.MRN, h.Rank, h.Snippet = chart.MRN(mrn), float64(rank), spans(snippet)
		if date != nil {
			h.ServiceDate = chart.DateOf(*date)
		}
		res.Total = int(total)
		if res.Total > ranked {
			res.Total, res.More = ranked, true
		}
		if wideFull {
			res.More = true // older documents with the words were not looked at
		}
		res.Hits = append(res.Hits, h)
	}
	if err := rows.Err(); err != nil {
		return Result{}, fmt.Errorf("read search hits: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return Result{}, fmt.Errorf("search documents: %w", err)
	}
	if check {
		kept := res.Hits[:0]
		for _, h := range res.Hits {
			basis, err := s.Access.Document(ctx, *who.User, h.DocumentID)
			if err != nil {
				return Result{}, fmt.Errorf("check access to a search hit: %w", err)
			}
			if basis != "" {
				kept = append(kept, h)
			} else {
				res.Total--
			}
		}
		res.Hits = kept
	}
	if res.Hits == nil {
		res.Hits = []Hit{}
	}
	if err := s.audit(ctx, who, q, res); err != nil {
		return Result{}, err
	}
	return res, nil
}

// audit records the search: who, the query text and filters, the
// documents found.
func (s *Searcher) audit(ctx context.Context, who Who, q Query, res Result) error {
	if s.Audit == nil {
		return nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "q=%q", strings.TrimSpace(q.Text))
	if q.PatientID > 0 {
		fmt.Fprintf(&b, " patient=%d", q.PatientID)
	}
	if !q.MRN.IsZero() {
		fmt.Fprintf(&b, " mrn=%q", q.MRN.String())
	}
	for _, f := range []struct{ k, v string }{{"type", q.Type}, {"from", q.From.String()}, {"to", q.To.String()}, {"facility", q.Facility}} {
		if f.v != "" {
			fmt.Fprintf(&b, " %s=%q", f.k, f.v)
		}
	}
	if q.BatchID > 0 {
		fmt.Fprintf(&b, " batch=%d", q.BatchID)
	}
	more := ""
	if res.More {
		more = "+"
	}
	fmt.Fprintf(&b, "; %d%s found", res.Total, more)
	var patient *int64
	for i, h := range res.Hits {
		if i == 0 {
			b.WriteString(": DocumentReference/")
			pid := h.PatientID
			patient = &pid
		} else {
			b.WriteString(",")
			if patient != nil && *patient != h.PatientID {
				patient = nil
			}
		}
		b.WriteString(strconv.FormatInt(h.DocumentID, 10))
	}
	if len(res.Hits) == 0 {
		patient = nil
	}
	if q.PatientID > 0 {
		pid := q.PatientID
		patient = &pid
	}
	e := audit.Entry{Actor: who.Actor, Action: ActionSearch, Resource: "DocumentReference", PatientID: patient,
		Remote: who.Remote, Outcome: audit.OutcomeOK, Detail: b.String()}
	if len(res.Hits) == 1 {
		id := res.Hits[0].DocumentID
		e.DocumentID = &id
	}
	if _, err := s.Audit.Record(context.WithoutCancel(ctx), e); err != nil {
		return fmt.Errorf("audit document search: %w", err)
	}
	return nil
}

// phraseOps are a tsquery's phrase operators (<->, <N>), as its text
// writes them.
var phraseOps = regexp.MustCompile(`<[0-9]*->|<[0-9]+>`)

// wideFull is the SQL of "the phrase's first step found as many documents
// as it may": older ones were not looked at.
func wideFull(wide int) string {
	if wide == 0 {
		return "false"
	}
	return "(SELECT count(*) FROM loose) >= " + strconv.Itoa(wide)
}

// spans cuts ts_headline's answer at its marks.
func spans(h string) []Span {
	out := []Span{}
	mark := false
	for h != "" {
		sep := startSel
		if mark {
			sep = stopSel
		}
		before, after, found := strings.Cut(h, sep)
		// A stray sentinel cannot be in the text (translate removed them);
		// drop any of the other kind all the same.
		before = strings.NewReplacer(startSel, "", stopSel, "").Replace(before)
		if before != "" {
			out = append(out, Span{Text: before, Mark: mark})
		}
		if !found {
			break
		}
		h, mark = after, !mark
	}
	return out
}
