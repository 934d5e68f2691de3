// Package evaluate scores what the pipeline made of generated batches
// against their ground truth: document boundaries, types, and above all
// documents filed to the wrong patient. paperchart eval and the end-to-end
// tests use it.
package evaluate

import (
	"fmt"
	"io"
	"slices"
	"sort"
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
	MRN      string // the patient's MRN as the index holds it
}

// Batch is one generated batch and how it was cut by hand (the truth).
type Batch struct {
	ID     int64
	Sheets bool // the batch was scanned with a cover or separator sheet before every document
	Mixed  bool // some documents of the batch have a sheet, others none
	Pages  []TruthPage
}

// Doc is one document the pipeline made.
type Doc struct {
	BatchID    int64
	Pages      []int  // batch page numbers
	Filed      bool   // filed automatically
	PatientMRN string // MRN of the patient it was filed to ("" when not filed)
	Type       string // the type it was filed with or suggested for review
	Review     struct {
		Split, Type, Patient bool
	}
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
	WrongPatient          int   // filed documents with a page of another patient
	WrongPatientDocuments []Doc // those documents, for a person to look at
	Review                int
	ReviewSplit           int
	ReviewType            int
	ReviewPatient         int
}

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
			if d.Type == tt {
				r.TypeCorrect++
				hit[tt]++
			}
			if d.Filed {
				r.Filed++
				if wrongPatient(d, page) {
					r.WrongPatient++
					r.WrongPatientDocuments = append(r.WrongPatientDocuments, d)
				}
			} else {
				r.Review++
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
	return r
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
	pf("auto-filed\t%.4f (%d/%d)\n", r.AutoFileRate(), r.Filed, r.Documents)
	pf("wrong-patient auto-files\t%d (rate %.4f of filed)\n", r.WrongPatient, r.WrongPatientRate())
	pf("review queue\t%.4f (%d/%d; split %d, type %d, patient %d — a document may have several)\n",
		r.ReviewShare(), r.Review, r.Documents, r.ReviewSplit, r.ReviewType, r.ReviewPatient)
	if err := tw.Flush(); err != nil {
		return err
	}
	var lines []string
	for _, t := range r.Types {
		lines = append(lines, fmt.Sprintf("  %-18s support %3d  predicted %3d  precision %.3f  recall %.3f  F1 %.3f",
			t.Type, t.Support, t.Predicted, t.Precision, t.Recall, t.F1))
	}
	_, err := fmt.Fprintf(w, "per type:\n%s\n", strings.Join(lines, "\n"))
	return err
}
