// Package classify decides what kind of document a run of pages is
// (discharge summary, lab report, consent form, ...), from its OCR text,
// with a calibrated probability, and maps the answer to a LOINC document
// code.
//
// The set of types is fixed and documented in types.go (Types, Lookup).
// The classifier is pure Go:
//
//   - features (features.go): the text lower-cased, digits folded to 0,
//     word unigrams and bigrams, word unigrams and bigrams of the first
//     lines (where titles and headers are) in their own namespace, and
//     character 3- to 5-grams, hashed (FNV-1a) into a fixed number of
//     buckets, weighted by log term frequency and L2-normalised;
//   - a multinomial logistic regression trained by stochastic gradient
//     descent (train.go), its weights quantised to 8 bits per class;
//   - layout features (structure.go), a block of their own weighed against
//     the words: section headings (SUBJECTIVE, REASON FOR CONSULTATION, ...),
//     how many there are, and letter marks (salutation, closing, Re: and cc:
//     lines, "Thank you for referring");
//   - title rules (titles.go): a recognised title line near the top
//     ("DISCHARGE SUMMARY", "OPERATIVE REPORT", ...), alone on its line or
//     after a facility's name and a colon ("Community Health and Hospitals:
//     History & Physical"), matched with an edit distance that tolerates OCR
//     errors, adds a bonus to that type's score;
//   - layout rules (rules.go): a salutation near the top adds a bonus to
//     both letter types, and a consultation request ("referred by her
//     primary care physician", "REASON FOR CONSULTATION") in a document
//     that is neither a letter nor titled otherwise adds one to consult-note;
//   - calibration: the bonuses and a softmax temperature are fitted on a
//     held-out split by minimising its log loss, so Prediction.Probability
//     means what it says (expected calibration error is reported before and
//     after);
//   - a review threshold: the lowest probability at which the held-out
//     predictions at or above it are still at least 99% right (never below
//     0.5). A prediction under it has Review set: a person decides. The
//     classifier never forces a label silently.
//
// A model is saved as versioned JSON (gzip-compressed when the name ends in
// .gz) that names its format version, its types and its feature settings;
// Load refuses a model that does not match this build, with an error
// saying to retrain, rather than misapplying it.
//
// The shipped default model (model/default.json.gz, loaded by Default) is
// trained from the project's own generated corpus (scangen.NoisyCorpus)
// and the documents in ../realtext/train (ACI-Bench visit notes, TCGA
// pathology reports, HL7 C-CDA examples; their weight 3 against a
// generated one); calibration and the bonuses are fitted on a held-out
// share of that mix, never on ../realtext/heldout, which the tests score
// the shipped model on (realtext_test.go; see ../realtext/README.md).
// Regenerate it, from the repository root, after changing the types, the
// features, the generator or realtext/train:
//
//	paperchart classify train --from realtext/train --out classify/model/default.json.gz
//
// (or go generate ./classify). "paperchart classify eval --from DIR" scores
// a model on any labelled folder. Technicians' corrections (Correction) are
// the input of later retraining; storing them is the integrator's job.
//
// Page text is patient data: nothing here logs it or puts it in an error.
package classify

//go:generate sh -c "cd .. && go run ./cmd/paperchart classify train --from realtext/train --out classify/model/default.json.gz"
