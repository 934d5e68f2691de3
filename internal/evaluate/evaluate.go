// Package evaluate scores what the pipeline made of scanned batches against
// their ground truth: document boundaries, types, auto-filing, why documents
// were held, and above all documents filed to the wrong patient.
// paperchart eval and the end-to-end tests use it.
//
// # Corpus format
//
// A corpus is a folder that paperchart eval --corpus scores and paperchart
// gen --corpus writes, so that a hospital can measure paperchart on its own
// paper:
//
//	DIR/patients.csv  the patient index: the CSV paperchart patients import reads
//	                  (header mrn,family,given,birth_date,sex,address,city,postal_code,phone;
//	                  mrn and family required)
//	DIR/batches/      the scanned batches, one file per batch: .pdf, .tif, .tiff, .jpg,
//	                  .jpeg or .png (hidden files are ignored; no sub-folders)
//	DIR/truth.csv     one row per page of every batch, with the header
//	                  file,page,document,kind,type,mrn,conflict (columns in any order)
//
// The columns of truth.csv:
//
//	file      the batch's file name under batches/
//	page      1-based page in the file; every page of every file has one row
//	document  the document the page belongs to: any label unique within the file;
//	          empty for a sheet, or a blank page that belongs to no document.
//	          A document's pages follow each other (blank pages may lie between)
//	kind      empty for a content page, or cover, separator or blank
//	type      the document's type, a type code (classify.Types: discharge-summary,
//	          history-physical, ...) or its LOINC code (18842-5, ...); needed on
//	          content pages, the same on all pages of a document
//	mrn       the true patient's MRN as in patients.csv; empty when the patient
//	          is not in the index; the same on all pages of a document
//	conflict  "yes" when the document prints an identifier pointing to another
//	          person (another facility's MRN that belongs to someone else in the
//	          index, ...); else empty
//
// type, mrn and conflict are ignored on sheet and blank rows. A batch counts as
// scanned with sheets when it holds cover or separator sheets and every
// document but the first has one just before it (blank pages aside); with
// sheets on some documents when it holds sheets but some later document has
// none; without sheets when it holds none.
//
// LoadCorpus and ParseTruth check all of it and say what is wrong by line or
// file name, never with an MRN or a document label.
package evaluate

import (
	"encoding/csv"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
)

// TruthPage is the ground truth of one page of a batch.
type TruthPage struct {
	No       int    // 1-based page number in the batch
	Document int    // 1-based document number; 0 for blank pages
	Sheet    bool   // a cover or separator sheet: not a page of any document
	Blank    bool   // a blank sheet
	Type     string // document type code
	MRN      string // the patient's MRN as the index holds it; "" when the index does not hold the patient
	// Conflict: the document prints an identifier pointing to another
	// person of the index (another facility's MRN that is someone else's,
	// ...).
	Conflict bool
	Line     int // the page's line in truth.csv; 0 when not read from one
}

// Batch is one batch and how it was cut by hand (the truth).
type Batch struct {
	ID     int64
	Sheets bool // the batch was scanned with a cover or separator sheet before every document
	Mixed  bool // some documents of the batch have a sheet, others none
	Pages  []TruthPage
}

// Doc is one document the pipeline made.
type Doc struct {
	BatchID int64
	Pages   []int // batch page numbers
	Filed   bool  // filed automatically
	// Preliminary is set on a filed document whose type waits for a
	// person's check (filed under its sure patient with a doubtful type).
	Preliminary bool
	PatientMRN  string // MRN of the patient it was filed to ("" when not filed)
	Type        string // the type it was filed with or suggested for review
	Review      struct {
		Split, Type, Patient bool
	}
	// ReviewReasons are the plain-language reasons stored with the
	// document, why it was held for review.
	ReviewReasons []string
}

// Boundaries counts document starts found against the truth.
type Boundaries struct {
	TruePositive, FalsePositive, FalseNegative int
}

// Precision is TP/(TP+FP); 1 when nothing was predicted.
func (b Boundaries) Precision() float64 { return ratio(b.TruePositive, b.TruePositive+b.FalsePositive) }

