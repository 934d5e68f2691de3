// Command aciconv converts the clinical notes of ACI-Bench (Yim et al.,
// Nature Scientific Data 2023, CC BY 4.0) into realtext's layout:
// OUT/{train,heldout}/TYPE/aci-ENCOUNTER.txt, one note a file.
//
// It is a maintenance script, not part of the paperchart binary. Run it on
// a copy of the repository's data folder:
//
//	git --git-dir=PATH/aci-bench.git archive HEAD data/challenge_data_json data/challenge_data | tar -x -C /tmp/aci
//	go run ./realtext/internal/aciconv -src /tmp/aci/data -out realtext
//
// What it does to each note (see realtext/README.md):
//   - the type: a note whose history says another clinician sent the
//     patient to this one ("referred by her primary care physician", "seen
//     in consultation at the request of", "presents for a surgical
//     consult") is a consult-note; every other note is an office visit, a
//     progress-note;
//   - the patient's fictitious name, from the encounter's metadata, becomes
//     "the patient" (no name stays in the text);
//   - the split: an encounter is held out when the FNV-1a hash of
//     "aci-bench/ENCOUNTER" falls in the lowest 30 of 100 buckets. Each
//     encounter has exactly one note, so no visit straddles the split.
package main

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// splits are ACI-Bench's files, each a JSON file of notes and a CSV of
// metadata.
var splits = []string{"train", "valid", "clinicalnlp_taskB_test1", "clinicalnlp_taskC_test2", "clef_taskC_test3"}

// consultPatterns say, in a note's history, that another clinician asked
// for this visit.
var consultPatterns = []*regexp.Regexp{
	regexp.MustCompile(`(?i)\breferred (by|from)\b`),
	regexp.MustCompile(`(?i)\breferred (today |here )?(for evaluation|to us|to our|here)\b`),
	regexp.MustCompile(`(?i)\breferred (her|him|the patient) (here|to us|to our)\b`),
	regexp.MustCompile(`(?i)\breferred to [a-z]+ by\b`),
	regexp.MustCompile(`(?i)\bin consultation at the request of\b`),
	regexp.MustCompile(`(?i)\bpresents? for an? [a-z ]{0,30}consult`),
	regexp.MustCompile(`(?i)\b(his|her) referral (mentions|states|says)\b`),
}

// historyEnd is where a note's history ends and its assessment begins;
// referrals the doctor makes in the plan are not a reason to call the
// visit a consultation.
var historyEnd = regexp.MustCompile(`(?m)^(ASSESSMENT|IMPRESSION|PLAN)\b`)

type note struct {
	Src  string `json:"src"`
	Tgt  string `json:"tgt"`
	File string `json:"file"`
}

type meta struct{ first, family string }

func main() {
	src := flag.String("src", "", "ACI-Bench's data folder (holds challenge_data_json/ and challenge_data/)")
	out := flag.String("out", "realtext", "output folder")
	heldOut := flag.Int("heldout", 30, "percentage of encounters held out")
	flag.Parse()
	if err := run(*src, *out, *heldOut); err != nil {
		slog.Error("aciconv failed", "err", err)
		os.Exit(1)
	}
}

func run(src, out string, heldOut int) error {
	if src == "" {
		return errors.New("-src is required")
	}
	counts := map[string]int{}
	seen := map[string]bool{}
	for _, s := range splits {
		notes, err := readNotes(filepath.Join(src, "challenge_data_json", s+".json"))
		if err != nil {
			return err
		}
		metas, err := readMeta(filepath.Join(src, "challenge_data", s+"_metadata.csv"))
		if err != nil {
			return err
		}
		for _, n := range notes {
			enc, _, _ := strings.Cut(n.File, "-")
			if enc == "" || seen[enc] {
				return fmt.Errorf("%s: note %q: missing or repeated encounter id", s, n.File)
			}
			seen[enc] = true
			m, ok := metas[enc]
			if !ok {
				return fmt.Errorf("%s: no metadata for encounter %s", s, enc)
			}
			typ := label(n.Tgt)
			split := "train"
			if bucket("aci-bench/"+enc) < heldOut {
				split = "heldout"
			}
			dir := filepath.Join(out, split, typ)
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return err
			}
			text := clean(n.Tgt, m)
			if err := os.WriteFile(filepath.Join(dir, "aci-"+strings.ToLower(enc)+".txt"), []byte(text), 0o644); err != nil {
				return err
			}
			counts[split+"/"+typ]++
		}
	}
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Printf("%-28s %d\n", k, counts[k])
	}
	return nil
}

