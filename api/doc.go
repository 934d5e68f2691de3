// Package api owns paperchart's HTTP JSON interface: health, the status of
// every batch and its pages (no patient data), and the review queue the
// indexing workstation uses: documents waiting for a person with their
// ranked candidate patients and the reasons, filing or discarding them, and
// searching the patient index. Every read of a document is recorded in its
// history before it is served. Patient data appears only in the review and
// document responses, never in logs.
package api
