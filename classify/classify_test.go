package classify_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"sync"
	"testing"

	"paperchart/classify"
	"paperchart/scangen"
)

func TestTypes(t *testing.T) {
	loinc := regexp.MustCompile(`^\d{4,5}-\d$`)
	tests := []struct{ code, loinc string }{
		{classify.DischargeSummary, "18842-5"}, {classify.ProgressNote, "11506-3"}, {classify.HistoryPhysical, "34117-2"},
		{classify.ConsultNote, "11488-4"}, {classify.OperativeReport, "11504-8"}, {classify.LabReport, "11502-2"},
		{classify.PathologyReport, "11526-1"}, {classify.ImagingReport, "18748-4"}, {classify.MedicationList, "10160-0"},
		{classify.ReferralLetter, "57133-1"}, {classify.ConsentForm, "59284-0"}, {classify.InsuranceCard, "64290-0"},
		{classify.Correspondence, "51852-2"}, {classify.Other, "51851-4"},
	}
	if n := len(classify.Types()); n != len(tests) {
		t.Fatalf("%d types, want %d", n, len(tests))
	}
	for _, tt := range tests {
		ty, ok := classify.Lookup(tt.code)
		if !ok || ty.LOINC != tt.loinc || !loinc.MatchString(ty.LOINC) || ty.Name == "" || ty.Display == "" {
			t.Errorf("Lookup(%q) = %+v, %v; want LOINC %s", tt.code, ty, ok, tt.loinc)
		}
	}
	if _, ok := classify.Lookup("nonsense"); ok {
		t.Error("Lookup of an unknown code succeeded")
	}
	// The generator labels documents with exactly these codes.
	gen := scangen.DocumentTypes()
	for i, ty := range classify.Types() {
		if i >= len(gen) || gen[i] != ty.Code {
			t.Fatalf("scangen.DocumentTypes() = %v, classify types differ at %d (%s)", gen, i, ty.Code)
		}
	}
}

// corpus returns generated documents as training input.
func labelled(docs []scangen.LabelledDoc) []classify.Labelled {
	out := make([]classify.Labelled, len(docs))
	for i, d := range docs {
		out[i] = classify.Labelled{Type: d.Type, Text: d.Text}
	}
	return out
}

// trained is a model trained once for the tests on corpus seed 11.
var trained = sync.OnceValues(func() (*classify.Model, classify.Report) {
	m, rep, err := classify.Train(labelled(scangen.NoisyCorpus(11, 120, 0.03)), classify.TrainOptions{Seed: 11, Buckets: 1 << 17})
	if err != nil {
		panic(err)
	}
	return m, rep
})

// TestHeldOutSeed trains on one generated corpus and evaluates on an
// independent one (another seed) with OCR noise: the acceptance figures of
// the classifier.
func TestHeldOutSeed(t *testing.T) {
	m, rep := trained()
	t.Logf("training: %d docs, held-out accuracy %.4f macro-F1 %.4f, ECE %.4f -> %.4f (T %.3f, title bonus %.2f), threshold %.3f, %s",
		rep.Docs, rep.HeldOut.Accuracy, rep.HeldOut.MacroF1, rep.ECEBefore, rep.ECEAfter, rep.Temperature, rep.TitleBonus, rep.Threshold, rep.Elapsed)
	e, err := m.Evaluate(labelled(scangen.NoisyCorpus(97, 40, 0.04)))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("independent seed: %d docs, accuracy %.4f, macro-F1 %.4f, ECE %.4f, %.1f%% above threshold with %.2f%% of them right, titles recognised %.1f%%\n%s",
		e.Docs, e.Accuracy, e.MacroF1, e.ECE, 100*e.Coverage, 100*e.AcceptedAccuracy, 100*e.TitleMatched, e.ConfusionTable())
	if e.MacroF1 < 0.9 {
		t.Errorf("macro-F1 %.4f, want at least 0.9", e.MacroF1)
	}
	if e.ECE > 0.05 {
		t.Errorf("ECE %.4f after calibration, want at most 0.05", e.ECE)
	}
	if rep.ECEAfter > 0.05 {
		t.Errorf("held-out ECE %.4f after calibration, want at most 0.05", rep.ECEAfter)
	}
	if e.AcceptedAccuracy < 0.98 {
		t.Errorf("accuracy above the threshold %.4f, want at least 0.98", e.AcceptedAccuracy)
	}
}