func readNotes(path string) ([]note, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f struct {
		Data []note `json:"data"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return f.Data, nil
}

func readMeta(path string) (map[string]meta, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	head, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	col := map[string]int{}
	for i, h := range head {
		col[h] = i
	}
	for _, c := range []string{"encounter_id", "patient_firstname", "patient_familyname"} {
		if _, ok := col[c]; !ok {
			return nil, fmt.Errorf("%s: no column %s", path, c)
		}
	}
	out := map[string]meta{}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		out[rec[col["encounter_id"]]] = meta{strings.TrimSpace(rec[col["patient_firstname"]]), strings.TrimSpace(rec[col["patient_familyname"]])}
	}
}

// label is the note's type: consult-note when its history says another
// clinician sent the patient, progress-note otherwise.
func label(text string) string {
	history := text
	if loc := historyEnd.FindStringIndex(text); loc != nil {
		history = text[:loc[0]]
	}
	for _, p := range consultPatterns {
		if p.MatchString(history) {
			return "consult-note"
		}
	}
	return "progress-note"
}

// clean replaces the patient's name with "the patient" and normalises
// line ends.
func clean(text string, m meta) string {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	var names []string
	if m.first != "" && m.family != "" {
		names = append(names, m.first+" "+m.family)
	}
	for _, t := range []string{"Mr. ", "Ms. ", "Mrs. ", "Miss "} {
		if m.family != "" {
			names = append(names, t+m.family)
		}
	}
	if m.first != "" {
		names = append(names, m.first)
	}
	if m.family != "" {
		names = append(names, m.family)
	}
	// Notes whose metadata lacks the name, or spells another, introduce the
	// patient as "NAME is a 52-year-old male": that name goes too.
	for _, sm := range introduced.FindAllStringSubmatch(text, -1) {
		parts := strings.Fields(sm[1])
		names = append(names, sm[1])
		for _, t := range []string{"Mr. ", "Ms. ", "Mrs. ", "Miss "} {
			names = append(names, t+parts[len(parts)-1])
		}
		names = append(names, parts[0], parts[len(parts)-1])
	}
	// A titled surname (Mr. Ross) is the patient's: clinicians are Dr.
	for _, sm := range titled.FindAllStringSubmatch(text, -1) {
		names = append(names, sm[0], sm[1])
	}
	for _, n := range names {
		if !realName.MatchString(n) {
			continue // the metadata has "33" for a name here and there
		}
		re := regexp.MustCompile(`\b` + regexp.QuoteMeta(n) + `\b`)
		text = re.ReplaceAllString(text, "the patient")
	}
	text = regexp.MustCompile(`\b(Mr|Ms|Mrs)\. the patient|\bMiss the patient`).ReplaceAllString(text, "the patient")
	text = regexp.MustCompile(`(?i)\bthe patient( the patient)+`).ReplaceAllString(text, "the patient")
	// Sentence and line starts take a capital.
	start := regexp.MustCompile(`(^|\n|[.!?:•-] +)the patient`)
	text = start.ReplaceAllStringFunc(text, func(s string) string {
		return strings.TrimSuffix(s, "the patient") + "The patient"
	})
	return strings.TrimSpace(text) + "\n"
}

// introduced matches a patient introduced by name and age.
var introduced = regexp.MustCompile(`(?:Mr\. |Ms\. |Mrs\. |Miss )?([A-Z][a-z'-]+(?: [A-Z]\.)?(?: [A-Z][a-z'-]+)+),? (?:is|was) an? (?:very )?(?:pleasant )?\d+[- ]year[- ]old`)

// titled matches a title and a surname; realName a name at all.
var (
	titled   = regexp.MustCompile(`\b(?:Mr|Ms|Mrs)\. ([A-Z][a-z'-]+)\b`)
	realName = regexp.MustCompile(`^[A-Za-z][A-Za-z .'-]+$`)
)

// bucket is the FNV-1a hash of id modulo 100.
func bucket(id string) int {
	h := fnv.New32a()
	h.Write([]byte(id))
	return int(h.Sum32() % 100)
}
