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
//   - title rules (titles.go): a recognised title line near the top
//     ("DISCHARGE SUMMARY", "OPERATIVE REPORT", ...), matched with an edit
//     distance that tolerates OCR errors, adds a bonus to that type's score;
//   - calibration: the bonus and a softmax temperature are fitted on a
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
// trained from the project's own generated corpus (scangen.NoisyCorpus).
// Regenerate it after changing the types, the features or the generator:
//
//	paperchart classify train --out classify/model/default.json.gz
//
// (or go generate ./classify). Technicians' corrections (Correction) are
// the input of later retraining; storing them is the integrator's job.
//
// Page text is patient data: nothing here logs it or puts it in an error.
package classify

//go:generate go run ../cmd/paperchart classify train --out model/default.json.gz
