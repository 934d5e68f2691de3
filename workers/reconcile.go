package workers

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/hibiken/asynq"

	"paperchart/storage"
)

// Reconciler compares what PostgreSQL says is unfinished with what Redis
// holds, and re-enqueues work that has no live task: Redis restarted without
// its data, a task was deleted, or a process died between a database write
// and an enqueue. A task that gave up (archived) fails its batch with the
// task's last error, in case the worker died before recording it.
type Reconciler struct {
	DB    *storage.DB
	Queue *Queue
	Log   *slog.Logger
	// Grace leaves alone batches changed more recently than this, so work
	// in flight is not raced. Default 2 minutes.
	Grace time.Duration
	// Every is how often Run checks. Default 1 minute.
	Every time.Duration
}

// Run checks every Every until ctx is done.
func (r *Reconciler) Run(ctx context.Context) error {
	every := r.Every
	if every <= 0 {
		every = time.Minute
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if n, err := r.Once(ctx); err != nil {
			r.Log.Error("reconcile", "err", err)
		} else if n > 0 {
			r.Log.Warn("reconcile re-queued lost work", "tasks", n)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Once checks every unfinished batch once and returns how many tasks it
// re-queued.
func (r *Reconciler) Once(ctx context.Context) (int, error) {
	grace := r.Grace
	if grace <= 0 {
		grace = 2 * time.Minute
	}
	bs, err := r.DB.UnfinishedBatches(ctx, time.Now().Add(-grace))
	if err != nil {
		return 0, err
	}
	total := 0
	for _, b := range bs {
		n, err := r.Batch(ctx, b)
		total += n
		if err != nil {
			return total, fmt.Errorf("reconcile batch %d: %w", b.ID, err)
		}
	}
	return total, nil
}

// Batch makes sure one unfinished batch has its next task in Redis. A task
// that gave up (archived) fails the batch.
func (r *Reconciler) Batch(ctx context.Context, b storage.Batch) (int, error) {
	return r.reconcile(ctx, b, false)
}

// Resume is Batch for a batch a person asked to retry: tasks that gave up
// are queued again rather than failing the batch again.
func (r *Reconciler) Resume(ctx context.Context, b storage.Batch) (int, error) {
	return r.reconcile(ctx, b, true)
}

func (r *Reconciler) reconcile(ctx context.Context, b storage.Batch, resume bool) (int, error) {
	q := r.Queue
	one := func(stage, typ, id string, p payload) (int, error) {
		st, lastErr, err := q.status(stage, id)
		if err != nil {
			return 0, err
		}
		switch st {
		case taskLive:
			return 0, nil
		case taskArchived:
			if resume {
				break
			}
			reason := "gave up: " + strings.TrimSuffix(lastErr, ": "+asynq.SkipRetry.Error())
			if stage == stageOCR {
				return 0, r.DB.FailPage(ctx, p.Batch, p.Page, reason)
			}
			_, err := r.DB.FailBatch(ctx, p.Batch, reason)
			return 0, err
		}
		queued, err := q.requeue(ctx, stage, typ, id, p)
		if err != nil || !queued {
			return 0, err
		}
		r.Log.Info("re-queued", "task", id, "batch_state", b.State)
		return 1, nil
	}
	switch b.State {
	case storage.StateReceived, storage.StateQueued, storage.StateSplitting:
		return one(stageSplit, TypeSplit, splitTaskID(b.ID), payload{Batch: b.ID})
	case storage.StateOCR:
		nos, err := r.DB.PendingPages(ctx, b.ID)
		if err != nil {
			return 0, err
		}
		if len(nos) == 0 {
			joined, err := r.DB.JoinIfDone(ctx, b.ID)
			if err != nil || !joined {
				return 0, err
			}
			return one(stageAssemble, TypeAssemble, assembleTaskID(b.ID), payload{Batch: b.ID})
		}
		total := 0
		for _, no := range nos {
			n, err := one(stageOCR, TypeOCR, ocrTaskID(b.ID, no), payload{Batch: b.ID, Page: no})
			total += n
			if err != nil {
				return total, err
			}
		}
		return total, nil
	case storage.StateAssembling:
		return one(stageAssemble, TypeAssemble, assembleTaskID(b.ID), payload{Batch: b.ID})
	case storage.StateFiling:
		// The assembly files the batch itself once its PDF is stored: while
		// that task runs, filing is not lost.
		st, _, err := q.status(stageAssemble, assembleTaskID(b.ID))
		if err != nil || st == taskLive {
			return 0, err
		}
		return one(stageFile, TypeFile, fileTaskID(b.ID), payload{Batch: b.ID})
	}
	return 0, nil
}
