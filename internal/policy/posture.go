package policy

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/events"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/iampolicy"
)

func checkTrailMultiRegion(s *settings, t *Trail) ([]string, error) {
	var problems []string
	if !t.IsMultiRegion {
		problems = append(problems, fmt.Sprintf("trail %s is a single-region trail (home region %s)", t.Name, t.HomeRegion))
	}
	if missing := managementCoverage(t, s.eventSource, false).missing(); missing != "" {
		of := s.eventSource
		if of == events.AllEventSources {
			of = "every event source"
		}
		problems = append(problems, fmt.Sprintf("trail %s does not record %s management events of %s", t.Name, missing, of))
	}
	return joined(problems), nil
}

func checkTrailLogging(_ *settings, t *Trail) ([]string, error) {
	if t.IsLogging {
		return nil, nil
	}
	return []string{fmt.Sprintf("trail %s is not logging", t.Name)}, nil
}

func checkTrailValidation(_ *settings, t *Trail) ([]string, error) {
	if t.LogFileValidationEnabled {
		return nil, nil
	}
	return []string{fmt.Sprintf("trail %s has log file validation disabled", t.Name)}, nil
}

func checkLogIntegrity(li *LogIntegrity) []InvalidFile {
	return li.InvalidFiles
}

func checkTrailKMS(_ *settings, t *Trail) ([]string, error) {
	if t.KMSKeyID != "" {
		return nil, nil
	}
	return []string{fmt.Sprintf("trail %s log files are not encrypted with a KMS key", t.Name)}, nil
}

func checkTrailCloudWatch(_ *settings, t *Trail) ([]string, error) {
	if t.CloudWatchLogsLogGroupARN != "" && t.CloudWatchLogsRoleARN != "" {
		return nil, nil
	}
	return []string{fmt.Sprintf("trail %s does not deliver to CloudWatch Logs (log group and role both required)", t.Name)}, nil
}

func checkTrailSourceNotExcluded(s *settings, t *Trail) ([]string, error) {
	withSource := managementCoverage(t, s.eventSource, false)
	anySource := managementCoverage(t, s.eventSource, true)
	lost := coverage{read: anySource.read && !withSource.read, write: anySource.write && !withSource.write}
	if !lost.read && !lost.write {
		return nil, nil
	}
	of := s.eventSource
	if of == events.AllEventSources {
		of = "some event sources"
	}
	return []string{fmt.Sprintf("trail %s event selectors exclude %s management events of %s",
		t.Name, lost.names(), of)}, nil
}

func checkTrailDeliveryError(_ *settings, t *Trail) ([]string, error) {
	var problems []string
	if t.LatestDeliveryError != "" {
		last := "never"
		if !t.LatestDeliveryTime.IsZero() {
			last = t.LatestDeliveryTime.UTC().Format(time.RFC3339)
		}
		problems = append(problems, fmt.Sprintf("trail %s latest S3 delivery error: %s (last successful delivery: %s)", t.Name, t.LatestDeliveryError, last))
	}
	if t.LatestCloudWatchLogsDeliveryError != "" {
		problems = append(problems, fmt.Sprintf("trail %s latest CloudWatch Logs delivery error: %s", t.Name, t.LatestCloudWatchLogsDeliveryError))
	}
	return joined(problems), nil
}

// coverage says which management events of a source a trail records.
type coverage struct{ read, write bool }

// missing names what is not recorded, "" when both are.
func (c coverage) missing() string {
	return coverage{read: !c.read, write: !c.write}.names()
}

func (c coverage) names() string {
	switch {
	case c.read && c.write:
		return "read and write"
	case c.read:
		return "read"
	case c.write:
		return "write"
	}
	return ""
}

