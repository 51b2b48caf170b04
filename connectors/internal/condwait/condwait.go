// Package condwait waits on a sync.Cond until it is signalled or a context
// ends, for sink tasks whose Put and Flush block on background senders.
package condwait

import (
	"context"
	"sync"
)

// Wait waits on c, whose lock the caller holds, until c is signalled or
// ctx ends; it returns ctx's error in the latter case. Like c.Wait it may
// return for any broadcast, so callers check their condition in a loop.
func Wait(ctx context.Context, c *sync.Cond) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() {
		c.L.Lock()
		c.Broadcast()
		c.L.Unlock()
	})
	c.Wait()
	stop()
	return ctx.Err()
}
