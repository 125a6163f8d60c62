// Package awsclient builds the AWS configuration and the per-region clients
// the provider works with, from the provider's configuration: the credential
// chain, assume role, endpoint overrides, retries and the LookupEvents pace.
package awsclient

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/athena"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go/middleware"
	"github.com/hashicorp/aws-sdk-go-base/v2/endpoints"
	"golang.org/x/time/rate"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/awserr"
)

// OpsWorksCMRegions are the regions OpsWorks CM ran in: the default fan-out
// of event queries.
var OpsWorksCMRegions = []string{
	"us-east-1", "us-east-2", "us-west-1", "us-west-2",
	"ap-northeast-1", "ap-southeast-1", "ap-southeast-2",
	"eu-central-1", "eu-west-1",
}

// DefaultLookupRequestsPerSecond is LookupEvents' documented limit per
// account and region.
const DefaultLookupRequestsPerSecond = 2

// DefaultMaxRetries matches the AWS SDK's standard retryer.
const DefaultMaxRetries = 3

// DefaultMaxBackoff is the AWS SDK's longest wait before a retry.
const DefaultMaxBackoff = retry.DefaultMaxBackoff

// Config is the provider configuration, already free of Terraform types.
// Empty fields fall back to the AWS SDK's environment and shared files.
type Config struct {
	Region                 string
	Regions                []string
	Profile                string
	SharedConfigFiles      []string
	SharedCredentialsFiles []string
	AccessKey              string
	SecretKey              string
	Token                  string
	AssumeRole             *AssumeRole
	Endpoints              Endpoints
	S3UsePathStyle         bool
	MaxRetries             int
	// MaxBackoff caps the wait before a retry (DefaultMaxBackoff when 0).
	MaxBackoff              time.Duration
	LookupRequestsPerSecond float64
	// UserAgent is appended to every request's User-Agent.
	UserAgent string
}

// AssumeRole is the role the provider assumes after resolving the base
// credentials.
type AssumeRole struct {
	RoleARN     string
	SessionName string
	ExternalID  string
	Duration    time.Duration
}

// Endpoints override the service endpoints, for the sandbox or a VPC
// endpoint. Empty means the SDK's own resolution (which also honours
// AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE>).
type Endpoints struct {
	CloudTrail string
	S3         string
	STS        string
	Athena     string
}

// Error is a configuration error tied to the provider argument that caused
// it, so that the provider can attach the diagnostic to that attribute.
type Error struct {
	// Attribute is the provider argument, dotted for nested ones
	// ("endpoints.s3", "assume_role.role_arn"); empty when no single
	// argument is at fault.
	Attribute string
	Summary   string
	Err       error
}

func (e *Error) Error() string { return e.Summary + ": " + e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Clients is what resources and data sources work with: the caller's
// identity and clients bound to regions.
type Clients struct {
	AccountID string
	Partition string
	CallerARN string
	// Region is the home region: where trails and buckets are created.
	Region string
	// Regions is where event queries fan out to.
	Regions []string

	cfg       aws.Config
	endpoints Endpoints
	pathStyle bool
	rps       float64

	mu         sync.Mutex
	cloudtrail map[string]*cloudtrail.Client
	s3         map[string]*s3.Client
	athena     map[string]*athena.Client
	limiters   map[string]*rate.Limiter
	// bucketRegions remembers where buckets are: a bucket does not move,
	// and every read of a bucket's files would ask again.
	bucketRegions map[string]string
}

// KnownRegion reports whether name is a region of a known AWS partition.
func KnownRegion(name string) bool {
	for _, p := range endpoints.DefaultPartitions() {
		if _, ok := p.Regions()[name]; ok {
			return true
		}
	}
	return false
}

// ValidateEndpoint checks an endpoint override is an absolute http(s) URL.
func ValidateEndpoint(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("scheme must be http or https, got %q", u.Scheme)
	}
	if u.Host == "" {
		return errors.New("missing host")
	}
	return nil
}

