package main

import (
	"encoding/json"
	"github.com/membergate/membergate/internal/waitreport"
	"testing"
	"time"
)

// TestWaitIPv6AddressSpellings: Octavia keeps an address as it was
// submitted, so the member a selector names may be stored in another
// spelling; the CLI finds it either way, and reports the stored one.
func TestWaitIPv6AddressSpellings(t *testing.T) {
	for _, c := range []struct{ stored, asked string }{
		{"fd00::0a", "[fd00::a]:6443"},
		{"fd00::0a", "fd00::a"},
		{"fd00::b", "[fd00:0::0b]:6443"},
		{"fd00:0:0:0:0:0:0:c", "FD00::C"},
	} {
		t.Run(c.stored+"/"+c.asked, func(t *testing.T) {
			b := newTestBed(t, true)
			id := b.addMember(newMemberName, c.stored, amphorav2(time.Second, 2*time.Second))
			if m, _ := b.srv.Member(id); m.Address != c.stored {
				t.Fatalf("the emulator stored %q for %q: it must keep the submitted spelling, as Octavia does", m.Address, c.stored)
			}
			code, stdout, stderr := b.wait("--member", c.asked, "--settle", "3s", "--not-found-grace", "3s", "--output", "json")
			if code != exitReached {
				t.Fatalf("exit %d, want 0\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
			}
			var rep waitreport.Report
			if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
				t.Fatal(err)
			}
			if len(rep.Members) != 1 || rep.Members[0].ID != id || rep.Members[0].Address != c.stored {
				t.Errorf("members = %+v, want %s at %s", rep.Members, id, c.stored)
			}
		})
	}
}
