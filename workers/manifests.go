package workers

import (
	"context"
	"log/slog"
	"time"

	"paperchart/storage"
)

// ManifestWriter keeps each batch's manifest in the object store up to date
// with its rows (storage.WriteDueManifests), so that `paperchart rebuild`
// can recreate the database from the bucket. PostgreSQL records each change
// of a batch in the transaction that makes it; the writer writes what is due
// every Every, and what it could not write (the object store down) stays
// due and is written once it answers. Any number of writers may run: each
// batch is written by one at a time.
type ManifestWriter struct {
	DB      *storage.DB
	Objects *storage.Objects
	Log     *slog.Logger
	// Every is how often Run writes what is due. Default 2 seconds.
	Every time.Duration
}

// Run writes due manifests every Every until ctx is done.
func (m *ManifestWriter) Run(ctx context.Context) error {
	every := m.Every
	if every <= 0 {
		every = 2 * time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		m.Once(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Once writes everything due now, a hundred batches at a time, and returns
// how many manifests it stored.
func (m *ManifestWriter) Once(ctx context.Context) int {
	total := 0
	for ctx.Err() == nil {
		n, err := m.DB.WriteDueManifests(ctx, m.Objects, 100)
		total += n
		if err != nil {
			if ctx.Err() == nil {
				m.Log.Error("write batch manifests", "err", err)
			}
			break
		}
		if n < 100 {
			break
		}
	}
	return total
}
