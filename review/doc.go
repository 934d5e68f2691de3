// Package review owns the indexing workstation: the web pages under
// /review/ where indexing technicians resolve what the pipeline was unsure
// of. It serves sign-in and sign-out (through package users), the review
// queue with its filters and claims, the document view (page images, OCR
// text with the identifiers found highlighted, ranked candidate patients, a
// patient search, the type and the date of service) with its actions
// (confirm, reject, split, merge, move or drop a page), the batch progress
// page for scanning staff, the search of filed documents' text (package
// search), the supervisors' statistics and the administrators' user list.
//
// Pages are rendered on the server with html/template; a little hand-written
// JavaScript adds the keyboard shortcuts, zoom and rotation, the patient
// search and the live batch progress. Templates, script and style sheet are
// embedded, so the workstation needs nothing from the internet.
//
// Every decision goes through filing.Filer, which records it in the
// document's history; every read of a document is recorded too. Nothing
// here logs patient data: logs name documents, batches, pages and patients
// by ID, and error pages carry a reference to the log, never details.
package review
