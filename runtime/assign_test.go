package runtime

import (
	"fmt"
	"testing"
	"time"
)

func items(conn string, tasks int) []Item {
	out := []Item{{conn, -1}}
	for i := 0; i < tasks; i++ {
		out = append(out, Item{conn, i})
	}
	return out
}

func taskCount(its []Item) int {
	n := 0
	for _, it := range its {
		if !it.IsConnector() {
			n++
		}
	}
	return n
}

func TestAssignSpreadsNewWorkEvenly(t *testing.T) {
	a := newAssignor(time.Second)
	ms := []member{{id: "a"}, {id: "b"}, {id: "c"}}
	res, revoked, delay := a.assign(ms, items("c1", 6), func(Item) bool { return false })
	if delay != 0 || len(revoked) != 0 {
		t.Fatalf("delay %v revoked %v", delay, revoked)
	}
	for _, m := range ms {
		if n := taskCount(res[m.id]); n != 2 {
			t.Errorf("member %s got %d tasks: %v", m.id, n, res[m.id])
		}
	}
}

func TestAssignNewMemberTakesShareInTwoRoundsWithoutMovingOthers(t *testing.T) {
	a := newAssignor(time.Second)
	ms := []member{{id: "a"}, {id: "b"}}
	res, _, _ := a.assign(ms, items("c1", 6), func(Item) bool { return false })
	// Round 1 with a newcomer: surplus revoked, nothing placed on c yet.
	ms = []member{{id: "a", meta: memberMeta{Running: res["a"]}}, {id: "b", meta: memberMeta{Running: res["b"]}}, {id: "c"}}
	res1, revoked, _ := a.assign(ms, items("c1", 6), func(Item) bool { return false })
	if taskCount(revoked["a"])+taskCount(revoked["b"]) != 2 {
		t.Fatalf("want 2 tasks revoked, got %v", revoked)
	}
	for _, id := range []string{"a", "b"} {
		for _, it := range res1[id] {
			if !contains(res[id], it) {
				t.Errorf("%s gained %v in the revoking round", id, it)
			}
		}
	}
	// Round 2: members report what they still run; c gets the revoked tasks.
	ms = []member{{id: "a", meta: memberMeta{Running: res1["a"]}}, {id: "b", meta: memberMeta{Running: res1["b"]}}, {id: "c", meta: memberMeta{Running: res1["c"]}}}
	res2, revoked2, _ := a.assign(ms, items("c1", 6), func(Item) bool { return false })
	if len(revoked2) != 0 {
		t.Fatalf("second round revoked %v", revoked2)
	}
	for _, id := range []string{"a", "b", "c"} {
		if n := taskCount(res2[id]); n != 2 {
			t.Errorf("%s runs %d tasks after join: %v", id, n, res2[id])
		}
	}
}

func TestAssignHoldsLostWorkForTheDelay(t *testing.T) {
	now := time.Unix(1000, 0)
	a := newAssignor(5 * time.Second)
	a.now = func() time.Time { return now }
	ms := []member{{id: "a"}, {id: "b"}}
	res, _, _ := a.assign(ms, items("c1", 4), func(Item) bool { return false })
	lost := res["b"]
	ms = []member{{id: "a", meta: memberMeta{Running: res["a"]}}}
	res1, _, delay := a.assign(ms, items("c1", 4), func(Item) bool { return false })
	if delay != 5*time.Second || len(res1["a"]) != len(res["a"]) {
		t.Fatalf("lost work not held: delay %v, a runs %v", delay, res1["a"])
	}
	now = now.Add(6 * time.Second)
	res2, _, delay := a.assign([]member{{id: "a", meta: memberMeta{Running: res1["a"]}}}, items("c1", 4), func(Item) bool { return false })
	if delay != 0 {
		t.Fatalf("delay %v after expiry", delay)
	}
	for _, it := range lost {
		if !contains(res2["a"], it) {
			t.Errorf("lost %v not reassigned after the delay", it)
		}
	}
}

func TestAssignMovesCleanlyStoppedWorkAtOnce(t *testing.T) {
	a := newAssignor(time.Minute)
	res, _, _ := a.assign([]member{{id: "a"}, {id: "b"}}, items("c1", 4), func(Item) bool { return false })
	res1, _, delay := a.assign([]member{{id: "a", meta: memberMeta{Running: res["a"]}}}, items("c1", 4), func(Item) bool { return true })
	if delay != 0 || len(res1["a"]) != 5 {
		t.Fatalf("delay %v, a runs %v", delay, res1["a"])
	}
}

func TestAssignRevokesDuplicatesAndDeletedWork(t *testing.T) {
	a := newAssignor(0)
	ms := []member{
		{id: "a", meta: memberMeta{Running: []Item{{"c1", -1}, {"c1", 0}, {"gone", -1}}}},
		{id: "b", meta: memberMeta{Running: []Item{{"c1", 0}}}},
	}
	res, _, _ := a.assign(ms, items("c1", 1), func(Item) bool { return false })
	if fmt.Sprint(res["a"]) != "[c1 c1-0]" || len(res["b"]) != 0 {
		t.Fatalf("a=%v b=%v", res["a"], res["b"])
	}
}

func contains(its []Item, it Item) bool {
	for _, x := range its {
		if x == it {
			return true
		}
	}
	return false
}
