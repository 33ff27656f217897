package store

import (
	"hash/maphash"
	"sync/atomic"

	bolt "go.etcd.io/bbolt"
)

// filter is a blocked Bloom filter over the dedup keys in the database. It
// lets Seen answer "never recorded" for a new delivery without a read
// transaction: under load those transactions serialise on bbolt's meta
// lock, and nearly every delivery is new. A "maybe" costs only the read
// it replaces, so the filter's size is fixed: past a few million stored
// events it says "maybe" more often and Seen reads more, never less
// correctly. Bits are set and read atomically, without a lock.
type filter struct {
	seed  maphash.Seed
	words []atomic.Uint64
	mask  uint64 // number of blocks - 1
	ready atomic.Bool
}

const (
	filterBlockWords = 8       // one 512-bit block, one cache line
	filterWords      = 1 << 17 // 1 MiB
	filterProbes     = 6
)

func newFilter() *filter {
	return &filter{seed: maphash.MakeSeed(), words: make([]atomic.Uint64, filterWords), mask: filterWords/filterBlockWords - 1}
}

// block returns the first word of key's block, chosen by the hash's top
// bits, and a remix of the hash whose 9-bit slices place the probes.
func (f *filter) block(key []byte) (int, uint64) {
	h := maphash.Bytes(f.seed, key)
	return int((h>>40)&f.mask) * filterBlockWords, h * 0x9e3779b97f4a7c15
}

func (f *filter) add(key []byte) {
	base, p := f.block(key)
	for i := 0; i < filterProbes; i, p = i+1, p>>9 {
		f.words[base+int(p&511>>6)].Or(1 << (p & 63))
	}
}

// mayContain reports whether key may have been added; false is certain.
func (f *filter) mayContain(key []byte) bool {
	base, p := f.block(key)
	for i := 0; i < filterProbes; i, p = i+1, p>>9 {
		if f.words[base+int(p&511>>6)].Load()&(1<<(p&63)) == 0 {
			return false
		}
	}
	return true
}

// remember adds a dedup key about to be written, to the filter in use and
// to the one being built. The committer calls it inside the transaction
// that writes the key, so the key is in the filter before it can be read;
// Record calls it too, as soon as the key is in flight.
func (s *Store) remember(key []byte) {
	// next before filter: a build swaps filter in before it clears next,
	// so a key misses the new filter neither way.
	if nf := s.next.Load(); nf != nil {
		nf.add(key)
	}
	s.filter.Load().add(key)
}

// buildFilter builds a fresh filter from the dedup keys on disk and swaps
// it in: at open, and after pruning deleted keys the old one still holds.
// Keys written while it scans are added to the new filter by remember.
func (s *Store) buildFilter() {
	defer s.bg.Done()
	s.building.Lock() // one build at a time
	defer s.building.Unlock()
	nf := newFilter()
	// Set building on the committer, so every write after this one adds
	// to nf, and every write before it is committed before the scan.
	if err := s.update(func(*bolt.Tx) error { s.next.Store(nf); return nil }); err != nil {
		return
	}
	defer s.next.Store(nil)
	// Scan in chunks, each its own read transaction, so a long scan
	// never holds one open (a growing file waits for readers to remap).
	const chunk = 10000
	var from []byte
	for {
		if s.closed.Load() {
			return
		}
		var last []byte
		n := 0
		err := s.view(func(tx *bolt.Tx) error {
			c := tx.Bucket(bDedup).Cursor()
			k, _ := c.First()
			if from != nil {
				k, _ = c.Seek(from)
			}
			for ; k != nil && n < chunk; k, _ = c.Next() {
				nf.add(k)
				last = k
				n++
			}
			if last != nil {
				last = append([]byte(nil), last...)
			}
			return nil
		})
		if err != nil {
			return // Seen goes on reading the database
		}
		if n < chunk {
			break
		}
		from = last
	}
	// Keys still on their way to the disk were added to the old filter
	// only if Record added them before the build began.
	s.inflight.Range(func(k, _ any) bool {
		nf.add([]byte(k.(string)))
		return true
	})
	nf.ready.Store(true)
	s.filter.Store(nf)
}

// rebuildFilter starts a build in the background; Close waits for it.
func (s *Store) rebuildFilter() {
	s.closeMu.RLock()
	defer s.closeMu.RUnlock()
	if s.closed.Load() {
		return
	}
	s.bg.Add(1)
	go s.buildFilter()
}
