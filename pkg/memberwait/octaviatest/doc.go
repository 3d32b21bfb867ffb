// Package octaviatest runs an in-process Octavia v2 API emulator for tests, in the spirit of net/http/httptest.
// Statuses move on an injectable clock, and stuck PENDING, ERROR, the amphorav2 quirk, 409/429/5xx and latency can be scripted.
//
// The emulator is held to real Octavia 11 (amphora provider, noop drivers, no
// heartbeats): field names, status codes, error bodies and the order in which
// Octavia checks things follow octavia/api/v2 of that release. Nothing runs in
// the background: every request, and every inspection call, first applies the
// scheduled transitions that are due on Options.Clock, so a fake clock gives
// complete control over time.
package octaviatest
