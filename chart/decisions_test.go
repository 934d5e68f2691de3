package chart

import (
	"encoding/json"
	"reflect"
	"testing"
)

// The stored decisions go through JSON and come back the same, and read
// what earlier versions stored (dates as strings, null lists).
func TestDecisionsJSONRoundTrip(t *testing.T) {
	ids := Identifiers{
		MRN: "00410001", OtherMRNs: []MRN{"77120945"}, LabelMRNs: []MRN{"00410001"}, CoverMRN: "00410001",
		Family: "DOE", Given: "JANE", Middle: "Q", BirthDate: Date{1970, 1, 2}, ServiceDate: Date{2024, 5, 6}, Facility: "Mercy",
	}
	cands := Candidates{{PatientID: 7, Probability: 0.999, Weight: 21.5, Reasons: []string{"MRN agrees"}, FoundBy: []string{"mrn"}},
		{PatientID: 9, Probability: 0.01, Weight: -3, MRNDiffers: true}}
	ranked := RankedTypes{{"progress-note", 0.7}, {"consult-note", 0.2}}
	for _, v := range []any{ids, cands, ranked} {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		back := reflect.New(reflect.TypeOf(v))
		if err := json.Unmarshal(b, back.Interface()); err != nil {
			t.Fatalf("%T: %v", v, err)
		}
		if !reflect.DeepEqual(back.Elem().Interface(), v) {
			t.Errorf("%T through JSON %s: got %+v", v, b, back.Elem().Interface())
		}
	}
	b, _ := json.Marshal(ids)
	if want := `"birth_date":"1970-01-02"`; !contains(string(b), want) {
		t.Errorf("identifiers JSON %s lacks %s", b, want)
	}
	if b, _ := json.Marshal(Candidates(nil)); string(b) != "[]" {
		t.Errorf("no candidates encode as %s", b)
	}
	if b, _ := json.Marshal(RankedTypes(nil)); string(b) != "[]" {
		t.Errorf("no types encode as %s", b)
	}
	var old Identifiers
	if err := json.Unmarshal([]byte(`{"mrn":"123","birth_date":"1970-01-02","other_mrns":null}`), &old); err != nil ||
		old.BirthDate != (Date{1970, 1, 2}) || old.MRN != "123" {
		t.Errorf("old identifiers: %+v, %v", old, err)
	}
	if !(Identifiers{Facility: "x"}).Empty() || ids.Empty() {
		t.Error("Empty is wrong")
	}
	if got := ids.PageMRNs(); !reflect.DeepEqual(got, []MRN{"00410001", "00410001", "77120945"}) {
		t.Errorf("PageMRNs = %v", got)
	}
	if ranked.Probability("consult-note") != 0.2 || ranked.Probability("x") != 0 {
		t.Error("RankedTypes.Probability")
	}
}
