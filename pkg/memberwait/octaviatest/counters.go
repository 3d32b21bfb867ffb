package octaviatest

// Requests returns a copy of the request counts per operation, including
// requests answered by an injected fault. Seeding and inspection are not
// requests and are not counted.
func (s *Server) Requests() map[Operation]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[Operation]int, len(s.counts))
	for k, v := range s.counts {
		out[k] = v
	}
	return out
}

// RequestCount returns how many requests op has received.
func (s *Server) RequestCount(op Operation) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[op]
}

// TotalRequests returns how many requests the server has received.
func (s *Server) TotalRequests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.total
}

// ResetCounters sets every request count to zero.
func (s *Server) ResetCounters() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts = map[Operation]int{}
	s.total = 0
}
