package runtime

import (
	"fmt"
	"sync/atomic"
	"time"
)

// contact follows the worker's round trips to the group coordinator. It is
// what /health reports on: Kafka Connect calls a worker unhealthy when its
// herder thread cannot take a request; a Spur worker does its cluster work
// through the group coordinator and the internal topics, so one that has
// not heard from the coordinator for a session timeout cannot.
type contact struct {
	last    atomic.Int64 // unix nanos of the last coordinator response
	waiting atomic.Int64 // unix nanos a JoinGroup/SyncGroup was sent, 0 if none is in flight
}

func (c *contact) responded() { c.last.Store(time.Now().UnixNano()) }

// lastResponse is when the coordinator last answered.
func (c *contact) lastResponse() time.Time { return time.Unix(0, c.last.Load()) }

// request marks a join or sync in flight until the returned func is called.
func (c *contact) request() (done func(ok bool)) {
	c.waiting.Store(time.Now().UnixNano())
	return func(ok bool) {
		c.waiting.Store(0)
		if ok {
			c.responded()
		}
	}
}

// Health returns nil if the worker is in touch with its group, and otherwise
// why not. A join or sync the coordinator is holding (it answers once every
// member has joined, up to rebalance.timeout.ms) counts as in touch.
func (w *Worker) Health() error {
	now := time.Now()
	if s := w.contact.waiting.Load(); s != 0 && now.Sub(time.Unix(0, s)) < w.cfg.RebalanceTimeout+5*time.Second {
		return nil
	}
	if d := now.Sub(time.Unix(0, w.contact.last.Load())); d > w.cfg.SessionTimeout {
		return fmt.Errorf("No response from the group coordinator of %s for %v (session.timeout.ms=%d).",
			w.groupID, d.Round(time.Second), w.cfg.SessionTimeout.Milliseconds())
	}
	return nil
}
