// Package ingest owns the drop folders: it notices files that scanners and
// people put there, waits until each is completely written, stores the
// original safely, records a batch and queues its work — and only then moves
// the file out of the folder. Files that can never be processed go to a
// rejected folder with a reason a scanning clerk can read.
//
// Layout of one drop folder D (only regular files directly in D are taken):
//
//	D/                      files dropped here
//	D/.processing/          a file being ingested (claimed by rename)
//	D/processed/YYYY-MM-DD/ originals stored, kept for Retention, then deleted
//	D/rejected/             files that cannot be processed, each with NAME.reason.txt
//
// The periodic scan is the source of truth (network shares send no
// filesystem events); fsnotify events only make a scan happen sooner.
package ingest
