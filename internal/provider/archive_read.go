package provider

import (
	"context"
	"fmt"
	"strings"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/archive"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/awsclient"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/bucketpolicy"
)

// Where a trail's log files are, for the data sources that read them:
// opsaudit_archive_events and opsaudit_compliance with events_from =
// "archive".

// archiveBucket reads a bucket through a client of its region.
func archiveBucket(ctx context.Context, clients *awsclient.Clients, name string) (*archive.Bucket, error) {
	client, err := bucketClient(ctx, clients, name)
	if err != nil {
		return nil, err
	}
	return archive.NewBucket(client, name), nil
}

// trailArchive opens the trail's bucket and says where in it the trail
// writes. An organization trail writes under AWSLogs/<organization id>/,
// which GetTrail does not tell: it is read from the bucket, which spares
// the caller organizations:DescribeOrganization, a permission a member
// account's auditor often lacks.
func trailArchive(ctx context.Context, clients *awsclient.Clients, t *trailInfo) (*archive.Bucket, archive.Location, error) {
	loc := archive.Location{Prefix: t.S3KeyPrefix}
	src, err := archiveBucket(ctx, clients, t.S3BucketName)
	if err != nil {
		return nil, loc, err
	}
	if !t.IsOrganizationTrail {
		return src, loc, nil
	}
	orgs, err := organizationFolders(ctx, src, loc)
	if err != nil {
		return nil, loc, fmt.Errorf("organization trail %s: %w", t.ARN, err)
	}
	switch len(orgs) {
	case 1:
		loc.OrganizationID = orgs[0]
		return src, loc, nil
	case 0:
		return nil, loc, fmt.Errorf("organization trail %s: no organization folder under %s/%s: the trail has "+
			"delivered no log file yet, or its files are elsewhere", t.ARN, src.Name(), loc.AccountsPrefix())
	}
	return nil, loc, fmt.Errorf("organization trail %s: several organization folders under %s/%s (%s): read the "+
		"bucket with bucket and organization_id instead of trail", t.ARN, src.Name(), loc.AccountsPrefix(), strings.Join(orgs, ", "))
}

// organizationFolders are the organization ids with a folder where loc's
// account folders are, sorted.
func organizationFolders(ctx context.Context, src archive.Source, loc archive.Location) ([]string, error) {
	prefix := loc.AccountsPrefix()
	l, err := src.List(ctx, prefix, "/")
	if err != nil {
		return nil, fmt.Errorf("listing the organization folders under %s/%s: %w", src.Name(), prefix, err)
	}
	var ids []string
	for _, p := range l.Prefixes {
		if id := strings.TrimSuffix(strings.TrimPrefix(p, prefix), "/"); bucketpolicy.OrganizationIDPattern.MatchString(id) {
			ids = append(ids, id)
		}
	}
	return ids, nil
}
