package testenv

import (
	"context"
	"maps"
	"sync"

	"paperchart/storage"
)

// CountingObjects is the real object store, counting the GETs of each key:
// for tests that check a stage reads each object once.
type CountingObjects struct {
	*storage.Objects
	mu   sync.Mutex
	gets map[string]int
}

// Counting wraps objs.
func Counting(objs *storage.Objects) *CountingObjects {
	return &CountingObjects{Objects: objs, gets: map[string]int{}}
}

// Get reads the object and counts it.
func (c *CountingObjects) Get(ctx context.Context, key string) ([]byte, error) {
	c.mu.Lock()
	c.gets[key]++
	c.mu.Unlock()
	return c.Objects.Get(ctx, key)
}

// Took returns the GETs of each key since the last call, and starts
// counting anew.
func (c *CountingObjects) Took() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	g := maps.Clone(c.gets)
	clear(c.gets)
	return g
}