// Recall is TP/(TP+FN); 1 when there was nothing to find.
func (b Boundaries) Recall() float64 { return ratio(b.TruePositive, b.TruePositive+b.FalseNegative) }

// F1 is the harmonic mean of precision and recall.
func (b Boundaries) F1() float64 {
	p, r := b.Precision(), b.Recall()
	if p+r == 0 {
		return 0
	}
	return 2 * p * r / (p + r)
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 1
	}
	return float64(a) / float64(b)
}

// TypeScore is one type's precision, recall and F1.
type TypeScore struct {
	Type                    string
	Support                 int // documents of this type in the truth
	Precision, Recall, F1   float64
	TruePositive, Predicted int
}

// Report is the evaluation of a run.
type Report struct {
	Batches, Pages        int
	TruthDocuments        int
	Documents             int // documents the pipeline made
	BoundariesWithSheets  Boundaries
	BoundariesNoSheets    Boundaries
	BoundariesMixed       Boundaries
	DocumentsWithSheets   int
	DocumentsNoSheets     int
	DocumentsMixed        int
	TypeCorrect           int
	TypeMacroF1           float64
	Types                 []TypeScore
	Filed                 int
	FiledPreliminary      int   // of Filed, those whose type waits for a check (type-check queue)
	WrongPatient          int   // filed documents with a page of another patient
	WrongPatientDocuments []Doc // those documents, for a person to look at
	Review                int
	ReviewSplit           int
	ReviewType            int
	ReviewPatient         int

	// Confusion counts documents by truth type and by the type they were
	// given.
	Confusion Confusion
	// InIndex counts the documents whose patient is in the index and that
	// carry no conflicting identifier (by the truth document holding most
	// of their pages): those that should all file themselves.
	// InIndexFiled counts those that did.
	InIndex, InIndexFiled int
	// Conflicting counts the documents with a conflicting identifier (as
	// InIndex), ConflictingFiled those of them filed.
	Conflicting, ConflictingFiled int
	// NotInIndex counts the documents of patients the index does not hold
	// (as InIndex); any of them filed is filed to a wrong patient.
	NotInIndex, NotInIndexFiled int
	// WrongPatientConflict counts the wrong-patient filings of documents
	// with a page marked conflict; WrongPatientNotInIndex those with a page
	// of a patient the index does not hold; WrongPatientOther the rest
	// (every page of patients in the index, none marked conflict: those a
	// person would least expect). WrongPatient counts them all.
	WrongPatientConflict, WrongPatientNotInIndex, WrongPatientOther int
	// Held counts the held documents by kind of reason (ReasonKind); a
	// document held for several kinds of reason counts under each, once.
	Held map[string]int
	// HeldInIndex counts as Held the held documents of InIndex: what kept
	// documents that should have filed themselves from doing so.
	HeldInIndex map[string]int
	// Outcomes is what became of each document the pipeline made, in batch
	// and page order (WriteOutcomes writes them as CSV).
	Outcomes []Outcome `json:"-"`
}

// Outcome is what became of one document the pipeline made, for a person
// looking into a run: which truth document it mostly holds, its types,
// and whether it was filed, and if not, why.
type Outcome struct {
	BatchID   int64
	Pages     []int  // batch page numbers
	Document  int    // the truth document holding most of its pages; 0 for none
	TruthType string // that document's type
	Type      string // the type it was given
	// Patient is the truth document's patient: PatientInIndex,
	// PatientConflict, PatientNotInIndex or "" (no truth document).
	Patient string
	// Result is ResultFiled, ResultPreliminary, ResultWrongPatient or
	// ResultHeld.
	Result string
	// Reasons are the kinds of reason it was held for (ReasonKind); Why
	// the reasons themselves, as the workstation shows them.
	Reasons, Why []string
}

