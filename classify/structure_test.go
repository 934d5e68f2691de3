package classify

import (
	"slices"
	"testing"
)

func TestHeading(t *testing.T) {
	tests := []struct {
		line, want string
	}{
		{"SUBJECTIVE:", "SUBJECTIVE"},
		{"SUBJECTIVE: This 23-year-old woman presents with allergies.", "SUBJECTIVE"},
		{"HISTORY OF PRESENT ILLNESS", "HISTORY OF PRESENT ILLNESS"},
		{"Chief Complaint: chest pain", "CHIEF COMPLAINT"},
		{"Reason for Consultation:", "REASON FOR CONSULTATION"},
		{"0BJECTIVE:", "OBJECTIVE"}, // OCR 0 for O
		{"ASSESSMENT AND PLAN", "ASSESSMENT AND PLAN"},
		{"09/22/2023", ""},                           // a date
		{"(555) 013-4410", ""},                       // a phone number
		{"The patient is a 50-year-old female.", ""}, // prose
		{"She reports: pain in the knee", ""},        // a colon inside prose
		{"THIS LINE IS FAR TOO LONG TO BE A SECTION HEADING IN ANY CLINICAL NOTE AT ALL", ""},
	}
	for _, tt := range tests {
		if got := heading(tt.line); got != tt.want {
			t.Errorf("heading(%q) = %q, want %q", tt.line, got, tt.want)
		}
	}
}

func TestStructure(t *testing.T) {
	tests := []struct {
		name    string
		text    string
		want    []string // tokens that must be there
		notWant []string // tokens that must not
	}{
		{"soap note", "SUBJECTIVE: Cough for a week.\nOBJECTIVE: Lungs clear.\nASSESSMENT: Bronchitis.\nPLAN: Fluids.\n",
			[]string{"h:SUBJECTIVE", "h:OBJECTIVE", "h:ASSESSMENT", "h:PLAN", "n:3-5"}, []string{"l:salutation", "l:closing"}},
		{"letter about an operation", "March 3, 2024\nDr. Jane Roe\n12 Main Street\n\nRe: John Doe\n\nDear Dr. Roe,\n\n" +
			"Thank you for referring Mr. Doe. I had the pleasure of seeing him today. He underwent laparoscopic cholecystectomy " +
			"without complication and the drains were removed.\n\nSincerely,\n\nA. Surgeon, MD\ncc: Dr. Smith\n",
			[]string{"l:salutation", "l:dear-doctor", "l:closing", "l:re", "l:cc", "l:thanks", "l:first-person"}, []string{"h:DEAR DR ROE"}},
		{"letter to an insurer", "To Whom It May Concern:\nThe services were medically necessary.\nRespectfully,\n",
			[]string{"l:salutation", "l:closing", "n:0"}, []string{"l:dear-doctor"}},
		{"plain prose", "The patient was seen today and is doing well.", []string{"n:0"}, []string{"l:thanks", "l:closing"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := structure(tt.text)
			for _, w := range tt.want {
				if !slices.Contains(got, w) {
					t.Errorf("structure lacks %q: %q", w, got)
				}
			}
			for _, w := range tt.notWant {
				if slices.Contains(got, w) {
					t.Errorf("structure has %q: %q", w, got)
				}
			}
		})
	}
}

// TestStructureWeight: the layout block changes the vector by its weight,
// and a weight of 0 leaves the words alone.
func TestStructureWeight(t *testing.T) {
	text := "SUBJECTIVE:\nCough.\nOBJECTIVE:\nClear.\n"
	plain := newFeaturizer(newSpec(1<<12, 0)).vector(text)
	weighted := newFeaturizer(newSpec(1<<12, 1)).vector(text)
	if len(weighted.idx) <= len(plain.idx) {
		t.Fatalf("layout features added no buckets: %d vs %d", len(weighted.idx), len(plain.idx))
	}
	for _, v := range []sparse{plain, weighted} {
		var sum float64
		for _, x := range v.val {
			sum += float64(x) * float64(x)
		}
		if sum < 0.999 || sum > 1.001 {
			t.Errorf("vector norm² %g, want 1", sum)
		}
	}
}

func TestMatchRules(t *testing.T) {
	tests := []struct {
		name            string
		text            string
		letter, consult bool
	}{
		{"consult laid out like an H&P", "CHIEF COMPLAINT\nNumbness.\nHISTORY OF PRESENT ILLNESS\nShe was referred by her primary care physician for evaluation.\n", false, true},
		{"consult heading", "REASON FOR CONSULTATION: chest pain\n", false, true},
		{"asked to see", "I was asked to see this patient by Dr. Roe for atrial fibrillation.\n", false, true},
		{"outgoing referral in a plan", "PLAN\nWe will refer her to physical therapy.\n", false, false},
		{"letter saying referred by", "Dear Dr. Roe,\nMr. Doe was referred by you for surgery.\nSincerely,\n", true, false},
		{"discharge summary", "DISCHARGE SUMMARY\nThe patient was referred from an outside hospital.\n", false, false},
		{"to whom it may concern", "To Whom It May Concern:\nThe patient may return to work.\n", true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := matchRules(tt.text)
			if h.letter != tt.letter || h.consult != tt.consult {
				t.Errorf("letter %v consult %v, want %v %v", h.letter, h.consult, tt.letter, tt.consult)
			}
		})
	}
}

func TestNormalise(t *testing.T) {
	tests := []struct{ in, words, title string }{
		{"", " ", ""},
		{"...", " ", ""},
		{"Progress Note", " progress note ", "PROGRESS NOTE"},
		{"  PR0GRESS  N0TE:\n", " pr0gress n0te ", "PROGRESS NOTE"},
		{"H&P 12/03/2024", " h&p 00/00/0000 ", "H P IZ O ZOZ"},
		{"D|SCHARGE $UMMARY", " d scharge ummary ", "DISCHARGE SUMMARY"},
		{"ümlaut-x", " mlaut x ", "MLAUT X"},
	}
	for _, tc := range tests {
		if got := normalise(tc.in); got != tc.words {
			t.Errorf("normalise(%q) = %q, want %q", tc.in, got, tc.words)
		}
		if got := normaliseTitle(tc.in); got != tc.title {
			t.Errorf("normaliseTitle(%q) = %q, want %q", tc.in, got, tc.title)
		}
	}
}
