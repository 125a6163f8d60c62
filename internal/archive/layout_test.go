package archive

import (
	"testing"
	"time"
)

func TestDayPrefix(t *testing.T) {
	day := time.Date(2024, 3, 31, 23, 58, 0, 0, time.FixedZone("x", -2*3600))
	for _, tc := range []struct {
		loc  Location
		want string
	}{
		{Location{}, "AWSLogs/111122223333/CloudTrail/eu-west-1/2024/04/01/"},
		{Location{Prefix: "audit/"}, "audit/AWSLogs/111122223333/CloudTrail/eu-west-1/2024/04/01/"},
		{Location{Prefix: "a/b", OrganizationID: "o-abc123"}, "a/b/AWSLogs/o-abc123/111122223333/CloudTrail/eu-west-1/2024/04/01/"},
	} {
		if got := tc.loc.DayPrefix("111122223333", CloudTrailFolder, "eu-west-1", day); got != tc.want {
			t.Errorf("%+v: got %q, want %q", tc.loc, got, tc.want)
		}
	}
}
