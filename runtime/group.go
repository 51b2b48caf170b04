package runtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// protocolName is the group protocol Spur workers offer. It differs from
// Kafka Connect's ("default", "compatible", "sessioned") on purpose: the
// broker rejects a member whose protocols do not intersect, so Spur and Java
// workers can never silently share a group.
const protocolName = "spur-1"

// errRejoin means the group is rebalancing and the worker must join again.
var errRejoin = errors.New("group rebalance in progress")

// joinAndSync runs one JoinGroup/SyncGroup round and returns this member's
// assignment. The leader computes everyone's assignment in between.
func (w *Worker) joinAndSync(ctx context.Context) (*Assignment, error) {
	for attempt := 0; ; attempt++ {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		meta := encodeJSON(memberMeta{Version: 1, URL: w.cfg.AdvertisedURL, ConfigOffset: w.configs.snapshot().Offset, Running: w.runningItems()})
		join := kmsg.NewPtrJoinGroupRequest()
		join.Group = w.groupID
		join.SessionTimeoutMillis = int32(w.cfg.SessionTimeout.Milliseconds())
		join.RebalanceTimeoutMillis = int32(w.cfg.RebalanceTimeout.Milliseconds())
		join.MemberID = w.memberID
		join.ProtocolType = "connect"
		p := kmsg.NewJoinGroupRequestProtocol()
		p.Name, p.Metadata = protocolName, meta
		join.Protocols = append(join.Protocols, p)

		jctx, cancel := context.WithTimeout(ctx, w.cfg.RebalanceTimeout+5*time.Second)
		done := w.contact.request()
		resp, err := join.RequestWith(jctx, w.cl)
		done(err == nil)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("join group %s: %w", w.groupID, err)
		}
		if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
			switch {
			case errors.Is(err, kerr.MemberIDRequired):
				w.memberID = resp.MemberID
				continue
			case errors.Is(err, kerr.UnknownMemberID), errors.Is(err, kerr.IllegalGeneration):
				w.memberID = ""
				continue
			case errors.Is(err, kerr.RebalanceInProgress):
				continue
			}
			return nil, fmt.Errorf("join group %s: %w", w.groupID, err)
		}
		w.memberID = resp.MemberID
		gen := resp.Generation

		sync := kmsg.NewPtrSyncGroupRequest()
		sync.Group = w.groupID
		sync.Generation = gen
		sync.MemberID = w.memberID
		sync.ProtocolType = kmsg.StringPtr("connect")
		sync.Protocol = kmsg.StringPtr(protocolName)
		if resp.LeaderID == resp.MemberID {
			assignments, err := w.lead(ctx, resp.Members)
			if err != nil {
				return nil, err
			}
			for id, a := range assignments {
				ga := kmsg.NewSyncGroupRequestGroupAssignment()
				ga.MemberID, ga.MemberAssignment = id, encodeJSON(a)
				sync.GroupAssignment = append(sync.GroupAssignment, ga)
			}
		}
		sctx, cancel := context.WithTimeout(ctx, w.cfg.RebalanceTimeout+5*time.Second)
		done = w.contact.request()
		sresp, err := sync.RequestWith(sctx, w.cl)
		done(err == nil)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("sync group %s: %w", w.groupID, err)
		}
		if err := kerr.ErrorForCode(sresp.ErrorCode); err != nil {
			if errors.Is(err, kerr.RebalanceInProgress) {
				continue
			}
			if errors.Is(err, kerr.UnknownMemberID) || errors.Is(err, kerr.IllegalGeneration) {
				w.memberID = ""
				continue
			}
			return nil, fmt.Errorf("sync group %s: %w", w.groupID, err)
		}
		var a Assignment
		if err := json.Unmarshal(sresp.MemberAssignment, &a); err != nil {
			return nil, fmt.Errorf("sync group %s: undecodable assignment: %w", w.groupID, err)
		}
		a.Generation = gen
		return &a, nil
	}
}