// Outcome.Patient and Outcome.Result values.
const (
	PatientInIndex     = "in-index"
	PatientConflict    = "conflict"
	PatientNotInIndex  = "not-in-index"
	ResultFiled        = "filed"
	ResultPreliminary  = "filed-type-unconfirmed"
	ResultWrongPatient = "filed-WRONG-PATIENT"
	ResultHeld         = "held"
)

// Confusion is a confusion matrix of document types.
type Confusion struct {
	Types  []string // labels of rows (truth) and columns (given); "" is no type
	Counts [][]int  // Counts[i][j]: documents of truth type Types[i] given type Types[j]
}

// Count returns the documents of truth type truth given type given.
func (c Confusion) Count(truth, given string) int {
	i, j := slices.Index(c.Types, truth), slices.Index(c.Types, given)
	if i < 0 || j < 0 {
		return 0
	}
	return c.Counts[i][j]
}

// Total is the number of documents in the matrix.
func (c Confusion) Total() int {
	n := 0
	for _, row := range c.Counts {
		for _, v := range row {
			n += v
		}
	}
	return n
}

// InIndexAutoFileRate is the share of the documents of patients in the
// index with no conflicting identifier that filed themselves: the goal is
// at least 95%.
func (r Report) InIndexAutoFileRate() float64 { return ratio(r.InIndexFiled, r.InIndex) }

// TypeAccuracy is the share of documents whose type is the truth's.
func (r Report) TypeAccuracy() float64 { return ratio(r.TypeCorrect, r.Documents) }

// AutoFileRate is the share of documents that filed themselves.
func (r Report) AutoFileRate() float64 { return ratio(r.Filed, r.Documents) }

// ReviewShare is the share of documents left for a person.
func (r Report) ReviewShare() float64 { return ratio(r.Review, r.Documents) }

// WrongPatientRate is the share of filed documents filed to a wrong patient.
func (r Report) WrongPatientRate() float64 {
	if r.Filed == 0 {
		return 0
	}
	return float64(r.WrongPatient) / float64(r.Filed)
}

// starts returns the first content page of every truth document but the
// batch's first.
func (b Batch) starts() (map[int]bool, int) {
	first := map[int]int{}
	var order []int
	for _, p := range b.Pages {
		if p.Sheet || p.Blank || p.Document == 0 {
			continue
		}
		if _, ok := first[p.Document]; !ok {
			first[p.Document] = p.No
			order = append(order, p.Document)
		}
	}
	out := map[int]bool{}
	firstPage := -1
	for _, d := range order {
		if firstPage < 0 || first[d] < firstPage {
			firstPage = first[d]
		}
	}
	for _, d := range order {
		if first[d] != firstPage {
			out[first[d]] = true
		}
	}
	return out, len(order)
}

