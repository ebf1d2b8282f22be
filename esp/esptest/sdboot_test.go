package esptest

import "testing"

// The order systemd documents for strverscmp_improved, oldest first.
func TestVersionCompare(t *testing.T) {
	order := []string{"122.1", "123~rc1-1", "123", "123-a", "123-a.1", "123-1", "123-1.1", "123^post1", "123.a-1", "123.1-1", "123a-1", "124-1"}
	for i := range order {
		for j := range order {
			want := cmpInt(i, j)
			if got := VersionCompare(order[i], order[j]); got != want {
				t.Errorf("VersionCompare(%q, %q) = %d, want %d", order[i], order[j], got, want)
			}
		}
	}
	for _, c := range []struct{ newer, older string }{
		{"fogkit-10.conf", "fogkit-9+3.conf"},
		{"fogkit-2+3.conf", "fogkit-1.conf"},
		{"fogkit-3+1-2.conf", "fogkit-3.conf"},
	} {
		if VersionCompare(c.newer, c.older) <= 0 || VersionCompare(c.older, c.newer) >= 0 {
			t.Errorf("%s should sort newer than %s", c.newer, c.older)
		}
	}
}
