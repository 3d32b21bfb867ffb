package bench

import "testing"

// The settle table's point: a fixed 45 s window declares members serving
// before Octavia can know under the slow monitor; Auto never does, and is
// quicker than 45 s under the fast one.
func TestSettleSection(t *testing.T) {
	s := settleSection()
	if len(s.Table.Rows) != 3 {
		t.Fatalf("rows %v", s.Table.Rows)
	}
	fast, slow := s.Table.Rows[0], s.Table.Rows[2]
	t.Logf("%v\n%v\n%v", s.Table.Header, fast, slow)
	if slow[3] != "10 of 10" {
		t.Errorf("slow monitor, fixed 45 s: %s before the limit, want 10 of 10", slow[3])
	}
	for _, r := range s.Table.Rows {
		if r[6] != "0 of 10" {
			t.Errorf("%s, Auto: %s before the limit, want 0 of 10", r[0], r[6])
		}
	}
	if fast[5] >= fast[2] {
		t.Errorf("fast monitor: Auto's lag %s is not below the fixed window's %s", fast[5], fast[2])
	}
}
