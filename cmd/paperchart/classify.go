package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"paperchart/classify"
	"paperchart/scangen"
)

// runClassify implements "paperchart classify": train a document type
// model, measure one on labelled text, or classify a text file with one.
func runClassify(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return errors.New("classify: use train, eval --from DIR or predict FILE.txt (paperchart classify train --help)")
	}
	switch sub, rest := args[0], args[1:]; sub {
	case "train":
		return classifyTrain(ctx, rest, stdout)
	case "eval":
		return classifyEval(ctx, rest, stdout)
	case "predict":
		return classifyPredict(ctx, rest, stdout)
	default:
		return fmt.Errorf("classify: unknown subcommand %q: use train, eval or predict", sub)
	}
}

// dirList is a repeatable flag whose values may also be comma lists.
type dirList []string

func (d *dirList) String() string { return strings.Join(*d, ",") }

func (d *dirList) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*d = append(*d, s)
		}
	}
	return nil
}

func classifyTrain(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlags("classify train", "[flags]",
		"Trains the document type classifier and writes the model.\n\n"+
			"It trains on the project's generated corpus (scangen.NoisyCorpus, --per-type documents of\n"+
			"each type; --per-type 0 for none) plus labelled text from each --from DIR: DIR/TYPE/*.txt,\n"+
			"one document per file, TYPE a type code (discharge-summary, lab-report, ...; see\n"+
			"classify.Types). This is how the shipped default model is made:\n\n"+
			"  paperchart classify train --from realtext/train --out classify/model/default.json.gz\n\n"+
			"Never train on realtext/heldout: it is what the shipped model is measured on.\n"+
			"With --reviewed it adds every document people filed from the review queue, with the\n"+
			"type they chose, read from the database: the technicians' corrections.\n"+
			"A share of the training documents is held out for calibration and the review threshold;\n"+
			"it prints held-out accuracy, macro-F1, calibration error before and after, the review\n"+
			"threshold, the share of documents above it, and per-type precision and recall for each\n"+
			"source (generated, each --from folder, reviewed).")
	perType := fs.Int("per-type", 400, "generated documents per type (0: none)")
	seed := fs.Uint64("seed", 1, "seed of the generated corpus, the shuffle and the held-out split")
	noise := fs.Float64("noise", 0.03, "simulated OCR character error rate of the generated corpus, at most")
	out := fs.String("out", "classify-model.json.gz", "model file to write (gzip when it ends in .gz)")
	var from dirList
	fs.Var(&from, "from", "also train on labelled .txt files in per-type subfolders of this folder (repeatable, or a comma list)")
	realWeight := fs.Float64("real-weight", 3, "weight of each document from --from and --reviewed against a generated one")
	structureWeight := fs.Float64("structure-weight", classify.DefaultStructureWeight, "weight of the layout features (headings, letter marks); 0: none")
	buckets := fs.Int("buckets", classify.DefaultBuckets, "feature hash buckets, a power of two")
	reviewed := fs.Bool("reviewed", false, "also train on the documents people filed from the review queue (reads the database)")
	var c config
	c.register(fs, useDB)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("classify train: unexpected argument %q", fs.Arg(0))
	}
	if *perType < 0 || *realWeight <= 0 || *structureWeight < 0 {
		return errors.New("classify train: --per-type must be at least 0, --real-weight over 0, --structure-weight at least 0")
	}
	start := time.Now()
	var docs []classify.Labelled
	var sources []string
	if *perType > 0 {
		for _, d := range scangen.NoisyCorpus(*seed, *perType, *noise) {
			docs = append(docs, classify.Labelled{Type: d.Type, Text: d.Text, Source: "generated"})
		}
		sources = append(sources, fmt.Sprintf("scangen.NoisyCorpus seed %d, %d per type, noise %g", *seed, *perType, *noise))
	}
	for _, dir := range from {
		ds, err := classify.ReadDir(ctx, dir, filepath.ToSlash(filepath.Clean(dir)))
		if err != nil {
			return err
		}
		for i := range ds {
			ds[i].Weight = *realWeight
		}
		docs = append(docs, ds...)
		sources = append(sources, fmt.Sprintf("%d labelled documents from %s (weight %g)", len(ds), dir, *realWeight))
	}
	if *reviewed {
		db, err := c.openDB(ctx)
		if err != nil {
			return err
		}
		lts, err := db.ReviewedTexts(ctx)
		db.Close()
		if err != nil {
			return err
		}
		for _, lt := range lts {
			docs = append(docs, classify.Labelled{Type: lt.Type, Text: lt.Text, Weight: *realWeight, Source: "reviewed"})
		}
		sources = append(sources, fmt.Sprintf("%d documents filed by people in review", len(lts)))
	}
	if len(docs) == 0 {
		return errors.New("classify train: no documents: --per-type 0 and no --from folder")
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	source := strings.Join(sources, "; ")
	sw := *structureWeight
	if sw == 0 {
		sw = -1 // TrainOptions: negative means none
	}
	m, rep, err := classify.Train(docs, classify.TrainOptions{Seed: *seed, Source: source, Buckets: *buckets, StructureWeight: sw})
	if err != nil {
		return err
	}
	if err := writeModel(*out, m); err != nil {
		return err
	}
	info, err := os.Stat(*out)
	if err != nil {
		return err
	}
	h := rep.HeldOut
	fmt.Fprintf(stdout, "trained on %d documents (%d held out for calibration): %s\n", rep.Docs, rep.HeldOutDocs, source)
	fmt.Fprintf(stdout, "held-out accuracy %.4f  macro-F1 %.4f\n", h.Accuracy, h.MacroF1)
	fmt.Fprintf(stdout, "calibration error (ECE) %.4f before, %.4f after (temperature %.3f; bonuses: title %.2f, consult request %.2f, letter %.2f)\n",
		rep.ECEBefore, rep.ECEAfter, rep.Temperature, rep.TitleBonus, rep.ConsultBonus, rep.LetterBonus)
	fmt.Fprintf(stdout, "review threshold %.3f: %.1f%% of held-out documents above it, %.2f%% of those right\n",
		rep.Threshold, 100*h.Coverage, 100*h.AcceptedAccuracy)
	srcs := make([]string, 0, len(rep.HeldOutBySource))
	for s := range rep.HeldOutBySource {
		srcs = append(srcs, s)
	}
	sort.Strings(srcs)
	for _, s := range srcs {
		e := rep.HeldOutBySource[s]
		fmt.Fprintf(stdout, "\nheld out from %s: %d documents, accuracy %.4f, macro-F1 %.4f, ECE %.4f\n", s, e.Docs, e.Accuracy, e.MacroF1, e.ECE)
		writePerType(stdout, e)
	}
	fmt.Fprintf(stdout, "wrote %s (%d bytes) in %s\n", *out, info.Size(), time.Since(start).Round(time.Millisecond))
	return nil
}