// New resolves credentials, checks them with STS GetCallerIdentity and
// returns the client set. It makes exactly one AWS call (two with
// assume_role).
func New(ctx context.Context, c Config) (*Clients, error) {
	if err := validate(c); err != nil {
		return nil, err
	}
	cfg, err := loadConfig(ctx, c)
	if err != nil {
		return nil, err
	}
	if cfg.Region == "" {
		return nil, &Error{Attribute: "region", Summary: "No region", Err: errors.New(
			"set the provider's region, the AWS_REGION environment variable or a region in the shared config profile")}
	}
	if !KnownRegion(cfg.Region) {
		return nil, &Error{Attribute: "region", Summary: "Unknown region", Err: fmt.Errorf("%q is not an AWS region", cfg.Region)}
	}

	stsClient := sts.NewFromConfig(cfg, func(o *sts.Options) {
		if c.Endpoints.STS != "" {
			o.BaseEndpoint = aws.String(c.Endpoints.STS)
		}
	})
	if c.AssumeRole != nil {
		cfg.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(stsClient, c.AssumeRole.RoleARN,
			func(o *stscreds.AssumeRoleOptions) {
				if c.AssumeRole.SessionName != "" {
					o.RoleSessionName = c.AssumeRole.SessionName
				}
				if c.AssumeRole.ExternalID != "" {
					o.ExternalID = aws.String(c.AssumeRole.ExternalID)
				}
				if c.AssumeRole.Duration > 0 {
					o.Duration = c.AssumeRole.Duration
				}
			}))
		stsClient = sts.NewFromConfig(cfg, func(o *sts.Options) {
			if c.Endpoints.STS != "" {
				o.BaseEndpoint = aws.String(c.Endpoints.STS)
			}
		})
	}

	id, err := stsClient.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return nil, credentialError(c, err)
	}
	callerARN, err := arn.Parse(aws.ToString(id.Arn))
	if err != nil {
		return nil, &Error{Summary: "Unexpected caller identity", Err: fmt.Errorf("parsing caller ARN %q: %w", aws.ToString(id.Arn), err)}
	}

	regions := c.Regions
	if len(regions) == 0 {
		regions = OpsWorksCMRegions
	}
	rps := c.LookupRequestsPerSecond
	if rps <= 0 {
		rps = DefaultLookupRequestsPerSecond
	}
	return &Clients{
		AccountID:  aws.ToString(id.Account),
		Partition:  callerARN.Partition,
		CallerARN:  callerARN.String(),
		Region:     cfg.Region,
		Regions:    slices.Clone(regions),
		cfg:        cfg,
		endpoints:  c.Endpoints,
		pathStyle:  c.S3UsePathStyle,
		rps:        rps,
		cloudtrail: map[string]*cloudtrail.Client{},
		s3:         map[string]*s3.Client{},
		athena:     map[string]*athena.Client{},
		limiters:   map[string]*rate.Limiter{},
	}, nil
}

func validate(c Config) error {
	for attr, ep := range map[string]string{
		"endpoints.cloudtrail": c.Endpoints.CloudTrail,
		"endpoints.s3":         c.Endpoints.S3,
		"endpoints.sts":        c.Endpoints.STS,
		"endpoints.athena":     c.Endpoints.Athena,
	} {
		if ep == "" {
			continue
		}
		if err := ValidateEndpoint(ep); err != nil {
			return &Error{Attribute: attr, Summary: "Invalid endpoint URL", Err: fmt.Errorf("%q: %w", ep, err)}
		}
	}
	for _, r := range c.Regions {
		if !KnownRegion(r) {
			return &Error{Attribute: "regions", Summary: "Unknown region", Err: fmt.Errorf("%q is not an AWS region", r)}
		}
	}
	if (c.AccessKey == "") != (c.SecretKey == "") {
		return &Error{Attribute: "access_key", Summary: "Incomplete static credentials",
			Err: errors.New("access_key and secret_key must be set together")}
	}
	return nil
}

// MaxIdleConnsPerHost is how many connections to one endpoint stay open
// between requests. The archive reads up to its concurrency (32 by
// default) objects from one bucket at once; with the SDK's default of 10,
// every request beyond the tenth would open a new connection, and against
// AWS pay a TLS handshake, for each file.
const MaxIdleConnsPerHost = 64

// HTTPClient is the HTTP client of every AWS client the provider makes.
func HTTPClient() *awshttp.BuildableClient {
	return awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) {
		t.MaxIdleConnsPerHost = MaxIdleConnsPerHost
	})
}

func loadConfig(ctx context.Context, c Config) (aws.Config, error) {
	maxRetries := c.MaxRetries
	if maxRetries <= 0 {
		maxRetries = DefaultMaxRetries
	}
	opts := []func(*config.LoadOptions) error{
		config.WithHTTPClient(HTTPClient()),
		config.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = maxRetries + 1
				if c.MaxBackoff > 0 {
					o.MaxBackoff = c.MaxBackoff
				}
				// The client-side retry quota would turn a burst of
				// throttling answers into hard failures; pacing is done
				// by the per-region limiter instead.
				o.RateLimiter = ratelimit.None
			})
		}),
	}
	if c.Region != "" {
		opts = append(opts, config.WithRegion(c.Region))
	}
	if c.Profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(c.Profile))
	}
	if len(c.SharedConfigFiles) > 0 {
		opts = append(opts, config.WithSharedConfigFiles(c.SharedConfigFiles))
	}
	if len(c.SharedCredentialsFiles) > 0 {
		opts = append(opts, config.WithSharedCredentialsFiles(c.SharedCredentialsFiles))
	}
	if c.AccessKey != "" {
		opts = append(opts, config.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(c.AccessKey, c.SecretKey, c.Token)))
	}
	if c.UserAgent != "" {
		opts = append(opts, config.WithAppID(c.UserAgent))
	}
	opts = append(opts, config.WithAPIOptions([]func(*middleware.Stack) error{logCalls}))
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		attr := ""
		if c.Profile != "" {
			attr = "profile"
		}
		return aws.Config{}, &Error{Attribute: attr, Summary: "Loading AWS configuration", Err: err}
	}
	return cfg, nil
}

