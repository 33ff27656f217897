package store

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

// A redelivery runs an event's rules again only when every job ended
// failed or cancelled.
func TestRedeliverOnlyFailedEvents(t *testing.T) {
	s, _ := openTemp(t)
	for _, tc := range []struct {
		states []string
		want   bool
	}{
		{[]string{Failed}, true},
		{[]string{Cancelled}, true},
		{[]string{Failed, Cancelled}, true},
		{[]string{Failed, Done}, false},
		{[]string{Done}, false},
		{[]string{Queued}, false},
		{[]string{Running}, false},
		{[]string{Retrying}, false},
		{[]string{Superseded}, false},
		{nil, false},
	} {
		id := add(t, s, fmt.Sprint(tc.states), time.Now(), tc.states...)
		if _, ok := s.Retryable(id); ok != tc.want {
			t.Errorf("%v: Retryable %v, want %v", tc.states, ok, tc.want)
		}
		j := &Job{ID: s.NewEventID(), EventID: id, Rule: "r", State: Queued}
		at := time.Date(2026, 11, 30, 1, 2, 3, 0, time.UTC)
		added, err := s.Redeliver(id, []*Job{j}, at)
		if err != nil || added != tc.want {
			t.Fatalf("%v: Redeliver %v %v, want %v", tc.states, added, err, tc.want)
		}
		ev, err := s.Event(id)
		if err != nil {
			t.Fatal(err)
		}
		recorded := len(ev.Redeliveries) == 1 && ev.Redeliveries[0].At.Equal(at) && ev.Jobs[len(ev.Jobs)-1] == j.ID
		if recorded != tc.want {
			t.Errorf("%v: event after Redeliver %+v", tc.states, ev)
		}
	}
}

// Of many redeliveries at once, one adds its jobs: the check is made in
// the transaction that writes them.
func TestRedeliverConcurrentOnce(t *testing.T) {
	s, _ := openTemp(t)
	id := add(t, s, "d", time.Now(), Failed)
	var wg sync.WaitGroup
	var mu sync.Mutex
	added := 0
	for range 16 {
		wg.Go(func() {
			j := &Job{ID: s.NewEventID(), EventID: id, Rule: "r", State: Queued}
			ok, err := s.Redeliver(id, []*Job{j}, time.Now())
			if err != nil {
				t.Error(err)
			}
			if ok {
				mu.Lock()
				added++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	ev, err := s.Event(id)
	if err != nil {
		t.Fatal(err)
	}
	if added != 1 || len(ev.Jobs) != 2 || len(ev.Redeliveries) != 1 {
		t.Fatalf("%d redeliveries added jobs; event %+v", added, ev)
	}
}
