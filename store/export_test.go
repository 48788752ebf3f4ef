package store

// QueuedTurnWrites is how many end-of-turn writes wait for the one in flight.
func QueuedTurnWrites(s *Store) int {
	s.rec.mu.Lock()
	defer s.rec.mu.Unlock()
	return len(s.rec.queue)
}
