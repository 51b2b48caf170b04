package condwait

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

func TestWaitReturnsOnSignalOrContext(t *testing.T) {
	var mu sync.Mutex
	c := sync.NewCond(&mu)

	mu.Lock()
	go func() { time.Sleep(10 * time.Millisecond); mu.Lock(); c.Broadcast(); mu.Unlock() }()
	if err := Wait(context.Background(), c); err != nil {
		t.Fatalf("signalled: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := Wait(ctx, c); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("context ended: %v", err)
	}
	if err := Wait(ctx, c); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("context ended before: %v", err)
	}
	mu.Unlock()
}