// Score compares the pipeline's documents with the truth.
func Score(batches []Batch, docs []Doc) Report {
	var r Report
	byBatch := map[int64][]Doc{}
	for _, d := range docs {
		byBatch[d.BatchID] = append(byBatch[d.BatchID], d)
	}
	truthType := map[string]int{}
	predType := map[string]int{}
	hit := map[string]int{}
	confusion := map[[2]string]int{}
	r.Held = map[string]int{}
	r.HeldInIndex = map[string]int{}
	for _, b := range batches {
		r.Batches++
		r.Pages += len(b.Pages)
		page := map[int]TruthPage{}
		for _, p := range b.Pages {
			page[p.No] = p
		}
		want, n := b.starts()
		r.TruthDocuments += n
		ds := byBatch[b.ID]
		sort.Slice(ds, func(i, j int) bool { return firstOf(ds[i]) < firstOf(ds[j]) })
		bd := &r.BoundariesNoSheets
		switch {
		case b.Sheets:
			bd = &r.BoundariesWithSheets
			r.DocumentsWithSheets += n
		case b.Mixed:
			bd = &r.BoundariesMixed
			r.DocumentsMixed += n
		default:
			r.DocumentsNoSheets += n
		}
		got := map[int]bool{}
		for i, d := range ds {
			if i > 0 && len(d.Pages) > 0 {
				got[d.Pages[0]] = true
			}
		}
		for p := range got {
			if want[p] {
				bd.TruePositive++
			} else {
				bd.FalsePositive++
			}
		}
		for p := range want {
			if !got[p] {
				bd.FalseNegative++
			}
		}
		for _, d := range ds {
			r.Documents++
			tt := majorityType(d, page)
			truthType[tt]++
			predType[d.Type]++
			confusion[[2]string{tt, d.Type}]++
			if d.Type == tt {
				r.TypeCorrect++
				hit[tt]++
			}
			out := Outcome{BatchID: b.ID, Pages: d.Pages, TruthType: tt, Type: d.Type, Result: ResultHeld}
			if td, ok := majorityDocument(d, page); ok {
				out.Document = td.Document
				switch {
				case td.Conflict:
					out.Patient = PatientConflict
					r.Conflicting++
					if d.Filed {
						r.ConflictingFiled++
					}
				case td.MRN == "":
					out.Patient = PatientNotInIndex
					r.NotInIndex++
					if d.Filed {
						r.NotInIndexFiled++
					}
				default:
					out.Patient = PatientInIndex
					r.InIndex++
					if d.Filed {
						r.InIndexFiled++
					}
				}
			}
			if d.Filed {
				r.Filed++
				out.Result = ResultFiled
				if d.Preliminary {
					r.FiledPreliminary++
					out.Result = ResultPreliminary
				}
				if wrongPatient(d, page) {
					out.Result = ResultWrongPatient
					r.WrongPatient++
					r.WrongPatientDocuments = append(r.WrongPatientDocuments, d)
					conflict, unknown := pageFlags(d, page)
					switch {
					case conflict:
						r.WrongPatientConflict++
					case unknown:
						r.WrongPatientNotInIndex++
					default:
						r.WrongPatientOther++
					}
				}
			} else {
				r.Review++
				out.Reasons, out.Why = ReasonKinds(d.ReviewReasons), d.ReviewReasons
				for _, k := range out.Reasons {
					r.Held[k]++
					if out.Patient == PatientInIndex {
						r.HeldInIndex[k]++
					}
				}
				if d.Review.Split {
					r.ReviewSplit++
				}
				if d.Review.Type {
					r.ReviewType++
				}
				if d.Review.Patient {
					r.ReviewPatient++
				}
			}
			r.Outcomes = append(r.Outcomes, out)
		}
	}
	var types []string
	for t := range truthType {
		types = append(types, t)
	}
	for t := range predType {
		if _, ok := truthType[t]; !ok {
			types = append(types, t)
		}
	}
	slices.Sort(types)
	sum := 0.0
	for _, t := range types {
		ts := TypeScore{Type: t, Support: truthType[t], TruePositive: hit[t], Predicted: predType[t]}
		// A type never predicted has precision 0, one absent from the
		// truth recall 0 (scikit-learn's zero_division=0).
		if predType[t] > 0 {
			ts.Precision = float64(hit[t]) / float64(predType[t])
		}
		if truthType[t] > 0 {
			ts.Recall = float64(hit[t]) / float64(truthType[t])
		}
		if ts.Precision+ts.Recall > 0 {
			ts.F1 = 2 * ts.Precision * ts.Recall / (ts.Precision + ts.Recall)
		}
		r.Types = append(r.Types, ts)
		sum += ts.F1
	}
	if len(types) > 0 {
		r.TypeMacroF1 = sum / float64(len(types))
	}
	r.Confusion = Confusion{Types: types, Counts: make([][]int, len(types))}
	for i, t := range types {
		r.Confusion.Counts[i] = make([]int, len(types))
		for j, g := range types {
			r.Confusion.Counts[i][j] = confusion[[2]string{t, g}]
		}
	}
	return r
}

// majorityDocument is the first page of the truth document that holds most
// of a document's content pages (the earliest one on a tie); false when it
// has none.
func majorityDocument(d Doc, page map[int]TruthPage) (TruthPage, bool) {
	count := map[int]int{}
	var best TruthPage
	bestN := 0
	for _, no := range d.Pages {
		p, ok := page[no]
		if !ok || p.Sheet || p.Blank || p.Document == 0 {
			continue
		}
		count[p.Document]++
		if n := count[p.Document]; n > bestN || (n == bestN && p.Document < best.Document) {
			best, bestN = p, n
		}
	}
	return best, bestN > 0
}

