package store

import (
	"encoding/binary"
	"hash/crc32"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// The id high-water file (hookd.ids, beside the database) keeps the highest
// event and job ids this data directory has handed out, so that a backup
// restored in place of the database, older than the ids given since, does
// not give them again: Open starts each sequence after the highest of the
// database's and the file's. It is written at Open, every beatEvery while
// ids are handed out (a write into the page cache, which outlives a crash
// of the process), and synced at Close, so a clean stop before a restore,
// as the README asks, leaves it exact.
//
// 20 bytes, little-endian: event id (8), job id (8), CRC-32C of those (4).
// A missing, short or torn file counts as zeros: the database's ids rule.
const idsName = "hookd.ids"

// readHighWater returns the ids the file in dir holds.
func readHighWater(dir string) (event, job uint64) {
	b, err := os.ReadFile(filepath.Join(dir, idsName))
	if err != nil || len(b) < 20 || binary.LittleEndian.Uint32(b[16:]) != crc32.Checksum(b[:16], castagnoli) {
		return 0, 0
	}
	return binary.LittleEndian.Uint64(b), binary.LittleEndian.Uint64(b[8:])
}

// highWater writes the store's id sequences to the file.
type highWater struct {
	mu         sync.Mutex
	f          *os.File
	event, job uint64 // as last written
}

func openHighWater(dir string) (*highWater, error) {
	f, err := os.OpenFile(filepath.Join(dir, idsName), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	return &highWater{f: f}, nil
}

// save writes event and job if they changed; sync makes them durable.
func (h *highWater) save(event, job uint64, sync bool) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if event != h.event || job != h.job {
		b := make([]byte, 20)
		binary.LittleEndian.PutUint64(b, event)
		binary.LittleEndian.PutUint64(b[8:], job)
		binary.LittleEndian.PutUint32(b[16:], crc32.Checksum(b[:16], castagnoli))
		if _, err := h.f.WriteAt(b, 0); err != nil {
			return err
		}
		h.event, h.job = event, job
	}
	if sync {
		return h.f.Sync()
	}
	return nil
}

// keepHighWater writes the sequences every beatEvery until the store
// closes; Close writes them a last time.
func (s *Store) keepHighWater(every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-t.C:
			_ = s.ids.save(s.nextID.Load(), s.nextJob.Load(), false)
		}
	}
}
