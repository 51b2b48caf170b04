package mqtt

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/eclipse/paho.golang/packets"
	"github.com/eclipse/paho.golang/paho/log"
)

// pinger is the client's keep alive: it sends PINGREQ when no packet was
// sent or received for a keep alive interval, and drops the connection when
// the PINGRESP does not come within another interval, like paho's default
// pinger, except while the task holds reading back (it holds the maximum of
// unacknowledged messages): a PINGRESP queued behind messages cannot be
// read then, and the broker still sees the PINGREQs, so the connection is
// alive.
type pinger struct {
	paused func(since time.Time) bool

	mu       sync.Mutex
	lastSent time.Time
	lastRecv time.Time
	lastResp time.Time
}

func (p *pinger) Run(ctx context.Context, conn net.Conn, keepAlive uint16) error {
	if keepAlive == 0 {
		return nil
	}
	if conn == nil {
		return errors.New("pinger: no connection")
	}
	interval := time.Duration(keepAlive) * time.Second
	timer := time.NewTimer(interval)
	defer timer.Stop()
	var pingSent time.Time
	errCh := make(chan error, 1)
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-errCh:
			return err
		case now := <-timer.C:
			p.mu.Lock()
			due := p.lastSent
			if p.lastRecv.Before(due) {
				due = p.lastRecv
			}
			due = due.Add(interval)
			resp := p.lastResp
			p.mu.Unlock()
			if !pingSent.IsZero() && !resp.Before(pingSent) {
				pingSent = time.Time{} // answered
			}
			if !pingSent.IsZero() {
				if now.Sub(pingSent) < interval {
					timer.Reset(interval - now.Sub(pingSent))
					continue
				}
				if !p.paused(pingSent) {
					return fmt.Errorf("no PINGRESP within %s", interval)
				}
				pingSent = time.Time{} // reading was held back: ping again
			}
			if now.Before(due) {
				timer.Reset(due.Sub(now))
				continue
			}
			pingSent = now
			go func() {
				if _, err := packets.NewControlPacket(packets.PINGREQ).WriteTo(conn); err != nil {
					select {
					case errCh <- fmt.Errorf("sending PINGREQ: %w", err):
					default:
					}
				}
			}()
			timer.Reset(interval)
		}
	}
}

func (p *pinger) PacketSent()         { p.mu.Lock(); p.lastSent = time.Now(); p.mu.Unlock() }
func (p *pinger) PacketReceived()     { p.mu.Lock(); p.lastRecv = time.Now(); p.mu.Unlock() }
func (p *pinger) PingResp()           { p.mu.Lock(); p.lastResp = time.Now(); p.mu.Unlock() }
func (p *pinger) SetDebug(log.Logger) {}
