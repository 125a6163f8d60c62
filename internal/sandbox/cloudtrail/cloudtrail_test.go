package cloudtrail_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go/middleware"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox/sandboxtest"
)

const ctAcct = sandbox.DefaultAccount

// setupTrailBucket creates a bucket whose policy admits the named trail.
func setupTrailBucket(t *testing.T, e *sandboxtest.Env, region, bucket, prefix, home, name string) {
	e.MakeBucket(t, region, bucket, sandboxtest.TrailPolicy(bucket, prefix, ctAcct, sandboxtest.TrailARN(home, ctAcct, name)))
}

func TestCloudTrailTrailLifecycle(t *testing.T) {
	e := sandboxtest.New(t, sandbox.Options{NoHistory: true})
	ctx := context.Background()
	home, other := e.CloudTrail("us-east-1"), e.CloudTrail("eu-west-1")
	setupTrailBucket(t, e, "us-east-1", "audit-logs", "ct", "us-east-1", "org-audit")

	created, err := home.CreateTrail(ctx, &cloudtrail.CreateTrailInput{
		Name: aws.String("org-audit"), S3BucketName: aws.String("audit-logs"), S3KeyPrefix: aws.String("ct"),
		IsMultiRegionTrail: aws.Bool(true), EnableLogFileValidation: aws.Bool(true),
		TagsList: []cttypes.Tag{{Key: aws.String("team"), Value: aws.String("sec")}},
	})
	if err != nil {
		t.Fatalf("CreateTrail: %v", err)
	}
	arn := sandboxtest.TrailARN("us-east-1", ctAcct, "org-audit")
	if aws.ToString(created.TrailARN) != arn || !aws.ToBool(created.IsMultiRegionTrail) ||
		!aws.ToBool(created.IncludeGlobalServiceEvents) || !aws.ToBool(created.LogFileValidationEnabled) {
		t.Fatalf("CreateTrail output = %+v", created)
	}

	// Visible from its home region and, as a shadow, from another.
	for _, c := range []*cloudtrail.Client{home, other} {
		got, err := c.GetTrail(ctx, &cloudtrail.GetTrailInput{Name: aws.String("org-audit")})
		if err != nil {
			t.Fatalf("GetTrail: %v", err)
		}
		if aws.ToString(got.Trail.HomeRegion) != "us-east-1" || aws.ToString(got.Trail.TrailARN) != arn ||
			aws.ToBool(got.Trail.HasCustomEventSelectors) || aws.ToBool(got.Trail.HasInsightSelectors) {
			t.Fatalf("GetTrail = %+v", got.Trail)
		}
	}
	byARN, err := other.GetTrail(ctx, &cloudtrail.GetTrailInput{Name: aws.String(arn)})
	if err != nil || aws.ToString(byARN.Trail.Name) != "org-audit" {
		t.Fatalf("GetTrail by ARN = %+v, %v", byARN, err)
	}
	shadows, err := other.DescribeTrails(ctx, &cloudtrail.DescribeTrailsInput{})
	if err != nil || len(shadows.TrailList) != 1 || aws.ToString(shadows.TrailList[0].HomeRegion) != "us-east-1" {
		t.Fatalf("DescribeTrails from eu-west-1 = %+v, %v", shadows, err)
	}
	noShadows, err := other.DescribeTrails(ctx, &cloudtrail.DescribeTrailsInput{IncludeShadowTrails: aws.Bool(false)})
	if err != nil || len(noShadows.TrailList) != 0 {
		t.Fatalf("DescribeTrails without shadows = %+v, %v", noShadows, err)
	}
	named, err := home.DescribeTrails(ctx, &cloudtrail.DescribeTrailsInput{TrailNameList: []string{"org-audit", "no-such-trail"}})
	if err != nil || len(named.TrailList) != 1 {
		t.Fatalf("DescribeTrails by name = %+v, %v", named, err)
	}
	list, err := other.ListTrails(ctx, &cloudtrail.ListTrailsInput{})
	if err != nil || len(list.Trails) != 1 || aws.ToString(list.Trails[0].HomeRegion) != "us-east-1" {
		t.Fatalf("ListTrails = %+v, %v", list, err)
	}

	// Changes only from the home region.
	_, err = other.UpdateTrail(ctx, &cloudtrail.UpdateTrailInput{Name: aws.String("org-audit"), EnableLogFileValidation: aws.Bool(false)})
	sandboxtest.WantCode(t, err, "InvalidHomeRegionException")
	_, err = other.StartLogging(ctx, &cloudtrail.StartLoggingInput{Name: aws.String(arn)})
	sandboxtest.WantCode(t, err, "InvalidHomeRegionException")
	_, err = other.DeleteTrail(ctx, &cloudtrail.DeleteTrailInput{Name: aws.String("org-audit")})
	sandboxtest.WantCode(t, err, "InvalidHomeRegionException")

	upd, err := home.UpdateTrail(ctx, &cloudtrail.UpdateTrailInput{Name: aws.String(arn), EnableLogFileValidation: aws.Bool(false), KmsKeyId: aws.String("alias/cloudtrail")})
	if err != nil {
		t.Fatalf("UpdateTrail: %v", err)
	}
	if aws.ToBool(upd.LogFileValidationEnabled) || !strings.HasPrefix(aws.ToString(upd.KmsKeyId), "arn:aws:kms:us-east-1:"+ctAcct+":key/") {
		t.Fatalf("UpdateTrail output = %+v", upd)
	}
	if !aws.ToBool(upd.IsMultiRegionTrail) || aws.ToString(upd.S3KeyPrefix) != "ct" {
		t.Fatalf("UpdateTrail lost settings it was not given: %+v", upd)
	}

	// New trails do not log until StartLogging.
	st, err := home.GetTrailStatus(ctx, &cloudtrail.GetTrailStatusInput{Name: aws.String("org-audit")})
	if err != nil || aws.ToBool(st.IsLogging) || st.StartLoggingTime != nil {
		t.Fatalf("GetTrailStatus before StartLogging = %+v, %v", st, err)
	}
	if _, err := home.StartLogging(ctx, &cloudtrail.StartLoggingInput{Name: aws.String("org-audit")}); err != nil {
		t.Fatalf("StartLogging: %v", err)
	}
	st, err = other.GetTrailStatus(ctx, &cloudtrail.GetTrailStatusInput{Name: aws.String(arn)})
	if err != nil || !aws.ToBool(st.IsLogging) || !aws.ToTime(st.StartLoggingTime).Equal(sandboxtest.Now) {
		t.Fatalf("GetTrailStatus after StartLogging = %+v, %v", st, err)
	}
	e.Clock.Advance(time.Minute)
	if _, err := home.StopLogging(ctx, &cloudtrail.StopLoggingInput{Name: aws.String("org-audit")}); err != nil {
		t.Fatalf("StopLogging: %v", err)
	}
	st, err = home.GetTrailStatus(ctx, &cloudtrail.GetTrailStatusInput{Name: aws.String("org-audit")})
	if err != nil || aws.ToBool(st.IsLogging) || !aws.ToTime(st.StopLoggingTime).Equal(sandboxtest.Now.Add(time.Minute)) {
		t.Fatalf("GetTrailStatus after StopLogging = %+v, %v", st, err)
	}

	if _, err := home.DeleteTrail(ctx, &cloudtrail.DeleteTrailInput{Name: aws.String("org-audit")}); err != nil {
		t.Fatalf("DeleteTrail: %v", err)
	}
	_, err = home.GetTrail(ctx, &cloudtrail.GetTrailInput{Name: aws.String("org-audit")})
	sandboxtest.WantCode(t, err, "TrailNotFoundException")
	_, err = home.GetTrailStatus(ctx, &cloudtrail.GetTrailStatusInput{Name: aws.String(arn)})
	sandboxtest.WantCode(t, err, "TrailNotFoundException")
}