// writePerType prints precision and recall of each type that has
// documents or predictions.
func writePerType(w io.Writer, e classify.Evaluation) {
	fmt.Fprintf(w, "  %-18s %7s %7s %7s\n", "type", "docs", "prec", "recall")
	for i, s := range e.PerType {
		predicted := 0
		for _, row := range e.Confusion {
			predicted += row[i]
		}
		if s.Support == 0 && predicted == 0 {
			continue
		}
		fmt.Fprintf(w, "  %-18s %7d %7.3f %7.3f\n", s.Type, s.Support, s.Precision, s.Recall)
	}
}

func classifyEval(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlags("classify eval", "--from DIR [flags]",
		"Measures a model on labelled text: DIR/TYPE/*.txt, one document per file (the layout\n"+
			"classify train --from reads). Prints accuracy, macro-F1, calibration error (ECE), the share\n"+
			"above the review threshold and its accuracy, per-type precision and recall, the confusion\n"+
			"matrix, and each misclassified file with its predicted type and probability.\n\n"+
			"  paperchart classify eval --from realtext/heldout")
	var from dirList
	fs.Var(&from, "from", "folder of labelled .txt files in per-type subfolders (repeatable, or a comma list)")
	modelPath := fs.String("model", "", "model file; default: the shipped model")
	asJSON := fs.Bool("json", false, "print the evaluation as JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("classify eval: unexpected argument %q", fs.Arg(0))
	}
	if len(from) == 0 {
		return errors.New("classify eval: no --from folder")
	}
	m, err := loadModel(*modelPath)
	if err != nil {
		return err
	}
	var docs []classify.Labelled
	var names []string
	for _, dir := range from {
		ds, err := classify.ReadDir(ctx, dir, dir)
		if err != nil {
			return err
		}
		docs = append(docs, ds...)
		fs, err := labelledNames(dir)
		if err != nil {
			return err
		}
		names = append(names, fs...)
	}
	e, err := m.Evaluate(docs)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(stdout, e)
	}
	fmt.Fprintf(stdout, "%d documents from %s\n", e.Docs, strings.Join(from, ", "))
	fmt.Fprintf(stdout, "accuracy %.4f  macro-F1 %.4f  ECE %.4f\n", e.Accuracy, e.MacroF1, e.ECE)
	fmt.Fprintf(stdout, "review threshold %.3f: %.1f%% of documents above it, %.2f%% of those right\n\n",
		m.Threshold(), 100*e.Coverage, 100*e.AcceptedAccuracy)
	writePerType(stdout, e)
	fmt.Fprintf(stdout, "\n%s", e.ConfusionTable())
	if len(names) == len(docs) {
		for i, d := range docs {
			if p := m.Predict(d.Text); p.Type != d.Type {
				fmt.Fprintf(stdout, "wrong: %s read as %s (%.3f)\n", names[i], p.Type, p.Probability)
			}
		}
	}
	return nil
}