// credentialError names the AWS error code of a failed identity check and
// ties it to the argument most likely at fault.
func credentialError(c Config, err error) error {
	attr := ""
	switch {
	case c.AssumeRole != nil:
		attr = "assume_role.role_arn"
	case c.AccessKey != "":
		attr = "access_key"
	case c.Profile != "":
		attr = "profile"
	}
	if code := awserr.Code(err); code != "" {
		advice := awserr.Advice(err)
		if advice == "" {
			advice = "Check the access key, secret key and session token, or the profile and role."
		}
		return &Error{Attribute: attr, Summary: "Invalid AWS credentials", Err: fmt.Errorf(
			"sts:GetCallerIdentity failed with %s: %s. %s", code, awserr.Message(err), advice)}
	}
	return &Error{Attribute: attr, Summary: "Resolving AWS credentials", Err: fmt.Errorf("sts:GetCallerIdentity: %w", err)}
}

// CloudTrail returns the CloudTrail client for region (the home region
// when empty). Its LookupEvents calls, retries included, wait for the
// region's limiter.
func (c *Clients) CloudTrail(region string) *cloudtrail.Client {
	return homeOr(c, c.cloudtrail, region, func(region string) *cloudtrail.Client {
		limiter := c.limiterLocked(region)
		return cloudtrail.NewFromConfig(c.cfg, func(o *cloudtrail.Options) {
			o.Region = region
			if c.endpoints.CloudTrail != "" {
				o.BaseEndpoint = aws.String(c.endpoints.CloudTrail)
			}
			o.APIOptions = append(o.APIOptions, paceLookups(limiter))
		})
	})
}

// S3 returns the S3 client for region (the home region when empty).
func (c *Clients) S3(region string) *s3.Client {
	return homeOr(c, c.s3, region, func(region string) *s3.Client {
		return s3.NewFromConfig(c.cfg, func(o *s3.Options) {
			o.Region = region
			o.UsePathStyle = c.pathStyle
			// The objects CloudTrail writes carry no checksum: the SDK would
			// log each read of a log file.
			o.DisableLogOutputChecksumValidationSkipped = true
			if c.endpoints.S3 != "" {
				o.BaseEndpoint = aws.String(c.endpoints.S3)
			}
		})
	})
}

// Athena returns the Athena client for region (the home region when
// empty).
func (c *Clients) Athena(region string) *athena.Client {
	return homeOr(c, c.athena, region, func(region string) *athena.Client {
		return athena.NewFromConfig(c.cfg, func(o *athena.Options) {
			o.Region = region
			if c.endpoints.Athena != "" {
				o.BaseEndpoint = aws.String(c.endpoints.Athena)
			}
		})
	})
}

// homeOr returns the client of clients for region, the home region when
// empty, made by newClient the first time it is asked for. newClient runs
// with c.mu held, so it may call the *Locked methods.
func homeOr[T any](c *Clients, clients map[string]T, region string, newClient func(region string) T) T {
	if region == "" {
		region = c.Region
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if cl, ok := clients[region]; ok {
		return cl
	}
	cl := newClient(region)
	clients[region] = cl
	return cl
}

// BucketRegion returns the region bucket is in, from GetBucketLocation in
// the home region (S3 answers it from any region), asked once per bucket.
func (c *Clients) BucketRegion(ctx context.Context, bucket string) (string, error) {
	c.mu.Lock()
	region, ok := c.bucketRegions[bucket]
	c.mu.Unlock()
	if ok {
		return region, nil
	}
	loc, err := c.S3("").GetBucketLocation(ctx, &s3.GetBucketLocationInput{Bucket: aws.String(bucket)})
	if err != nil {
		return "", err
	}
	region = LocationRegion(loc.LocationConstraint)
	c.mu.Lock()
	if c.bucketRegions == nil {
		c.bucketRegions = map[string]string{}
	}
	c.bucketRegions[bucket] = region
	c.mu.Unlock()
	return region, nil
}

// LocationRegion maps GetBucketLocation's answer to a region name: empty
// means us-east-1 and "EU" is the legacy name of eu-west-1.
func LocationRegion(c s3types.BucketLocationConstraint) string {
	switch c {
	case "":
		return "us-east-1"
	case s3types.BucketLocationConstraintEu:
		return "eu-west-1"
	}
	return string(c)
}

// LookupRequestsPerSecond is the pace LookupEvents calls keep per region.
func (c *Clients) LookupRequestsPerSecond() float64 { return c.rps }

func (c *Clients) limiterLocked(region string) *rate.Limiter {
	l, ok := c.limiters[region]
	if !ok {
		l = rate.NewLimiter(rate.Limit(c.rps), 1)
		c.limiters[region] = l
	}
	return l
}
