// Package classify owns deciding what kind of document a run of pages is
// (discharge summary, lab report, consent form, ...), with a calibrated
// probability, mapped to LOINC document codes.
//
// It is empty until the documents issue: the pipeline so far stops at OCR'd
// pages, and nothing here is called yet.
package classify