// pageFlags says whether any content page of a document is marked conflict,
// and whether any belongs to a patient the index does not hold.
func pageFlags(d Doc, page map[int]TruthPage) (conflict, notInIndex bool) {
	for _, no := range d.Pages {
		p, ok := page[no]
		if !ok || p.Sheet || p.Blank || p.Document == 0 {
			continue
		}
		conflict = conflict || p.Conflict
		notInIndex = notInIndex || p.MRN == ""
	}
	return conflict, notInIndex
}

func firstOf(d Doc) int {
	if len(d.Pages) == 0 {
		return 1 << 30
	}
	return d.Pages[0]
}

// majorityType is the truth type of most of a document's pages.
func majorityType(d Doc, page map[int]TruthPage) string {
	count := map[string]int{}
	best, bestN := "", 0
	for _, no := range d.Pages {
		t := page[no].Type
		if t == "" {
			continue
		}
		count[t]++
		if count[t] > bestN {
			best, bestN = t, count[t]
		}
	}
	return best
}

// wrongPatient reports whether any page of a filed document belongs to
// another patient than the one it was filed to.
func wrongPatient(d Doc, page map[int]TruthPage) bool {
	for _, no := range d.Pages {
		p := page[no]
		if p.Blank || p.Sheet || p.Document == 0 {
			continue
		}
		if p.MRN != d.PatientMRN {
			return true
		}
	}
	return false
}

