package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"paperchart/classify"
	"paperchart/scangen"
)

// runClassify implements "paperchart classify": train a document type model
// or classify a text file with one.
func runClassify(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return errors.New("classify: use train or predict FILE.txt (paperchart classify train --help)")
	}
	switch sub, rest := args[0], args[1:]; sub {
	case "train":
		return classifyTrain(ctx, rest, stdout)
	case "predict":
		return classifyPredict(ctx, rest, stdout)
	default:
		return fmt.Errorf("classify: unknown subcommand %q: use train or predict", sub)
	}
}

func classifyTrain(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlags("classify train", "[flags]",
		"Trains the document type classifier and writes the model.\n\n"+
			"Without --from it trains on the project's generated corpus (scangen.NoisyCorpus):\n"+
			"this is how the shipped default model is made:\n\n"+
			"  paperchart classify train --out classify/model/default.json.gz\n\n"+
			"With --from DIR it trains on labelled text: DIR/TYPE/*.txt, one document per file,\n"+
			"TYPE a type code (discharge-summary, lab-report, ...; see classify.Types).\n"+
			"With --reviewed it adds every document people filed from the review queue, with the\n"+
			"type they chose, read from the database: the technicians' corrections.\n"+
			"It prints held-out accuracy, macro-F1, calibration error before and after, the\n"+
			"review threshold, the share of documents above it, and the time taken.")
	perType := fs.Int("per-type", 400, "generated documents per type (without --from)")
	seed := fs.Uint64("seed", 1, "seed of the generated corpus, the shuffle and the held-out split")
	noise := fs.Float64("noise", 0.03, "simulated OCR character error rate of the generated corpus, at most")
	out := fs.String("out", "classify-model.json.gz", "model file to write (gzip when it ends in .gz)")
	from := fs.String("from", "", "train on labelled .txt files in per-type subfolders of this folder instead")
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
	start := time.Now()
	var docs []classify.Labelled
	source := ""
	if *from != "" {
		var err error
		if docs, err = readLabelled(ctx, *from); err != nil {
			return err
		}
		source = fmt.Sprintf("labelled text from %s", *from)
	} else {
		for _, d := range scangen.NoisyCorpus(*seed, *perType, *noise) {
			docs = append(docs, classify.Labelled{Type: d.Type, Text: d.Text})
		}
		source = fmt.Sprintf("scangen.NoisyCorpus seed %d, %d per type, noise %g", *seed, *perType, *noise)
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
			docs = append(docs, classify.Labelled{Type: lt.Type, Text: lt.Text})
		}
		source += fmt.Sprintf(", plus %d documents filed by people in review", len(lts))
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	m, rep, err := classify.Train(docs, classify.TrainOptions{Seed: *seed, Source: source, Buckets: *buckets})
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
	fmt.Fprintf(stdout, "calibration error (ECE) %.4f before, %.4f after (temperature %.3f, title bonus %.2f)\n",
		rep.ECEBefore, rep.ECEAfter, rep.Temperature, rep.TitleBonus)
	fmt.Fprintf(stdout, "review threshold %.3f: %.1f%% of held-out documents above it, %.2f%% of those right\n",
		rep.Threshold, 100*h.Coverage, 100*h.AcceptedAccuracy)
	fmt.Fprintf(stdout, "wrote %s (%d bytes) in %s\n", *out, info.Size(), time.Since(start).Round(time.Millisecond))
	return nil
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

// readLabelled reads DIR/TYPE/*.txt.
func readLabelled(ctx context.Context, dir string) ([]classify.Labelled, error) {
	var docs []classify.Labelled
	for _, t := range classify.Types() {
		files, err := filepath.Glob(filepath.Join(dir, t.Code, "*.txt"))
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			b, err := os.ReadFile(f)
			if err != nil {
				return nil, err
			}
			docs = append(docs, classify.Labelled{Type: t.Code, Text: string(b)})
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if _, ok := classify.Lookup(e.Name()); e.IsDir() && !ok {
			return nil, fmt.Errorf("classify train: folder %s is not a type code (see classify.Types)", filepath.Join(dir, e.Name()))
		}
	}
	if len(docs) == 0 {
		return nil, fmt.Errorf("classify train: no .txt files in type folders under %s", dir)
	}
	return docs, nil
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
	var m *classify.Model
	var err error
	if *modelPath != "" {
		f, err := os.Open(*modelPath)
		if err != nil {
			return err
		}
		defer f.Close()
		if m, err = classify.Load(f); err != nil {
			return fmt.Errorf("%s: %w", *modelPath, err)
		}
	} else if m, err = classify.Default(); err != nil {
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