func TestTitleRules(t *testing.T) {
	m, _ := trained()
	body := "Patient: DOE, JANE  MRN: 00123456\nDate of Service: 03/14/2024\n"
	tests := []struct {
		title string
		want  string // "" means no rule may match
	}{
		{"DISCHARGE SUMMARY", classify.DischargeSummary},
		{"D1SCHARGE SUMMARY", classify.DischargeSummary}, // 1 for I
		{"DISCHARGE SUMMAPY", classify.DischargeSummary}, // P for R
		{"0PERATIVE REP0RT", classify.OperativeReport},   // 0 for O
		{"OPERATlVE REPORT", classify.OperativeReport},   // l for I
		{"HISTORY AND PHYSlCAL", classify.HistoryPhysical},
		{"SURGICAL PATH0LOGY REPORT", classify.PathologyReport},
		{"CT ABDOMEN AND PELVIS WITH CONTRAST", classify.ImagingReport},
		{"lNFORMED C0NSENT", classify.ConsentForm},
		{"CARDIOLOGY CONSULTATI0N", classify.ConsultNote},
		{"C0PY OF INSURANCE CARD", classify.InsuranceCard},
		{"FACSIMILE TRANSMITTAL", classify.Other},
		{"LABORATORY REP0RT", classify.LabReport},
		{"MEDICATI0N LIST", classify.MedicationList},
		{"PR0GRESS NOTE", classify.ProgressNote},
		{"Community Health and Hospitals: History & Physical", classify.HistoryPhysical}, // a facility, then the title
		{"Riverbend Radiology: CT HEAD WITHOUT CONTRAST", classify.ImagingReport},
		{"Re: Consultation", ""},       // a letter's subject line, not a title
		{"Name: Operative Report", ""}, // one word before the colon: a field label
		{"FAKS", ""},                   // too short to tolerate errors
		{"HOSPITAL COURSE:", ""},       // a section heading
		{"RIVERBEND COMMUNITY HOSPITAL", ""},
	}
	for _, tt := range tests {
		t.Run(tt.title, func(t *testing.T) {
			p := m.Predict("RIVERBEND COMMUNITY HOSPITAL\n" + tt.title + "\n" + body)
			got := ""
			if p.TitleMatched {
				got = p.Title
			}
			if got != tt.want {
				t.Errorf("title rule found %q, want %q", got, tt.want)
			}
		})
	}
}

// TestDefaultModel checks the shipped model loads with this build and
// classifies fresh generated documents of every type (noisy text from a
// seed no model was trained on) as well as when it was trained: a model left
// stale by a change to the features or the generator fails here.
func TestDefaultModel(t *testing.T) {
	m, err := classify.Default()
	if err != nil {
		t.Fatalf("the shipped model does not load; regenerate it (see package doc): %v", err)
	}
	meta := m.Meta()
	t.Logf("default model: %s, trained %s; held-out accuracy %.4f, threshold %.3f", meta.Source, meta.TrainedAt, meta.Report.Accuracy, m.Threshold())
	const perType = 30
	docs := scangen.NoisyCorpus(123456, perType, 0.03)
	right := map[string]int{}
	for _, d := range docs {
		p := m.Predict(d.Text)
		if p.Type == d.Type {
			right[d.Type]++
		}
		if len(p.Ranked) != len(classify.Types()) || p.Probability < 0 || p.Probability > 1 {
			t.Fatalf("malformed prediction %+v", p)
		}
	}
	total := 0
	for _, ty := range classify.Types() {
		total += right[ty.Code]
		if r := float64(right[ty.Code]) / perType; r < 0.9 {
			t.Errorf("%s: %d of %d fresh documents right (%.2f), want at least 0.9; retrain the model (see package doc)", ty.Code, right[ty.Code], perType, r)
		}
	}
	if acc := float64(total) / float64(len(docs)); acc < 0.97 {
		t.Errorf("accuracy %.4f on %d fresh documents, want at least 0.97", acc, len(docs))
	}
}