// Print writes the report for people.
func (r Report) Print(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	pf := func(format string, a ...any) { fmt.Fprintf(tw, format, a...) }
	pf("batches\t%d\n", r.Batches)
	pf("pages\t%d\n", r.Pages)
	pf("documents (truth / made)\t%d / %d\n", r.TruthDocuments, r.Documents)
	for _, g := range []struct {
		name string
		b    Boundaries
		n    int
	}{{"without sheets", r.BoundariesNoSheets, r.DocumentsNoSheets}, {"with a cover or separator sheet on every document", r.BoundariesWithSheets, r.DocumentsWithSheets},
		{"with sheets on some documents", r.BoundariesMixed, r.DocumentsMixed}} {
		pf("boundaries %s (%d documents)\tprecision %.4f  recall %.4f  F1 %.4f  (TP %d, FP %d, FN %d)\n",
			g.name, g.n, g.b.Precision(), g.b.Recall(), g.b.F1(), g.b.TruePositive, g.b.FalsePositive, g.b.FalseNegative)
	}
	pf("type accuracy\t%.4f (%d/%d)\n", r.TypeAccuracy(), r.TypeCorrect, r.Documents)
	pf("type macro-F1\t%.4f\n", r.TypeMacroF1)
	pf("auto-filed\t%.4f (%d/%d; %d of them with the type left for a check)\n", r.AutoFileRate(), r.Filed, r.Documents, r.FiledPreliminary)
	pf("auto-filed, patient in the index and no conflicting identifier\t%.4f (%d/%d; goal ≥ 0.95)\n", r.InIndexAutoFileRate(), r.InIndexFiled, r.InIndex)
	pf("auto-filed, patient not in the index\t%d/%d (each one filed to a wrong patient)\n", r.NotInIndexFiled, r.NotInIndex)
	pf("auto-filed, conflicting identifier\t%d/%d\n", r.ConflictingFiled, r.Conflicting)
	pf("wrong-patient auto-files\t%d (rate %.4f of filed; %d with a conflicting identifier, %d of patients not in the index, %d other)\n",
		r.WrongPatient, r.WrongPatientRate(), r.WrongPatientConflict, r.WrongPatientNotInIndex, r.WrongPatientOther)
	pf("review queue\t%.4f (%d/%d; split %d, type %d, patient %d — a document may have several)\n",
		r.ReviewShare(), r.Review, r.Documents, r.ReviewSplit, r.ReviewType, r.ReviewPatient)
	if err := tw.Flush(); err != nil {
		return err
	}
	var b strings.Builder
	b.WriteString("per type:\n")
	for _, t := range r.Types {
		fmt.Fprintf(&b, "  %-18s support %3d  predicted %3d  precision %.3f  recall %.3f  F1 %.3f\n",
			label(t.Type), t.Support, t.Predicted, t.Precision, t.Recall, t.F1)
	}
	if len(r.Confusion.Types) > 0 {
		b.WriteString("confusion of types (rows: truth; columns: given, numbered as the rows):\n")
		fmt.Fprintf(&b, "  %-22s", "")
		for j := range r.Confusion.Types {
			fmt.Fprintf(&b, " %4d", j+1)
		}
		b.WriteString("\n")
		for i, t := range r.Confusion.Types {
			fmt.Fprintf(&b, "  %2d %-19s", i+1, label(t))
			for _, v := range r.Confusion.Counts[i] {
				if v == 0 {
					fmt.Fprintf(&b, " %4s", ".")
				} else {
					fmt.Fprintf(&b, " %4d", v)
				}
			}
			b.WriteString("\n")
		}
	}
	if len(r.Held) > 0 {
		b.WriteString("why documents were held for review (a document may have several kinds of reason):\n")
		kinds := make([]string, 0, len(r.Held))
		for k := range r.Held {
			kinds = append(kinds, k)
		}
		slices.SortFunc(kinds, func(a, b string) int {
			if r.Held[a] != r.Held[b] {
				return r.Held[b] - r.Held[a]
			}
			return strings.Compare(a, b)
		})
		for _, k := range kinds {
			fmt.Fprintf(&b, "  %4d  %s  (%d of them of patients in the index, no conflict)\n", r.Held[k], k, r.HeldInIndex[k])
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// OutcomesHeader is the header row WriteOutcomes writes.
var OutcomesHeader = []string{"file", "pages", "document", "truth_type", "type", "patient", "result", "reasons", "why"}

// WriteOutcomes writes the report's outcomes as CSV, one row per document
// the pipeline made: the batch's file (fileOf maps batch IDs to file
// names), its pages ("3-5", or "3,5" when not contiguous), the truth
// document label (labelOf maps a batch ID and truth document number to
// it), the truth and given types, the kind of patient, the result and the
// kinds of reason it was held for (";"-separated) and the reasons as the
// workstation words them (" | "-separated). It holds no patient data
// beyond the corpus's own labels: reasons never carry any.
func WriteOutcomes(w io.Writer, r Report, fileOf func(int64) string, labelOf func(int64, int) string) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(OutcomesHeader); err != nil {
		return fmt.Errorf("write outcomes: %w", err)
	}
	for _, o := range r.Outcomes {
		doc := ""
		if o.Document > 0 {
			doc = labelOf(o.BatchID, o.Document)
		}
		if err := cw.Write([]string{fileOf(o.BatchID), pageRanges(o.Pages), doc, o.TruthType, o.Type, o.Patient, o.Result, strings.Join(o.Reasons, ";"), strings.Join(o.Why, " | ")}); err != nil {
			return fmt.Errorf("write outcomes: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write outcomes: %w", err)
	}
	return nil
}

// pageRanges words page numbers as ranges: 1-3,5.
func pageRanges(pages []int) string {
	var parts []string
	for i := 0; i < len(pages); {
		j := i
		for j+1 < len(pages) && pages[j+1] == pages[j]+1 {
			j++
		}
		if j > i {
			parts = append(parts, fmt.Sprintf("%d-%d", pages[i], pages[j]))
		} else {
			parts = append(parts, strconv.Itoa(pages[i]))
		}
		i = j + 1
	}
	return strings.Join(parts, ",")
}

// label is how a type code is printed; "" is no type.
func label(t string) string {
	if t == "" {
		return "(none)"
	}
	return t
}
