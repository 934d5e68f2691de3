package filing

import (
	"testing"

	"paperchart/chart"
	"paperchart/separate"
	"paperchart/storage"
)

// TestOneChart: documents held only for a doubtful boundary between them
// are filed when they all go to one sure patient, and in no other case.
func TestOneChart(t *testing.T) {
	sep, err := separate.New(separate.Config{})
	if err != nil {
		t.Fatal(err)
	}
	f := &Filer{sep: sep}
	const doubt = 0.6 // under the separator's threshold
	type doc struct {
		start, inner, end float64
		leading           bool
		patient           int64 // 0: not sure
	}
	tests := []struct {
		name string
		docs []doc
		want []bool // filed
	}{
		{"one patient either side", []doc{{1, 1, doubt, false, 7}, {doubt, 1, 1, false, 7}}, []bool{true, true}},
		{"a run of three", []doc{{1, 1, doubt, false, 7}, {doubt, 1, doubt, false, 7}, {doubt, 1, 1, false, 7}}, []bool{true, true, true}},
		{"another patient after", []doc{{1, 1, doubt, false, 7}, {doubt, 1, 1, false, 8}}, []bool{false, false}},
		{"a patient not sure", []doc{{1, 1, doubt, false, 7}, {doubt, 1, 1, false, 0}}, []bool{false, false}},
		{"a doubt inside", []doc{{1, doubt, doubt, false, 7}, {doubt, 1, 1, false, 7}}, []bool{false, false}},
		{"the run's start in doubt too", []doc{{doubt, 1, doubt, false, 7}, {doubt, 1, 1, false, 7}}, []bool{false, false}},
		{"before the first sheet", []doc{{1, 1, doubt, true, 7}, {doubt, 1, 1, false, 7}}, []bool{false, false}},
		{"no doubt, nothing to do", []doc{{1, 1, 1, false, 0}}, []bool{false}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			parts := make([]separate.Document, len(tc.docs))
			docs := make([]storage.NewDocument, len(tc.docs))
			pds := make([]patientDecision, len(tc.docs))
			for i, d := range tc.docs {
				parts[i] = separate.Document{Pages: []int{i + 1}, StartConfidence: d.start, InnerConfidence: d.inner, EndConfidence: d.end,
					BeforeFirstSheet: d.leading}
				parts[i].Confidence = d.start * d.inner * d.end
				docs[i] = storage.NewDocument{Pages: parts[i].Pages, Type: "operative-report", State: storage.DocReview,
					SplitReview: parts[i].Confidence < sep.Threshold() || d.leading, ReviewReasons: []string{splitDoubt + ": page 2 may continue it"}}
				id := d.patient
				if id == 0 {
					id = 9
				}
				pds[i] = patientDecision{candidates: chart.Candidates{{PatientID: id, Probability: 0.999}}, sure: d.patient != 0}
				if !docs[i].SplitReview && pds[i].sure {
					docs[i].State = storage.DocFiled
				}
			}
			f.oneChart(parts, docs, pds)
			for i, d := range docs {
				filed := d.State == storage.DocFiled
				if filed != tc.want[i] {
					t.Errorf("document %d: %s, want filed %v", i+1, d.State, tc.want[i])
				}
				if filed && tc.want[i] && (d.PatientID == nil || *d.PatientID != tc.docs[i].patient || !d.SplitReview || len(d.ReviewReasons) != 0) {
					t.Errorf("document %d: patient %v, split_review %v, reasons %q", i+1, d.PatientID, d.SplitReview, d.ReviewReasons)
				}
			}
		})
	}
}