// lead computes the assignment of every member (this worker is the leader).
func (w *Worker) lead(ctx context.Context, joined []kmsg.JoinGroupResponseMember) (map[string]*Assignment, error) {
	// The leader's view of configs must include everything any member has seen.
	rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	err := w.configs.log.readToEnd(rctx)
	cancel()
	if err != nil {
		return nil, err
	}
	snap := w.configs.snapshot()
	members := make([]member, 0, len(joined))
	urls := map[string]string{}
	maxOffset := int64(0)
	for _, m := range joined {
		var meta memberMeta
		if err := json.Unmarshal(m.ProtocolMetadata, &meta); err != nil {
			w.log.Warn("ignoring undecodable member metadata", "member", m.MemberID, "err", err)
		}
		members = append(members, member{id: m.MemberID, meta: meta})
		urls[m.MemberID] = meta.URL
		maxOffset = max(maxOffset, meta.ConfigOffset)
	}
	out := map[string]*Assignment{}
	if maxOffset > snap.Offset {
		w.log.Warn("a member has read further in the config topic than the leader; rebalancing again", "member_offset", maxOffset, "leader_offset", snap.Offset)
		for _, m := range members {
			out[m.id] = &Assignment{Version: 1, Error: 1, Leader: w.memberID, LeaderURL: w.cfg.AdvertisedURL, ConfigOffset: maxOffset}
		}
		return out, nil
	}
	result, revoked, delay := w.assignor.assign(members, configuredItems(snap), w.stoppedCleanly)
	owners := map[string]string{}
	for id, items := range result {
		for _, it := range items {
			owners[it.String()] = urls[id]
		}
	}
	for _, m := range members {
		out[m.id] = &Assignment{
			Version: 1, Leader: w.memberID, LeaderURL: w.cfg.AdvertisedURL, ConfigOffset: snap.Offset,
			Items: result[m.id], Revoked: revoked[m.id], DelayMs: delay.Milliseconds(), Owners: owners,
		}
	}
	w.log.Info("assigned work", "members", len(members), "items", len(configuredItems(snap)), "delay", delay)
	return out, nil
}

// stoppedCleanly reports whether an item's last status says its worker
// stopped it (UNASSIGNED), in which case nobody is coming back for it.
func (w *Worker) stoppedCleanly(it Item) bool {
	var st Status
	var ok bool
	if it.IsConnector() {
		st, ok = w.statuses.connector(it.Connector)
	} else {
		st, ok = w.statuses.task(it.Connector, it.Task)
	}
	return ok && st.State == StateUnassigned
}

// heartbeat sends one heartbeat; errRejoin means a rebalance started.
// hbEvent is what the heartbeat goroutine tells the membership loop.
type hbEvent struct {
	forget bool // the coordinator no longer knows this member: rejoin as new
	lost   bool // no answer for a session timeout: the group expelled us
}

// startHeartbeats heartbeats for generation gen from its own goroutine, as
// Kafka's HeartbeatThread does, so stopping and starting work (which may
// take a task's whole shutdown timeout) never starves the session. It
// reports, once, a need to rejoin or a lost session on the returned
// channel; stop ends it and returns an event nobody read.
func (w *Worker) startHeartbeats(ctx context.Context, gen int32, memberID string) (events <-chan hbEvent, stop func() *hbEvent) {
	ch := make(chan hbEvent, 1)
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(w.cfg.HeartbeatInterval)
		defer t.Stop()
		lastOK := time.Now()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			err := w.heartbeat(ctx, gen, memberID)
			switch {
			case err == nil:
				lastOK = time.Now()
				continue
			case ctx.Err() != nil:
				return
			case errors.Is(err, kerr.UnknownMemberID) || errors.Is(err, kerr.IllegalGeneration):
				ch <- hbEvent{forget: true}
				return
			case errors.Is(err, kerr.RebalanceInProgress):
				ch <- hbEvent{}
				return
			}
			w.log.Warn("heartbeat failed", "err", err)
			if time.Since(lastOK) > w.cfg.SessionTimeout {
				ch <- hbEvent{lost: true}
				return
			}
		}
	}()
	return ch, func() *hbEvent {
		cancel()
		<-done
		select {
		case ev := <-ch:
			return &ev
		default:
			return nil
		}
	}
}

func (w *Worker) heartbeat(ctx context.Context, gen int32, memberID string) error {
	req := kmsg.NewPtrHeartbeatRequest()
	req.Group, req.Generation, req.MemberID = w.groupID, gen, memberID
	hctx, cancel := context.WithTimeout(ctx, w.cfg.SessionTimeout)
	defer cancel()
	resp, err := req.RequestWith(hctx, w.cl)
	if err != nil {
		return err
	}
	w.contact.responded()
	return kerr.ErrorForCode(resp.ErrorCode)
}

// leave tells the coordinator this worker is gone, so the group rebalances
// at once instead of after the session timeout.
func (w *Worker) leave(ctx context.Context) {
	if w.memberID == "" {
		return
	}
	req := kmsg.NewPtrLeaveGroupRequest()
	req.Group, req.MemberID = w.groupID, w.memberID
	m := kmsg.NewLeaveGroupRequestMember()
	m.MemberID = w.memberID
	req.Members = append(req.Members, m)
	if _, err := req.RequestWith(ctx, w.cl); err != nil {
		w.log.Warn("leave group", "err", err)
	}
}
