package runtime

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Item is one unit of assignable work: a connector instance (Task -1) or a task.
type Item struct {
	Connector string `json:"connector"`
	Task      int    `json:"task"`
}

func (i Item) String() string {
	if i.Task < 0 {
		return i.Connector
	}
	return i.Connector + "-" + strconv.Itoa(i.Task)
}

// IsConnector reports whether the item is a connector instance.
func (i Item) IsConnector() bool { return i.Task < 0 }

func sortItems(items []Item) {
	sort.Slice(items, func(a, b int) bool {
		if items[a].Connector != items[b].Connector {
			return items[a].Connector < items[b].Connector
		}
		return items[a].Task < items[b].Task
	})
}

// memberMeta is what a worker tells the group when it joins. Spur workers
// use their own protocol name ("spur-1"), so a Java Connect worker can never
// join a Spur group by mistake (the broker refuses inconsistent protocols).
type memberMeta struct {
	Version      int    `json:"version"`
	URL          string `json:"url"`
	ConfigOffset int64  `json:"config_offset"`
	Running      []Item `json:"running"`
}

// Assignment is what the leader gives each member. Unlike Kafka Connect's
// delta format it carries the member's complete set of work, which makes a
// lost SyncGroup response harmless: the next one is complete again.
type Assignment struct {
	Version      int               `json:"version"`
	Error        int               `json:"error"` // 1 = config mismatch: read the config topic and rejoin
	Leader       string            `json:"leader"`
	LeaderURL    string            `json:"leader_url"`
	ConfigOffset int64             `json:"config_offset"`
	Items        []Item            `json:"items"`
	Revoked      []Item            `json:"revoked,omitempty"`
	DelayMs      int64             `json:"delay_ms,omitempty"`
	Owners       map[string]string `json:"owners,omitempty"` // item -> worker URL, cluster-wide
	Generation   int32             `json:"-"`
}

func encodeJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("runtime: encoding %T: %v", v, err)) // only our own structs
	}
	return b
}

type member struct {
	id   string
	meta memberMeta
}

// assignor is the leader's incremental, sticky assignment (Kafka Connect's
// KIP-415 algorithm, simplified):
//   - work keeps running where it runs;
//   - work of a departed member is held unassigned for the rebalance delay, so
//     a worker that restarts quickly gets it back, then spread;
//   - when loads are uneven, surplus work is revoked in one round and placed
//     on the least-loaded members in the next, so no item ever runs twice;
//   - nothing else moves.
type assignor struct {
	delay time.Duration
	now   func() time.Time

	prevOwner    map[Item]string // member id per item, from the last assignment
	lostDeadline time.Time
}

func newAssignor(delay time.Duration) *assignor {
	return &assignor{delay: delay, now: time.Now, prevOwner: map[Item]string{}}
}

// assign computes every member's complete set of work. graceful reports
// items whose last owner stopped them cleanly (no need to wait for it to
// come back). The returned delay is how long held work stays unassigned.
func (a *assignor) assign(members []member, configured []Item, graceful func(Item) bool) (map[string][]Item, map[string][]Item, time.Duration) {
	sort.Slice(members, func(i, j int) bool { return members[i].id < members[j].id })
	present := map[string]bool{}
	for _, m := range members {
		present[m.id] = true
	}
	want := map[Item]bool{}
	for _, it := range configured {
		want[it] = true
	}

	owned := map[string][]Item{}
	owner := map[Item]string{}
	for _, m := range members {
		for _, it := range m.meta.Running {
			if !want[it] {
				continue // deleted: the member stops it as it is not in its set
			}
			if _, dup := owner[it]; dup {
				continue // running twice: the later member loses it
			}
			owner[it] = m.id
			owned[m.id] = append(owned[m.id], it)
		}
	}

	var unassigned, held []Item
	for _, it := range configured {
		if _, ok := owner[it]; ok {
			continue
		}
		prev, had := a.prevOwner[it]
		if had && !present[prev] && a.delay > 0 && !graceful(it) {
			held = append(held, it)
		} else {
			unassigned = append(unassigned, it)
		}
	}
	var delay time.Duration
	if len(held) > 0 {
		now := a.now()
		if a.lostDeadline.IsZero() {
			a.lostDeadline = now.Add(a.delay)
		}
		if now.Before(a.lostDeadline) {
			delay = a.lostDeadline.Sub(now)
		} else {
			unassigned = append(unassigned, held...)
			held = nil
			a.lostDeadline = time.Time{}
		}
	} else {
		a.lostDeadline = time.Time{}
	}
	sortItems(unassigned)

	revoked := map[string][]Item{}
	result := map[string][]Item{}
	for _, m := range members {
		result[m.id] = append([]Item(nil), owned[m.id]...)
	}
	if len(members) > 0 {
		for _, connectors := range []bool{true, false} {
			a.balance(members, result, revoked, unassigned, connectors, len(held) == 0)
		}
	}

	a.prevOwner = map[Item]string{}
	for id, items := range result {
		sortItems(items)
		for _, it := range items {
			a.prevOwner[it] = id
		}
	}
	// Held items keep their departed owner so they are recognised next round.
	for _, it := range held {
		a.prevOwner[it] = "departed"
	}
	return result, revoked, delay
}

// balance places unassigned items of one kind on the least-loaded members
// and, when allowed, revokes surplus from overloaded ones.
func (a *assignor) balance(members []member, result, revoked map[string][]Item, unassigned []Item, connectors, mayRevoke bool) {
	load := func(id string) int {
		n := 0
		for _, it := range result[id] {
			if it.IsConnector() == connectors {
				n++
			}
		}
		return n
	}
	var todo []Item
	for _, it := range unassigned {
		if it.IsConnector() == connectors {
			todo = append(todo, it)
		}
	}
	total := len(todo)
	for _, m := range members {
		total += load(m.id)
	}
	n := len(members)
	base, extra := total/n, total%n

	if mayRevoke {
		// Targets: the currently most loaded members keep the extra ones.
		order := append([]member(nil), members...)
		sort.SliceStable(order, func(i, j int) bool { return load(order[i].id) > load(order[j].id) })
		for i, m := range order {
			target := base
			if i < extra {
				target++
			}
			for load(m.id) > target {
				items := result[m.id]
				// Revoke the last item of this kind (highest task number).
				for k := len(items) - 1; k >= 0; k-- {
					if items[k].IsConnector() == connectors {
						revoked[m.id] = append(revoked[m.id], items[k])
						result[m.id] = append(items[:k:k], items[k+1:]...)
						break
					}
				}
			}
		}
	}
	for _, it := range todo {
		best := ""
		for _, m := range members {
			if best == "" || load(m.id) < load(best) || (load(m.id) == load(best) && len(result[m.id]) < len(result[best])) {
				best = m.id
			}
		}
		result[best] = append(result[best], it)
	}
}

// configuredItems lists the work a snapshot defines: each connector, plus
// its committed tasks unless it is stopped.
func configuredItems(s *Snapshot) []Item {
	var out []Item
	for _, name := range s.Names() {
		c := s.Connectors[name]
		out = append(out, Item{name, -1})
		if c.Target == TargetStopped {
			continue
		}
		for t := range c.Tasks {
			out = append(out, Item{name, t})
		}
	}
	return out
}

func itemsKey(items []Item) string {
	parts := make([]string, len(items))
	for i, it := range items {
		parts[i] = it.String()
	}
	return strings.Join(parts, ",")
}
