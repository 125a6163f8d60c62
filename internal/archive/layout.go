package archive

import (
	"strings"
	"time"
)

// Location is where a trail writes in its bucket:
// [<prefix>/]AWSLogs/[<organization id>/]<account>/<folder>/<region>/YYYY/MM/DD/.
type Location struct {
	// Prefix is the trail's S3 key prefix, without a trailing "/".
	Prefix string
	// OrganizationID is set for an organization trail, whose member
	// accounts' folders sit under it.
	OrganizationID string
}

// Folders next to each other under an account: only CloudTrailFolder holds
// log files of events, CloudTrailDigestFolder the signed digests.
const (
	CloudTrailFolder       = "CloudTrail"
	CloudTrailDigestFolder = "CloudTrail-Digest"
)

// AccountsPrefix is the folder whose subfolders are the accounts.
func (l Location) AccountsPrefix() string {
	var b strings.Builder
	if p := strings.Trim(l.Prefix, "/"); p != "" {
		b.WriteString(p)
		b.WriteByte('/')
	}
	b.WriteString("AWSLogs/")
	if l.OrganizationID != "" {
		b.WriteString(l.OrganizationID)
		b.WriteByte('/')
	}
	return b.String()
}

// RegionsPrefix is the folder whose subfolders are the regions of one
// account's folder (CloudTrailFolder or CloudTrailDigestFolder).
func (l Location) RegionsPrefix(account, folder string) string {
	return l.AccountsPrefix() + account + "/" + folder + "/"
}

// DayPrefix is the folder of the files delivered on day (UTC) for one
// account, folder and region. Folder dates are delivery dates.
func (l Location) DayPrefix(account, folder, region string, day time.Time) string {
	return l.RegionsPrefix(account, folder) + region + "/" + day.UTC().Format("2006/01/02") + "/"
}