// managementCoverage evaluates the trail's selectors for management events
// of source. With ignoreSource, conditions on the event source are taken as
// met, which tells an exclusion of the source apart from selectors that
// record no management events at all.
func managementCoverage(t *Trail, source string, ignoreSource bool) coverage {
	if len(t.EventSelectors) == 0 && len(t.AdvancedEventSelectors) == 0 {
		return coverage{read: true, write: true}
	}
	var c coverage
	for _, sel := range t.EventSelectors {
		if !sel.IncludeManagementEvents {
			continue
		}
		if !ignoreSource && excludes(sel.ExcludeManagementEventSources, source) {
			continue
		}
		switch sel.ReadWriteType {
		case "ReadOnly":
			c.read = true
		case "WriteOnly":
			c.write = true
		default:
			c.read, c.write = true, true
		}
	}
	for _, sel := range t.AdvancedEventSelectors {
		c.read = c.read || advancedCaptures(sel, source, "true", ignoreSource)
		c.write = c.write || advancedCaptures(sel, source, "false", ignoreSource)
	}
	return c
}

// excludes reports whether a basic selector's exclusions drop events of
// source; when every source is audited, any exclusion does.
func excludes(excluded []string, source string) bool {
	if source == events.AllEventSources {
		return len(excluded) > 0
	}
	return slices.ContainsFunc(excluded, func(x string) bool { return strings.EqualFold(x, source) })
}

// advancedCaptures reports whether every management event of source with
// the given readOnly value passes the selector. A condition on any other
// field (eventName, userIdentity.arn...) keeps only some of those events,
// so such a selector does not count as capturing the source.
func advancedCaptures(sel AdvancedEventSelector, source, readOnly string, ignoreSource bool) bool {
	management := false
	for _, fs := range sel.FieldSelectors {
		switch fs.Field {
		case "eventCategory":
			if !fs.holds("Management") {
				return false
			}
			management = true
		case "readOnly":
			if !fs.holds(readOnly) {
				return false
			}
		case "eventSource":
			// Any condition on eventSource keeps some sources out, so no
			// such selector captures every source.
			if !ignoreSource && (source == events.AllEventSources || !fs.holds(source)) {
				return false
			}
		default:
			return false
		}
	}
	return management
}

// holds applies CloudTrail's operators: every non-empty positive list must
// have a match, and no negative list may.
func (fs FieldSelector) holds(value string) bool {
	v := strings.ToLower(value)
	anyOf := func(list []string, test func(v, x string) bool) bool {
		return slices.ContainsFunc(list, func(x string) bool { return test(v, strings.ToLower(x)) })
	}
	eq := func(v, x string) bool { return v == x }
	if len(fs.Equals) > 0 && !anyOf(fs.Equals, eq) {
		return false
	}
	if len(fs.StartsWith) > 0 && !anyOf(fs.StartsWith, strings.HasPrefix) {
		return false
	}
	if len(fs.EndsWith) > 0 && !anyOf(fs.EndsWith, strings.HasSuffix) {
		return false
	}
	return !anyOf(fs.NotEquals, eq) && !anyOf(fs.NotStartsWith, strings.HasPrefix) && !anyOf(fs.NotEndsWith, strings.HasSuffix)
}

const (
	allUsersURI           = "http://acs.amazonaws.com/groups/global/AllUsers"
	authenticatedUsersURI = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"
)

func checkBucketNotPublic(_ *settings, b *Bucket) ([]string, error) {
	var problems []string
	pab := b.PublicAccessBlock
	if !pab.Configured {
		problems = append(problems, fmt.Sprintf("bucket %s has no public access block", b.Name))
	} else {
		var off []string
		for _, f := range []struct {
			name string
			on   bool
		}{
			{"BlockPublicAcls", pab.BlockPublicAcls},
			{"IgnorePublicAcls", pab.IgnorePublicAcls},
			{"BlockPublicPolicy", pab.BlockPublicPolicy},
			{"RestrictPublicBuckets", pab.RestrictPublicBuckets},
		} {
			if !f.on {
				off = append(off, f.name)
			}
		}
		if len(off) > 0 {
			problems = append(problems, fmt.Sprintf("bucket %s public access block has %s off", b.Name, strings.Join(off, ", ")))
		}
	}
	for _, g := range b.ACLGrants {
		if g.GranteeURI == allUsersURI || g.GranteeURI == authenticatedUsersURI {
			problems = append(problems, fmt.Sprintf("bucket %s ACL grants %s to %s", b.Name, g.Permission, g.GranteeURI[strings.LastIndex(g.GranteeURI, "/")+1:]))
		}
	}
	doc, err := iampolicy.Parse(b.Policy)
	if err != nil {
		return nil, fmt.Errorf("bucket %s: %w", b.Name, err)
	}
	for i, st := range doc.Statement {
		if strings.EqualFold(st.Effect, "Allow") && st.Principal.Everyone() && len(st.Condition) == 0 {
			problems = append(problems, fmt.Sprintf("bucket %s policy statement %s allows %s to everyone without a condition",
				b.Name, st.Label(i), strings.Join(st.Action, ", ")))
		}
	}
	return joined(problems), nil
}

