package scope

// cached reports how many identities have clients kept, for tests.
func (s *SecretSources) cached() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.clients)
}
