package provider

import (
	"cmp"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/archive"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/awsclient"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/logvalidation"
)

// Validating a trail's log files as `aws cloudtrail validate-logs` does:
// what opsaudit_log_validation and the compliance rule trail_log_integrity
// share. The trail's settings say where its files are; the engine walks
// every source region's digest chain at once.

// trailValidation is what to validate.
type trailValidation struct {
	Trail *trailInfo
	// Account is whose files are validated, a member account for an
	// organization trail; empty means the caller's.
	Account string
	// Regions are the source regions to validate; empty means every source
	// region of the trail (see sourceRegions).
	Regions    []string
	Start, End time.Time
	// Concurrency and MaxProblems are the engine's; 0 means its defaults
	// (32 files at once, every problem).
	Concurrency, MaxProblems int
	OnFile                   func(logvalidation.FileVerdict)
}

// validatedTrail is a validation's result and what it resolved.
type validatedTrail struct {
	Account string
	Regions []string
	Result  *logvalidation.Result
}

// validateTrailLogs finds the trail's bucket, where in it the account's
// files are and which regions to validate, then runs the engine. An error
// means the validation could not start (the bucket's region or folders
// could not be read); a region that fails once started is in the result.
func validateTrailLogs(ctx context.Context, clients *awsclient.Clients, v trailValidation) (*validatedTrail, error) {
	t := v.Trail
	src, err := archiveBucket(ctx, clients, t.S3BucketName)
	if err != nil {
		return nil, err
	}
	out := &validatedTrail{Account: cmp.Or(v.Account, clients.AccountID), Regions: v.Regions}
	loc := archive.Location{Prefix: t.S3KeyPrefix}
	if t.IsOrganizationTrail {
		if loc.OrganizationID, err = organizationFolder(ctx, src, loc, out.Account); err != nil {
			return nil, fmt.Errorf("organization trail %s: %w", t.ARN, err)
		}
	}
	if len(out.Regions) == 0 {
		if out.Regions, err = sourceRegions(ctx, src, loc, out.Account, t); err != nil {
			return nil, err
		}
	}
	out.Result, err = logvalidation.Run(ctx, logvalidation.Config{
		Source: src,
		Bucket: t.S3BucketName,
		OtherBuckets: func(ctx context.Context, bucket string) (archive.Source, error) {
			return archiveBucket(ctx, clients, bucket)
		},
		Location:       loc,
		Account:        out.Account,
		Trail:          t.Name,
		HomeRegion:     t.HomeRegion,
		Regions:        out.Regions,
		Start:          v.Start,
		End:            v.End,
		Keys:           logvalidation.NewCloudTrailKeys(clients.CloudTrail),
		Concurrency:    v.Concurrency,
		MaxProblems:    v.MaxProblems,
		RequireDigests: digestsExpected(t, v.End),
		OnFile:         v.OnFile,
	})
	if err != nil {
		return nil, fmt.Errorf("validating the log files of trail %s: %w", t.ARN, err)
	}
	return out, nil
}

// digestsExpected says whether every source region must have a digest in
// a window ending at end: the trail logs with log file validation on,
// logging started before end, and a digest has been delivered since (so
// validation worked then). CloudTrail delivers a digest for every region
// each hour, log files or not, so the window's regions have digests from
// the first one after the later of its start and the start of logging.
// GetTrailStatus does not say since when validation has been on: a window
// from before it was turned on also expects digests, and is unknown
// rather than a pass.
func digestsExpected(t *trailInfo, end time.Time) bool {
	s := t.Status
	return t.LogFileValidationEnabled && s.IsLogging && !s.StartLoggingTime.IsZero() && s.StartLoggingTime.Before(end) &&
		!s.LatestDigestDeliveryTime.Before(s.StartLoggingTime)
}

// sourceRegions are the regions whose digests the trail writes. A
// single-region trail writes its home region's; a multi-region trail
// writes every region the account has enabled, which is read from the
// bucket (one listing of the account's CloudTrail-Digest folder) rather
// than from EC2 DescribeRegions, which would need another permission and
// could name regions enabled since. Without any folder yet, the home
// region.
func sourceRegions(ctx context.Context, src archive.Source, loc archive.Location, account string, t *trailInfo) ([]string, error) {
	if !t.IsMultiRegionTrail {
		return []string{t.HomeRegion}, nil
	}
	prefix := loc.RegionsPrefix(account, archive.CloudTrailDigestFolder)
	l, err := src.List(ctx, prefix, "/")
	if err != nil {
		return nil, fmt.Errorf("listing the digest folders of trail %s: %w", t.ARN, err)
	}
	var regions []string
	for _, p := range l.Prefixes {
		if r := strings.TrimSuffix(strings.TrimPrefix(p, prefix), "/"); awsclient.KnownRegion(r) {
			regions = append(regions, r)
		}
	}
	if len(regions) == 0 {
		return []string{t.HomeRegion}, nil
	}
	return regions, nil
}

// organizationFolder is the organization id an organization trail writes
// the account's files under: the AWSLogs/o-.../ folder that holds the
// account's digest folder. Reading it from the bucket spares the caller
// the organizations:DescribeOrganization permission, which a member
// account's auditor often lacks.
func organizationFolder(ctx context.Context, src archive.Source, loc archive.Location, account string) (string, error) {
	ids, err := organizationFolders(ctx, src, loc)
	if err != nil {
		return "", err
	}
	var found []string
	for _, id := range ids {
		org := archive.Location{Prefix: loc.Prefix, OrganizationID: id}
		regions, err := src.List(ctx, org.RegionsPrefix(account, archive.CloudTrailDigestFolder), "/")
		if err != nil {
			return "", fmt.Errorf("listing the digest folders of account %s under %s: %w", account, id, err)
		}
		if len(regions.Prefixes) > 0 {
			found = append(found, id)
		}
	}
	switch len(found) {
	case 0:
		return "", fmt.Errorf("no digest folder of account %s under %s/%so-*/: check account_id, and that the "+
			"trail has log file validation on", account, src.Name(), loc.AccountsPrefix())
	case 1:
		return found[0], nil
	}
	return "", fmt.Errorf("account %s has digest folders under several organizations in %s/%s (%s)", account,
		src.Name(), loc.AccountsPrefix(), strings.Join(found, ", "))
}

// validationReasons say why a result is unknown: each region that could
// not be validated, in the result's order.
func validationReasons(res *logvalidation.Result) []string {
	var out []string
	for _, r := range res.Regions {
		if r.Error != "" {
			out = append(out, fmt.Sprintf("region %s: %s", r.Region, r.Error))
		}
	}
	return out
}
