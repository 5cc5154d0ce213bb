package mail

import (
	"testing"
	"time"
)

// A clock set back (by NTP, or by hand) must not make a new mail sort before an older one.
func TestOutboxStampNeverGoesBack(t *testing.T) {
	o := &Outbox{}
	future := time.Now().UTC().Add(time.Hour).Round(0)
	o.last = future
	a, b := o.stamp(), o.stamp()
	if !a.After(future) || !b.After(a) {
		t.Fatalf("stamps %v then %v after %v: want each later than the one before", a, b, future)
	}
	if a.Format(stampLayout) >= b.Format(stampLayout) || future.Format(stampLayout) >= a.Format(stampLayout) {
		t.Errorf("names do not sort in stamp order: %s, %s, %s", future.Format(stampLayout), a.Format(stampLayout), b.Format(stampLayout))
	}
}
