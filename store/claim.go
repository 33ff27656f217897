package store

import bolt "go.etcd.io/bbolt"

// Claim returns the jobs that were not final when the database was
// opened, oldest first, the first time it is called, and none after: a
// bbolt database is held by one process (its file lock is the lease), so
// what an earlier process left unfinished is this one's to run, as are the
// jobs it writes itself.
func (s *Store) Claim() ([]*Job, error) {
	if s.claimed.Swap(true) {
		return nil, nil
	}
	jobs, err := s.OpenJobs()
	if err != nil {
		s.claimed.Store(false)
		return nil, err
	}
	n := 0
	for _, j := range jobs {
		if j.ID <= s.lastOld {
			if j.State == Running {
				j.HolderRenewed = s.lastAlive // where its interrupted attempt ends
			}
			jobs[n] = j
			n++
		}
	}
	return jobs[:n], nil
}

// OpenJobs returns every job that is not final, oldest first.
func (s *Store) OpenJobs() ([]*Job, error) {
	var out []*Job
	err := s.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bOpen).ForEach(func(k, _ []byte) error {
			j, err := getJob(tx, btoi(k))
			if err != nil {
				return err
			}
			out = append(out, j)
			return nil
		})
	})
	return out, err
}
