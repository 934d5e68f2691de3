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
//
// Between those runs it sweeps every Sweep (recover.go): a task left active
// by a dead worker is queued again once no live worker has listed it for
// OrphanAfter, and when Redis is found to have lost its data (a canary task
// is gone) every unfinished batch is reconciled at once, without Grace.
type Reconciler struct {
	DB    *storage.DB
	Queue *Queue
	Log   *slog.Logger
	// Grace leaves alone batches changed more recently than this, so work
	// in flight is not raced. Default 2 minutes.
	Grace time.Duration
	// Every is how often Run checks. Default 1 minute.
	Every time.Duration
	// Sweep is how often Run looks for orphaned tasks and lost Redis data.
	// Default 2 s.
	Sweep time.Duration
	// OrphanAfter is how long an active task must go unlisted by every
	// live worker before it is queued again. Default 8 s (workers list
	// their tasks every 5 s).
	OrphanAfter time.Duration
}

// Run reconciles every Every and sweeps every Sweep until ctx is done.
func (r *Reconciler) Run(ctx context.Context) error {
	every, sweepEvery := r.Every, r.Sweep
	if every <= 0 {
		every = time.Minute
	}
	if sweepEvery <= 0 {
		sweepEvery = 2 * time.Second
	}
	t := time.NewTicker(sweepEvery)
	defer t.Stop()
	var s sweeper
	var last time.Time
	for {
		if time.Since(last) >= every {
			last = time.Now()
			if n, err := r.Once(ctx); err != nil {
				r.Log.Error("reconcile", "err", err)
			} else if n > 0 {
				r.Log.Warn("reconcile re-queued lost work", "tasks", n)
			}
		}
		if n, err := r.sweep(ctx, &s); err != nil {
			r.Log.Error("reconcile sweep", "err", err)
		} else if n > 0 {
			r.Log.Warn("sweep re-queued lost work", "tasks", n)
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
	return r.once(ctx, grace)
}

// once checks the unfinished batches not changed for grace.
func (r *Reconciler) once(ctx context.Context, grace time.Duration) (int, error) {
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
	running, err := q.running()
	if err != nil {
		return 0, err
	}
	one := func(stage, typ, id string, p payload) (int, error) {
		st, lastErr, err := q.status(stage, id)
		if err != nil {
			return 0, err
		}
		// A task a live worker runs is live, even where Redis lost its
		// record (the worker lists it again every 5 s).
		if key := q.queue(stage) + "\x00" + id; running[key] || running[key+recoveredSuffix] {
			return 0, nil
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
