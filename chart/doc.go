// Package chart is paperchart's vocabulary: the words of the domain that
// every stage uses, each defined once with its own parsing and comparison.
//
//   - MRN: a medical record number as printed or stored, its OCR-tolerant
//     key (the one table of characters OCR reads for digits), and the one
//     comparison of two MRNs (exact, leading zeros, OCR-confusable, or
//     another patient).
//   - Date: a calendar date without time or zone (birth dates, dates of
//     service), with the one Parse that every reader of dates uses.
//   - Edits: the one edit distance (Levenshtein, optionally with
//     transpositions), for names, titles, labels and OCR error rates.
//   - ErrNotFound: the one "no such thing" error that HTTP layers map to 404.
//   - The decisions stored with a document (Identifiers, Candidate,
//     RankedType) as typed values with their JSON codecs.
//
// The package depends on the standard library only, so that every other
// package may depend on it.
package chart

import "errors"

// ErrNotFound is wrapped by every error that says a thing asked for (a
// batch, page, document, patient, user, token) does not exist. HTTP layers
// map it to 404 with errors.Is, once.
var ErrNotFound = errors.New("not found")
