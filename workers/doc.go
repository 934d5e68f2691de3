// Package workers owns the background work of paperchart on the asynq
// queue: splitting a batch into pages, reading each page (one task per page,
// so a big batch spreads over every worker and machine: barcodes first, so
// cover and separator sheets are recognised and not OCR'd, then OCR),
// assembling the batch's searchable PDF when its last page is done (the
// join), and filing the batch's documents (package filing).
//
// PostgreSQL is the source of truth for every batch's and page's state;
// Redis only carries work. Every task's ID is derived from its batch and
// page, every stage is idempotent, and a Reconciler re-enqueues whatever the
// database says is unfinished but has no live task, so no batch stalls
// silently when Redis loses work.
package workers