func TestCloudTrailSingleRegionTrailIsLocal(t *testing.T) {
	e := sandboxtest.New(t, sandbox.Options{NoHistory: true})
	ctx := context.Background()
	setupTrailBucket(t, e, "us-east-1", "local-logs", "", "us-west-2", "local")
	west := e.CloudTrail("us-west-2")
	if _, err := west.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String("local"), S3BucketName: aws.String("local-logs")}); err != nil {
		t.Fatalf("CreateTrail: %v", err)
	}
	_, err := e.CloudTrail("us-east-1").GetTrail(ctx, &cloudtrail.GetTrailInput{Name: aws.String("local")})
	sandboxtest.WantCode(t, err, "TrailNotFoundException")
	// The same name is free in another region for a single-region trail,
	// but not for a multi-region one, which would occupy every region.
	setupTrailBucket(t, e, "us-east-1", "east-logs", "", "us-east-1", "local")
	_, err = e.CloudTrail("us-east-1").CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String("local"), S3BucketName: aws.String("east-logs"), IsMultiRegionTrail: aws.Bool(true)})
	sandboxtest.WantCode(t, err, "TrailAlreadyExistsException")
	if _, err := e.CloudTrail("us-east-1").CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String("local"), S3BucketName: aws.String("east-logs")}); err != nil {
		t.Fatalf("CreateTrail of the same name in another region: %v", err)
	}
	_, err = west.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String("local"), S3BucketName: aws.String("local-logs")})
	sandboxtest.WantCode(t, err, "TrailAlreadyExistsException")
}