func TestSaveLoad(t *testing.T) {
	m, _ := trained()
	docs := scangen.NoisyCorpus(5, 1, 0.02)
	for _, gz := range []bool{false, true} {
		var buf bytes.Buffer
		var err error
		if gz {
			err = m.SaveGzip(&buf)
		} else {
			err = m.Save(&buf)
		}
		if err != nil {
			t.Fatal(err)
		}
		m2, err := classify.Load(&buf)
		if err != nil {
			t.Fatalf("gzip %v: %v", gz, err)
		}
		if m2.Threshold() != m.Threshold() {
			t.Errorf("threshold %g after load, was %g", m2.Threshold(), m.Threshold())
		}
		for _, d := range docs {
			a, b := m.Predict(d.Text), m2.Predict(d.Text)
			if a.Type != b.Type || a.Probability != b.Probability {
				t.Errorf("prediction changed by the round trip: %s %.6f vs %s %.6f", a.Type, a.Probability, b.Type, b.Probability)
			}
		}
	}
}

// TestLoadRefusesOtherVersions: a model from another version, with other
// types or features, is refused with an error saying to retrain.
func TestLoadRefusesOtherVersions(t *testing.T) {
	m, _ := trained()
	var buf bytes.Buffer
	if err := m.Save(&buf); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		change func(map[string]any)
	}{
		{"format version", func(s map[string]any) { s["version"] = 0 }},
		{"future version", func(s map[string]any) { s["version"] = 99 }},
		{"other format", func(s map[string]any) { s["format"] = "something-else" }},
		{"types", func(s map[string]any) { s["types"] = []string{"progress-note", "lab-report"} }},
		{"features", func(s map[string]any) { s["features"].(map[string]any)["char_max"] = 6 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s map[string]any
			if err := json.Unmarshal(buf.Bytes(), &s); err != nil {
				t.Fatal(err)
			}
			tt.change(s)
			b, _ := json.Marshal(s)
			_, err := classify.Load(bytes.NewReader(b))
			if !errors.Is(err, classify.ErrIncompatible) || !strings.Contains(err.Error(), "retrain") {
				t.Fatalf("Load = %v, want an error wrapping ErrIncompatible", err)
			}
		})
	}
	if _, err := classify.Load(strings.NewReader("not json")); err == nil {
		t.Error("garbage loaded")
	}
}

func TestTrainErrors(t *testing.T) {
	tests := []struct {
		name string
		docs []classify.Labelled
		opt  classify.TrainOptions
	}{
		{"unknown type", []classify.Labelled{{Type: "memo", Text: "x"}}, classify.TrainOptions{}},
		{"missing types", []classify.Labelled{{Type: classify.LabReport, Text: "x"}, {Type: classify.LabReport, Text: "y"}}, classify.TrainOptions{}},
		{"buckets", nil, classify.TrainOptions{Buckets: 1000}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := classify.Train(tt.docs, tt.opt); err == nil {
				t.Fatal("no error")
			} else if strings.Contains(err.Error(), "x") && tt.name != "buckets" && strings.Contains(err.Error(), `"x"`) {
				t.Fatalf("error quotes document text: %v", err)
			}
		})
	}
}

func BenchmarkPredict(b *testing.B) {
	m, err := classify.Default()
	if err != nil {
		b.Fatal(err)
	}
	docs := scangen.Corpus(3, 1)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		m.Predict(docs[i%len(docs)].Text)
	}
}
