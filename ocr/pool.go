package ocr

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
)

// Pool lends Engines to worker goroutines: one Engine per concurrent page.
// With OMP_THREAD_LIMIT=1 each Engine keeps one core busy, so n should not
// exceed the cores given to OCR. Its methods are safe for concurrent use.
type Pool struct {
	idle chan *Engine
	done chan struct{} // closed by Close

	mu     sync.Mutex
	closed bool
	onLoan map[*Engine]struct{}
}

// NewPool creates n Engines with opt (n <= 0 means runtime.NumCPU()). It
// loads the language data n times; on any failure it closes what it made.
func NewPool(n int, opt Options) (*Pool, error) {
	if n <= 0 {
		n = runtime.NumCPU()
	}
	p := &Pool{idle: make(chan *Engine, n), done: make(chan struct{}), onLoan: make(map[*Engine]struct{}, n)}
	for i := range n {
		e, err := NewEngine(opt)
		if err != nil {
			return nil, errors.Join(fmt.Errorf("ocr: create engine %d of %d: %w", i+1, n, err), p.Close())
		}
		p.idle <- e
	}
	return p, nil
}

// Acquire waits for an idle Engine. The caller owns it until Release.
func (p *Pool) Acquire(ctx context.Context) (*Engine, error) {
	select {
	case <-p.done:
		return nil, fmt.Errorf("ocr: acquire engine: %w", ErrClosed)
	default:
	}
	select {
	case e := <-p.idle:
		p.mu.Lock()
		p.onLoan[e] = struct{}{}
		p.mu.Unlock()
		return e, nil
	case <-p.done:
		return nil, fmt.Errorf("ocr: acquire engine: %w", ErrClosed)
	case <-ctx.Done():
		return nil, fmt.Errorf("ocr: acquire engine: %w", ctx.Err())
	}
}

// Release returns e, which must come from Acquire, to the pool; after
// Close it closes e instead. Releasing an Engine twice, or one the pool
// did not lend, does nothing.
func (p *Pool) Release(e *Engine) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.onLoan[e]; !ok {
		return
	}
	delete(p.onLoan, e)
	if p.closed {
		_ = e.Close() // the pool is gone; nobody is left to report to
		return
	}
	p.idle <- e // never blocks: the channel has room for every engine
}

// Close closes the idle Engines and makes Acquire fail; Engines still on
// loan are closed when released. It does not wait for them.
func (p *Pool) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil
	}
	p.closed = true
	close(p.done)
	var errs []error
	for {
		select {
		case e := <-p.idle:
			errs = append(errs, e.Close())
		default:
			return errors.Join(errs...)
		}
	}
}