func TestCloudTrailCreateValidation(t *testing.T) {
	e := sandboxtest.New(t, sandbox.Options{NoHistory: true})
	ctx := context.Background()
	c := e.CloudTrail("us-east-1")
	setupTrailBucket(t, e, "us-east-1", "good-bucket", "", "us-east-1", "trail-one")
	e.MakeBucket(t, "us-east-1", "no-policy", "")
	e.MakeBucket(t, "us-east-1", "wrong-source", sandboxtest.TrailPolicy("wrong-source", "", ctAcct, sandboxtest.TrailARN("us-east-1", ctAcct, "other")))
	e.MakeBucket(t, "us-east-1", "wrong-prefix", sandboxtest.TrailPolicy("wrong-prefix", "elsewhere", ctAcct, sandboxtest.TrailARN("us-east-1", ctAcct, "trail-one")))
	e.MakeBucket(t, "us-east-1", "wildcard", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
	  "Principal":{"Service":["cloudtrail.amazonaws.com"]},"Action":["s3:GetBucketAcl","s3:Put*"],
	  "Resource":["arn:aws:s3:::wildcard","arn:aws:s3:::wildcard/*"],
	  "Condition":{"ArnLike":{"aws:SourceArn":"arn:aws:cloudtrail:*:`+ctAcct+`:trail/*"}}}]}`)

	for _, tc := range []struct {
		name string
		in   cloudtrail.CreateTrailInput
		want string
	}{
		{"too short", cloudtrail.CreateTrailInput{Name: aws.String("ab")}, "InvalidTrailNameException"},
		{"too long", cloudtrail.CreateTrailInput{Name: aws.String(strings.Repeat("a", 129))}, "InvalidTrailNameException"},
		{"bad char", cloudtrail.CreateTrailInput{Name: aws.String("my trail")}, "InvalidTrailNameException"},
		{"starts with dash", cloudtrail.CreateTrailInput{Name: aws.String("-trail")}, "InvalidTrailNameException"},
		{"ends with period", cloudtrail.CreateTrailInput{Name: aws.String("trail.")}, "InvalidTrailNameException"},
		{"adjacent ._", cloudtrail.CreateTrailInput{Name: aws.String("my._trail")}, "InvalidTrailNameException"},
		{"adjacent ..", cloudtrail.CreateTrailInput{Name: aws.String("my..trail")}, "InvalidTrailNameException"},
		{"adjacent -_", cloudtrail.CreateTrailInput{Name: aws.String("my-_trail")}, "InvalidTrailNameException"},
		{"adjacent -.", cloudtrail.CreateTrailInput{Name: aws.String("my-.trail")}, "InvalidTrailNameException"},
		{"IP address", cloudtrail.CreateTrailInput{Name: aws.String("192.168.5.4")}, "InvalidTrailNameException"},
		{"no bucket", cloudtrail.CreateTrailInput{Name: aws.String("trail-one"), S3BucketName: aws.String("missing-bucket")}, "S3BucketDoesNotExistException"},
		{"no policy", cloudtrail.CreateTrailInput{Name: aws.String("trail-one"), S3BucketName: aws.String("no-policy")}, "InsufficientS3BucketPolicyException"},
		{"policy for another trail", cloudtrail.CreateTrailInput{Name: aws.String("trail-one"), S3BucketName: aws.String("wrong-source")}, "InsufficientS3BucketPolicyException"},
		{"policy for another prefix", cloudtrail.CreateTrailInput{Name: aws.String("trail-one"), S3BucketName: aws.String("wrong-prefix")}, "InsufficientS3BucketPolicyException"},
		{"multi-region without global events", cloudtrail.CreateTrailInput{Name: aws.String("trail-one"), S3BucketName: aws.String("good-bucket"),
			IsMultiRegionTrail: aws.Bool(true), IncludeGlobalServiceEvents: aws.Bool(false)}, "InvalidParameterCombinationException"},
		{"log group without role", cloudtrail.CreateTrailInput{Name: aws.String("trail-one"), S3BucketName: aws.String("good-bucket"),
			CloudWatchLogsLogGroupArn: aws.String("arn:aws:logs:us-east-1:" + ctAcct + ":log-group:ct:*")}, "InvalidCloudWatchLogsRoleArnException"},
		{"role without log group", cloudtrail.CreateTrailInput{Name: aws.String("trail-one"), S3BucketName: aws.String("good-bucket"),
			CloudWatchLogsRoleArn: aws.String("arn:aws:iam::" + ctAcct + ":role/ct")}, "InvalidCloudWatchLogsLogGroupArnException"},
		{"bad log group", cloudtrail.CreateTrailInput{Name: aws.String("trail-one"), S3BucketName: aws.String("good-bucket"),
			CloudWatchLogsLogGroupArn: aws.String("ct-group"), CloudWatchLogsRoleArn: aws.String("arn:aws:iam::" + ctAcct + ":role/ct")}, "InvalidCloudWatchLogsLogGroupArnException"},
		{"bad KMS key", cloudtrail.CreateTrailInput{Name: aws.String("trail-one"), S3BucketName: aws.String("good-bucket"), KmsKeyId: aws.String("my key")}, "InvalidKmsKeyIdException"},
		{"KMS key in another region", cloudtrail.CreateTrailInput{Name: aws.String("trail-one"), S3BucketName: aws.String("good-bucket"),
			KmsKeyId: aws.String("arn:aws:kms:eu-west-1:" + ctAcct + ":key/1234abcd-12ab-34cd-56ef-1234567890ab")}, "KmsKeyNotFoundException"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.in.S3BucketName == nil {
				tc.in.S3BucketName = aws.String("good-bucket")
			}
			_, err := c.CreateTrail(ctx, &tc.in)
			sandboxtest.WantCode(t, err, tc.want)
		})
	}

	// Valid settings are kept and reported as AWS reports them.
	out, err := c.CreateTrail(ctx, &cloudtrail.CreateTrailInput{
		Name: aws.String("trail-one"), S3BucketName: aws.String("good-bucket"),
		CloudWatchLogsLogGroupArn: aws.String("arn:aws:logs:us-east-1:" + ctAcct + ":log-group:ct:*"),
		CloudWatchLogsRoleArn:     aws.String("arn:aws:iam::" + ctAcct + ":role/ct"),
		KmsKeyId:                  aws.String("1234abcd-12ab-34cd-56ef-1234567890ab"),
		SnsTopicName:              aws.String("ct-topic"),
	})
	if err != nil {
		t.Fatalf("CreateTrail: %v", err)
	}
	if aws.ToString(out.KmsKeyId) != "arn:aws:kms:us-east-1:"+ctAcct+":key/1234abcd-12ab-34cd-56ef-1234567890ab" ||
		aws.ToString(out.SnsTopicARN) != "arn:aws:sns:us-east-1:"+ctAcct+":ct-topic" || aws.ToBool(out.IsMultiRegionTrail) {
		t.Fatalf("CreateTrail output = %+v", out)
	}
	_, err = c.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String("trail-one"), S3BucketName: aws.String("good-bucket")})
	sandboxtest.WantCode(t, err, "TrailAlreadyExistsException")
	// Wildcards in actions, resources and ArnLike conditions are honoured.
	if _, err := c.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String("trail-two"), S3BucketName: aws.String("wildcard")}); err != nil {
		t.Fatalf("CreateTrail with a wildcard policy: %v", err)
	}
	// UpdateTrail checks a new bucket too.
	_, err = c.UpdateTrail(ctx, &cloudtrail.UpdateTrailInput{Name: aws.String("trail-two"), S3BucketName: aws.String("no-policy")})
	sandboxtest.WantCode(t, err, "InsufficientS3BucketPolicyException")
	_, err = c.UpdateTrail(ctx, &cloudtrail.UpdateTrailInput{Name: aws.String("trail-two"), S3BucketName: aws.String("missing-bucket")})
	sandboxtest.WantCode(t, err, "S3BucketDoesNotExistException")
	_, err = c.UpdateTrail(ctx, &cloudtrail.UpdateTrailInput{Name: aws.String("absent")})
	sandboxtest.WantCode(t, err, "TrailNotFoundException")
	_, err = c.GetTrail(ctx, &cloudtrail.GetTrailInput{Name: aws.String("arn:aws:cloudtrail:us-east-1:" + ctAcct)})
	sandboxtest.WantCode(t, err, "CloudTrailARNInvalidException")
}

func TestCloudTrailPolicyPropagationDelay(t *testing.T) {
	e := sandboxtest.New(t, sandbox.Options{NoHistory: true, PolicyPropagationDelay: 30 * time.Second})
	ctx := context.Background()
	c := e.CloudTrail("us-east-1")
	setupTrailBucket(t, e, "us-east-1", "fresh-bucket", "", "us-east-1", "fresh")
	in := &cloudtrail.CreateTrailInput{Name: aws.String("fresh"), S3BucketName: aws.String("fresh-bucket")}
	_, err := c.CreateTrail(ctx, in)
	sandboxtest.WantCode(t, err, "InsufficientS3BucketPolicyException")
	e.Clock.Advance(29 * time.Second)
	_, err = c.CreateTrail(ctx, in)
	sandboxtest.WantCode(t, err, "InsufficientS3BucketPolicyException")
	e.Clock.Advance(2 * time.Second)
	if _, err := c.CreateTrail(ctx, in); err != nil {
		t.Fatalf("CreateTrail after the policy propagated: %v", err)
	}
}

func TestCloudTrailEventSelectors(t *testing.T) {
	e := sandboxtest.New(t, sandbox.Options{NoHistory: true})
	ctx := context.Background()
	c := e.CloudTrail("us-east-1")
	setupTrailBucket(t, e, "us-east-1", "sel-bucket", "", "us-east-1", "sel")
	if _, err := c.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String("sel"), S3BucketName: aws.String("sel-bucket"), IsMultiRegionTrail: aws.Bool(true)}); err != nil {
		t.Fatalf("CreateTrail: %v", err)
	}
	got, err := c.GetEventSelectors(ctx, &cloudtrail.GetEventSelectorsInput{TrailName: aws.String("sel")})
	if err != nil || len(got.EventSelectors) != 1 || got.EventSelectors[0].ReadWriteType != cttypes.ReadWriteTypeAll ||
		!aws.ToBool(got.EventSelectors[0].IncludeManagementEvents) || got.AdvancedEventSelectors != nil {
		t.Fatalf("default GetEventSelectors = %+v, %v", got, err)
	}

	_, err = c.PutEventSelectors(ctx, &cloudtrail.PutEventSelectorsInput{TrailName: aws.String("sel"), EventSelectors: []cttypes.EventSelector{
		{ReadWriteType: cttypes.ReadWriteTypeWriteOnly, IncludeManagementEvents: aws.Bool(true)},
	}})
	if err != nil {
		t.Fatalf("PutEventSelectors basic: %v", err)
	}
	_, err = c.PutEventSelectors(ctx, &cloudtrail.PutEventSelectorsInput{TrailName: aws.String("sel"), AdvancedEventSelectors: []cttypes.AdvancedEventSelector{{
		Name: aws.String("management writes"),
		FieldSelectors: []cttypes.AdvancedFieldSelector{
			{Field: aws.String("eventCategory"), Equals: []string{"Management"}},
			{Field: aws.String("readOnly"), Equals: []string{"false"}},
		},
	}}})
	if err != nil {
		t.Fatalf("PutEventSelectors advanced: %v", err)
	}
	got, err = c.GetEventSelectors(ctx, &cloudtrail.GetEventSelectorsInput{TrailName: aws.String(sandboxtest.TrailARN("us-east-1", ctAcct, "sel"))})
	if err != nil || len(got.EventSelectors) != 0 || len(got.AdvancedEventSelectors) != 1 ||
		aws.ToString(got.AdvancedEventSelectors[0].Name) != "management writes" {
		t.Fatalf("GetEventSelectors after advanced = %+v, %v", got, err)
	}
	tr, err := c.GetTrail(ctx, &cloudtrail.GetTrailInput{Name: aws.String("sel")})
	if err != nil || !aws.ToBool(tr.Trail.HasCustomEventSelectors) {
		t.Fatalf("HasCustomEventSelectors after advanced = %+v, %v", tr, err)
	}
	_, err = c.PutEventSelectors(ctx, &cloudtrail.PutEventSelectorsInput{TrailName: aws.String("sel"), EventSelectors: []cttypes.EventSelector{
		{ReadWriteType: cttypes.ReadWriteTypeAll, IncludeManagementEvents: aws.Bool(true),
			DataResources: []cttypes.DataResource{{Type: aws.String("AWS::S3::Object"), Values: []string{"arn:aws:s3:::sel-bucket/"}}}},
	}})
	if err != nil {
		t.Fatalf("PutEventSelectors basic again: %v", err)
	}
	got, err = c.GetEventSelectors(ctx, &cloudtrail.GetEventSelectorsInput{TrailName: aws.String("sel")})
	if err != nil || len(got.AdvancedEventSelectors) != 0 || len(got.EventSelectors) != 1 || len(got.EventSelectors[0].DataResources) != 1 {
		t.Fatalf("GetEventSelectors after basic again = %+v, %v", got, err)
	}

	six := make([]cttypes.EventSelector, 6)
	for i := range six {
		six[i] = cttypes.EventSelector{ReadWriteType: cttypes.ReadWriteTypeAll}
	}
	for _, tc := range []struct {
		name string
		in   cloudtrail.PutEventSelectorsInput
		want string
	}{
		{"six basic selectors", cloudtrail.PutEventSelectorsInput{EventSelectors: six}, "InvalidEventSelectorsException"},
		{"bad data resource type", cloudtrail.PutEventSelectorsInput{EventSelectors: []cttypes.EventSelector{{
			DataResources: []cttypes.DataResource{{Type: aws.String("AWS::EC2::Instance"), Values: []string{"arn:aws:ec2"}}}}}}, "InvalidEventSelectorsException"},
		{"bad exclusion", cloudtrail.PutEventSelectorsInput{EventSelectors: []cttypes.EventSelector{{
			ExcludeManagementEventSources: []string{"s3.amazonaws.com"}}}}, "InvalidEventSelectorsException"},
		{"both kinds", cloudtrail.PutEventSelectorsInput{
			EventSelectors: []cttypes.EventSelector{{ReadWriteType: cttypes.ReadWriteTypeAll}},
			AdvancedEventSelectors: []cttypes.AdvancedEventSelector{{FieldSelectors: []cttypes.AdvancedFieldSelector{
				{Field: aws.String("eventCategory"), Equals: []string{"Management"}}}}}}, "InvalidParameterCombinationException"},
		{"unknown field", cloudtrail.PutEventSelectorsInput{AdvancedEventSelectors: []cttypes.AdvancedEventSelector{{FieldSelectors: []cttypes.AdvancedFieldSelector{
			{Field: aws.String("eventCategory"), Equals: []string{"Management"}}, {Field: aws.String("colour"), Equals: []string{"red"}}}}}}, "InvalidEventSelectorsException"},
		{"no category", cloudtrail.PutEventSelectorsInput{AdvancedEventSelectors: []cttypes.AdvancedEventSelector{{FieldSelectors: []cttypes.AdvancedFieldSelector{
			{Field: aws.String("readOnly"), Equals: []string{"true"}}}}}}, "InvalidEventSelectorsException"},
		{"bad readOnly", cloudtrail.PutEventSelectorsInput{AdvancedEventSelectors: []cttypes.AdvancedEventSelector{{FieldSelectors: []cttypes.AdvancedFieldSelector{
			{Field: aws.String("eventCategory"), Equals: []string{"Management"}}, {Field: aws.String("readOnly"), Equals: []string{"yes"}}}}}}, "InvalidEventSelectorsException"},
		{"management source included", cloudtrail.PutEventSelectorsInput{AdvancedEventSelectors: []cttypes.AdvancedEventSelector{{FieldSelectors: []cttypes.AdvancedFieldSelector{
			{Field: aws.String("eventCategory"), Equals: []string{"Management"}}, {Field: aws.String("eventSource"), Equals: []string{"opsworks-cm.amazonaws.com"}}}}}}, "InvalidEventSelectorsException"},
		{"management source other than kms or rdsdata excluded", cloudtrail.PutEventSelectorsInput{AdvancedEventSelectors: []cttypes.AdvancedEventSelector{{FieldSelectors: []cttypes.AdvancedFieldSelector{
			{Field: aws.String("eventCategory"), Equals: []string{"Management"}}, {Field: aws.String("eventSource"), NotEquals: []string{"s3.amazonaws.com"}}}}}}, "InvalidEventSelectorsException"},
		{"data without resources.type", cloudtrail.PutEventSelectorsInput{AdvancedEventSelectors: []cttypes.AdvancedEventSelector{{FieldSelectors: []cttypes.AdvancedFieldSelector{
			{Field: aws.String("eventCategory"), Equals: []string{"Data"}}}}}}, "InvalidEventSelectorsException"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.in.TrailName = aws.String("sel")
			_, err := c.PutEventSelectors(ctx, &tc.in)
			sandboxtest.WantCode(t, err, tc.want)
		})
	}
	_, err = e.CloudTrail("eu-west-1").PutEventSelectors(ctx, &cloudtrail.PutEventSelectorsInput{TrailName: aws.String("sel"),
		EventSelectors: []cttypes.EventSelector{{ReadWriteType: cttypes.ReadWriteTypeAll}}})
	sandboxtest.WantCode(t, err, "InvalidHomeRegionException")

	// Insight selectors.
	_, err = c.GetInsightSelectors(ctx, &cloudtrail.GetInsightSelectorsInput{TrailName: aws.String("sel")})
	sandboxtest.WantCode(t, err, "InsightNotEnabledException")
	_, err = c.PutInsightSelectors(ctx, &cloudtrail.PutInsightSelectorsInput{TrailName: aws.String("sel"),
		InsightSelectors: []cttypes.InsightSelector{{InsightType: "ApiCallRateInsight"}, {InsightType: "ApiCallRateInsight"}}})
	sandboxtest.WantCode(t, err, "InvalidInsightSelectorsException")
	if _, err := c.PutInsightSelectors(ctx, &cloudtrail.PutInsightSelectorsInput{TrailName: aws.String("sel"),
		InsightSelectors: []cttypes.InsightSelector{{InsightType: cttypes.InsightTypeApiErrorRateInsight}}}); err != nil {
		t.Fatalf("PutInsightSelectors: %v", err)
	}
	ins, err := c.GetInsightSelectors(ctx, &cloudtrail.GetInsightSelectorsInput{TrailName: aws.String("sel")})
	if err != nil || len(ins.InsightSelectors) != 1 || ins.InsightSelectors[0].InsightType != cttypes.InsightTypeApiErrorRateInsight {
		t.Fatalf("GetInsightSelectors = %+v, %v", ins, err)
	}
	tr, err = c.GetTrail(ctx, &cloudtrail.GetTrailInput{Name: aws.String("sel")})
	if err != nil || !aws.ToBool(tr.Trail.HasInsightSelectors) {
		t.Fatalf("HasInsightSelectors = %+v, %v", tr, err)
	}
}

func TestCloudTrailTags(t *testing.T) {
	e := sandboxtest.New(t, sandbox.Options{NoHistory: true})
	ctx := context.Background()
	c := e.CloudTrail("us-east-1")
	setupTrailBucket(t, e, "us-east-1", "tag-bucket", "", "us-east-1", "tagged")
	if _, err := c.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String("tagged"), S3BucketName: aws.String("tag-bucket"),
		TagsList: []cttypes.Tag{{Key: aws.String("a"), Value: aws.String("1")}}}); err != nil {
		t.Fatalf("CreateTrail: %v", err)
	}
	arn := sandboxtest.TrailARN("us-east-1", ctAcct, "tagged")
	if _, err := c.AddTags(ctx, &cloudtrail.AddTagsInput{ResourceId: aws.String(arn), TagsList: []cttypes.Tag{
		{Key: aws.String("a"), Value: aws.String("2")}, {Key: aws.String("b"), Value: aws.String("3")}}}); err != nil {
		t.Fatalf("AddTags: %v", err)
	}
	if _, err := c.RemoveTags(ctx, &cloudtrail.RemoveTagsInput{ResourceId: aws.String(arn), TagsList: []cttypes.Tag{{Key: aws.String("b")}}}); err != nil {
		t.Fatalf("RemoveTags: %v", err)
	}
	lt, err := c.ListTags(ctx, &cloudtrail.ListTagsInput{ResourceIdList: []string{arn}})
	if err != nil || len(lt.ResourceTagList) != 1 || len(lt.ResourceTagList[0].TagsList) != 1 ||
		aws.ToString(lt.ResourceTagList[0].TagsList[0].Key) != "a" || aws.ToString(lt.ResourceTagList[0].TagsList[0].Value) != "2" {
		t.Fatalf("ListTags = %+v, %v", lt, err)
	}
	_, err = c.ListTags(ctx, &cloudtrail.ListTagsInput{ResourceIdList: []string{"tagged"}})
	sandboxtest.WantCode(t, err, "CloudTrailARNInvalidException")
	_, err = c.AddTags(ctx, &cloudtrail.AddTagsInput{ResourceId: aws.String(sandboxtest.TrailARN("us-east-1", ctAcct, "gone")), TagsList: []cttypes.Tag{{Key: aws.String("x")}}})
	sandboxtest.WantCode(t, err, "ResourceNotFoundException")
	_, err = c.AddTags(ctx, &cloudtrail.AddTagsInput{ResourceId: aws.String(arn), TagsList: []cttypes.Tag{{Key: aws.String("aws:reserved")}}})
	sandboxtest.WantCode(t, err, "InvalidTagParameterException")
	many := make([]cttypes.Tag, 50)
	for i := range many {
		many[i] = cttypes.Tag{Key: aws.String(strings.Repeat("k", i+1))}
	}
	_, err = c.AddTags(ctx, &cloudtrail.AddTagsInput{ResourceId: aws.String(arn), TagsList: many})
	sandboxtest.WantCode(t, err, "TagsLimitExceededException")
}

// TestCloudTrailLogDelivery checks that a logging trail writes its
// region's records into its bucket, and reports a bucket it cannot write.
func TestCloudTrailLogDelivery(t *testing.T) {
	e := sandboxtest.New(t, sandbox.Options{NoHistory: true})
	ctx := context.Background()
	c := e.CloudTrail("us-east-1")
	setupTrailBucket(t, e, "us-east-1", "deliver-bucket", "p", "us-east-1", "deliver")
	if _, err := c.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String("deliver"), S3BucketName: aws.String("deliver-bucket"),
		S3KeyPrefix: aws.String("p"), IsMultiRegionTrail: aws.Bool(true)}); err != nil {
		t.Fatalf("CreateTrail: %v", err)
	}
	e.Clock.Advance(time.Second)
	if _, err := c.StartLogging(ctx, &cloudtrail.StartLoggingInput{Name: aws.String("deliver")}); err != nil {
		t.Fatalf("StartLogging: %v", err)
	}
	e.Clock.Advance(time.Minute)
	// Records from another region reach a multi-region trail.
	if err := e.Server.AddRecords(strings.NewReader(`{"Records":[` + testRecord("ext-1", "DeleteServer", "eu-west-1", sandboxtest.Now.Add(30*time.Second), false) + `]}`)); err != nil {
		t.Fatalf("AddRecords: %v", err)
	}
	st, err := c.GetTrailStatus(ctx, &cloudtrail.GetTrailStatusInput{Name: aws.String("deliver")})
	if err != nil || st.LatestDeliveryTime == nil || aws.ToString(st.LatestDeliveryError) != "" {
		t.Fatalf("GetTrailStatus = %+v, %v", st, err)
	}
	objs, err := e.S3("us-east-1").ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("deliver-bucket"), Prefix: aws.String("p/AWSLogs/" + ctAcct + "/CloudTrail/")})
	if err != nil {
		t.Fatalf("ListObjectsV2: %v", err)
	}
	names := map[string]bool{}
	regions := map[string]bool{}
	for _, o := range objs.Contents {
		key := aws.ToString(o.Key)
		parts := strings.Split(key, "/")
		if len(parts) != 9 || !strings.HasSuffix(key, ".json.gz") || !strings.HasPrefix(parts[8], ctAcct+"_CloudTrail_"+parts[4]+"_20250615T") {
			t.Fatalf("log file key %q is not CloudTrail's layout", key)
		}
		regions[parts[4]] = true
		get, err := e.S3("us-east-1").GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("deliver-bucket"), Key: o.Key})
		if err != nil {
			t.Fatalf("GetObject %s: %v", key, err)
		}
		zr, err := gzip.NewReader(get.Body)
		if err != nil {
			t.Fatalf("log file %s is not gzipped: %v", key, err)
		}
		var file struct{ Records []map[string]any }
		if err := json.NewDecoder(zr).Decode(&file); err != nil {
			t.Fatalf("log file %s: %v", key, err)
		}
		if err := get.Body.Close(); err != nil {
			t.Fatalf("closing log file %s: %v", key, err)
		}
		for _, r := range file.Records {
			names[r["eventName"].(string)] = true
		}
	}
	// CreateTrail happened before logging started; StartLogging and the
	// other region's record after.
	if !names["StartLogging"] || !names["DeleteServer"] || names["CreateTrail"] || !regions["eu-west-1"] || !regions["us-east-1"] {
		t.Fatalf("delivered events %v in regions %v", names, regions)
	}

	// With the bucket policy gone, delivery fails and says why.
	if _, err := e.S3("us-east-1").DeleteBucketPolicy(ctx, &s3.DeleteBucketPolicyInput{Bucket: aws.String("deliver-bucket")}); err != nil {
		t.Fatalf("DeleteBucketPolicy: %v", err)
	}
	e.Clock.Advance(time.Minute)
	st, err = c.GetTrailStatus(ctx, &cloudtrail.GetTrailStatusInput{Name: aws.String("deliver")})
	if err != nil || aws.ToString(st.LatestDeliveryError) != "AccessDenied" {
		t.Fatalf("GetTrailStatus without policy = %+v, %v", st, err)
	}
}

// TestCloudTrailRecordsItsOwnCalls checks management calls become events,
// and LookupEvents itself does not.
func TestCloudTrailRecordsItsOwnCalls(t *testing.T) {
	e := sandboxtest.New(t, sandbox.Options{NoHistory: true, LookupRPS: 1e6})
	ctx := context.Background()
	c := e.CloudTrail("us-east-1")
	_, err := c.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String("nobucket"), S3BucketName: aws.String("absent-bucket")})
	sandboxtest.WantCode(t, err, "S3BucketDoesNotExistException")
	setupTrailBucket(t, e, "us-east-1", "rec-bucket", "", "us-east-1", "rec")
	if _, err := c.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String("rec"), S3BucketName: aws.String("rec-bucket")}); err != nil {
		t.Fatalf("CreateTrail: %v", err)
	}
	out, err := c.LookupEvents(ctx, &cloudtrail.LookupEventsInput{LookupAttributes: []cttypes.LookupAttribute{
		{AttributeKey: cttypes.LookupAttributeKeyEventSource, AttributeValue: aws.String("cloudtrail.amazonaws.com")}}})
	if err != nil {
		t.Fatalf("LookupEvents: %v", err)
	}
	var created, failed bool
	for _, ev := range out.Events {
		if aws.ToString(ev.EventName) == "LookupEvents" {
			t.Fatalf("LookupEvents was recorded")
		}
		if aws.ToString(ev.EventName) != "CreateTrail" {
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(aws.ToString(ev.CloudTrailEvent)), &rec); err != nil {
			t.Fatalf("CloudTrailEvent: %v", err)
		}
		if rec["errorCode"] == "S3BucketDoesNotExistException" {
			failed = true
		} else if containsAll(aws.ToString(ev.CloudTrailEvent), `"name":"rec"`, `"managementEvent":true`, `"recipientAccountId":"`+ctAcct+`"`) {
			created = true
		}
	}
	if !created || !failed {
		t.Fatalf("recorded CreateTrail calls: success %v, failure %v; events %d", created, failed, len(out.Events))
	}
}

// testRecord is a minimal OpsWorks CM record for tests.
func testRecord(id, name, region string, at time.Time, readOnly bool) string {
	rec := map[string]any{
		"eventVersion": "1.09", "eventID": id, "eventName": name, "eventSource": sandbox.OpsWorksCMSource,
		"eventTime": at.UTC().Format(time.RFC3339), "awsRegion": region, "readOnly": readOnly,
		"eventType": "AwsApiCall", "managementEvent": true, "recipientAccountId": ctAcct,
		"userIdentity":      map[string]any{"type": "IAMUser", "userName": "tester", "arn": "arn:aws:iam::" + ctAcct + ":user/tester", "accountId": ctAcct, "accessKeyId": "AKIATESTER"},
		"requestParameters": map[string]any{"serverName": "srv-" + id},
	}
	b, _ := json.Marshal(rec)
	return string(b)
}

func gzipBytes(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := io.Copy(zw, bytes.NewReader(b)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func containsAll(s string, parts ...string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}

// TestCloudTrailRequestID checks every answer, success or error, carries
// its own x-amzn-RequestId, as AWS's do: the SDKs surface it
// (ResultMetadata, ResponseError.ServiceRequestID) for support cases and
// logs.
func TestCloudTrailRequestID(t *testing.T) {
	e := sandboxtest.New(t, sandbox.Options{NoHistory: true, LookupRPS: 1e6})
	ctx := context.Background()
	c := e.CloudTrail("us-east-1")
	setupTrailBucket(t, e, "us-east-1", "request-id-logs", "", "us-east-1", "request-id")
	uuid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	seen := map[string]string{}
	check := func(op string, md middleware.Metadata, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", op, err)
		}
		id, ok := awsmiddleware.GetRequestIDMetadata(md)
		if !ok || !uuid.MatchString(id) {
			t.Errorf("%s: request id %q, want a UUID", op, id)
		}
		if other, dup := seen[id]; dup {
			t.Errorf("%s and %s share the request id %s", op, other, id)
		}
		seen[id] = op
	}
	created, err := c.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String("request-id"), S3BucketName: aws.String("request-id-logs")})
	check("CreateTrail", created.ResultMetadata, err)
	started, err := c.StartLogging(ctx, &cloudtrail.StartLoggingInput{Name: aws.String("request-id")})
	check("StartLogging", started.ResultMetadata, err)
	described, err := c.DescribeTrails(ctx, &cloudtrail.DescribeTrailsInput{})
	check("DescribeTrails", described.ResultMetadata, err)
	status, err := c.GetTrailStatus(ctx, &cloudtrail.GetTrailStatusInput{Name: aws.String("request-id")})
	check("GetTrailStatus", status.ResultMetadata, err)
	looked, err := c.LookupEvents(ctx, &cloudtrail.LookupEventsInput{})
	check("LookupEvents", looked.ResultMetadata, err)
	keys, err := c.ListPublicKeys(ctx, &cloudtrail.ListPublicKeysInput{})
	check("ListPublicKeys", keys.ResultMetadata, err)

	_, err = c.GetTrail(ctx, &cloudtrail.GetTrailInput{Name: aws.String("no-such-trail")})
	var re *awshttp.ResponseError
	if !errors.As(err, &re) || !uuid.MatchString(re.ServiceRequestID()) {
		t.Errorf("GetTrail of a missing trail: %v, want an error with a request id", err)
	}
}