func checkBucketAccessLogging(_ *settings, b *Bucket) ([]string, error) {
	if b.AccessLoggingTargetBucket != "" {
		return nil, nil
	}
	return []string{fmt.Sprintf("bucket %s has server access logging off", b.Name)}, nil
}

func checkBucketTLSOnly(_ *settings, b *Bucket) ([]string, error) {
	doc, err := iampolicy.Parse(b.Policy)
	if err != nil {
		return nil, fmt.Errorf("bucket %s: %w", b.Name, err)
	}
	if slices.ContainsFunc(doc.Statement, deniesInsecureTransport) {
		return nil, nil
	}
	return []string{fmt.Sprintf("bucket %s policy has no Deny statement for all principals and s3:* when aws:SecureTransport is false", b.Name)}, nil
}

func checkBucketEncryption(_ *settings, b *Bucket) ([]string, error) {
	switch b.EncryptionAlgorithm {
	case "aws:kms", "aws:kms:dsse":
		return nil, nil
	case "":
		return []string{fmt.Sprintf("bucket %s has no default encryption", b.Name)}, nil
	}
	return []string{fmt.Sprintf("bucket %s default encryption is %s, not a KMS key", b.Name, b.EncryptionAlgorithm)}, nil
}

func checkBucketVersioning(_ *settings, b *Bucket) ([]string, error) {
	if b.VersioningStatus == "Enabled" {
		return nil, nil
	}
	status := b.VersioningStatus
	if status == "" {
		status = "never enabled"
	}
	return []string{fmt.Sprintf("bucket %s versioning is %s", b.Name, status)}, nil
}

func checkBucketRetention(s *settings, b *Bucket) ([]string, error) {
	if b.LogExpirationDays == 0 || b.LogExpirationDays >= s.minRetentionDays {
		return nil, nil
	}
	return []string{fmt.Sprintf("bucket %s expires log files after %d days, less than the minimum of %d",
		b.Name, b.LogExpirationDays, s.minRetentionDays)}, nil
}

func checkBucketOwnership(_ *settings, b *Bucket) ([]string, error) {
	if b.ObjectOwnership == "BucketOwnerEnforced" {
		return nil, nil
	}
	own := b.ObjectOwnership
	if own == "" {
		own = "not set"
	}
	return []string{fmt.Sprintf("bucket %s object ownership is %s, not BucketOwnerEnforced", b.Name, own)}, nil
}

// joined turns a rule's problems with one resource into a single finding.
func joined(problems []string) []string {
	if len(problems) == 0 {
		return nil
	}
	return []string{strings.Join(problems, "; ")}
}

// deniesInsecureTransport reports whether st denies everyone every S3
// action when aws:SecureTransport is false.
func deniesInsecureTransport(st iampolicy.Statement) bool {
	if !strings.EqualFold(st.Effect, "Deny") || !st.Principal.Everyone() {
		return false
	}
	if !slices.ContainsFunc(st.Action, func(a string) bool { return a == "*" || strings.EqualFold(a, "s3:*") }) {
		return false
	}
	for _, op := range []string{"Bool", "BoolIfExists"} {
		if slices.ContainsFunc(st.Condition.Values(op, "aws:SecureTransport"), func(v string) bool { return strings.EqualFold(v, "false") }) {
			return true
		}
	}
	return false
}