// labelledNames lists DIR/TYPE/*.txt in the order classify.ReadDir reads
// them.
func labelledNames(dir string) ([]string, error) {
	var out []string
	for _, t := range classify.Types() {
		files, err := filepath.Glob(filepath.Join(dir, t.Code, "*.txt"))
		if err != nil {
			return nil, err
		}
		sort.Strings(files)
		out = append(out, files...)
	}
	return out, nil
}

func loadModel(path string) (*classify.Model, error) {
	if path == "" {
		return classify.Default()
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	m, err := classify.Load(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

func writeModel(path string, m *classify.Model) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if strings.HasSuffix(path, ".gz") {
		err = m.SaveGzip(f)
	} else {
		err = m.Save(f)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write model %s: %w", path, err)
	}
	return nil
}

func classifyPredict(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlags("classify predict", "FILE.txt [flags]",
		"Classifies the text of one document (its pages' OCR text) and prints the type, its LOINC code,\n"+
			"the calibrated probability and whether it goes to review.")
	asJSON := fs.Bool("json", false, "print JSON for scripts")
	modelPath := fs.String("model", "", "model file; default: the shipped model")
	// Flags may follow the file name.
	var file string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		file, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if file == "" && fs.NArg() > 0 {
		file = fs.Arg(0)
	}
	if file == "" {
		return errors.New("classify predict: no file: paperchart classify predict FILE.txt")
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	m, err := loadModel(*modelPath)
	if err != nil {
		return err
	}
	text, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	p := m.Predict(string(text))
	t, _ := classify.Lookup(p.Type)
	if *asJSON {
		return writeJSON(stdout, struct {
			classify.Prediction
			LOINC     string  `json:"loinc"`
			Display   string  `json:"loinc_display"`
			Threshold float64 `json:"threshold"`
		}{p, t.LOINC, t.Display, m.Threshold()})
	}
	verdict := "accept"
	if p.Review {
		verdict = "review"
	}
	fmt.Fprintf(stdout, "%s (LOINC %s %s) probability %.3f, threshold %.3f: %s\n", p.Type, t.LOINC, t.Display, p.Probability, m.Threshold(), verdict)
	if p.TitleMatched {
		fmt.Fprintf(stdout, "title recognised as %s\n", p.Title)
	}
	for _, s := range p.Ranked[1:min(4, len(p.Ranked))] {
		fmt.Fprintf(stdout, "  then %s %.3f\n", s.Type, s.Probability)
	}
	return nil
}
