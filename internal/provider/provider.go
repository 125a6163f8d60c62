// Package provider is the Terraform surface of opsaudit: the provider
// configuration, resources, data sources and functions. It translates between
// Terraform schemas and the packages that do the work.
package provider

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-validators/float64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/function"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tftypes"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/awsclient"
)

var (
	_ provider.Provider              = (*opsauditProvider)(nil)
	_ provider.ProviderWithFunctions = (*opsauditProvider)(nil)
)

type opsauditProvider struct {
	version string
}

// New returns a constructor for the provider, as providerserver expects.
func New(version string) func() provider.Provider {
	return func() provider.Provider { return &opsauditProvider{version: version} }
}

type providerModel struct {
	Region                  types.String     `tfsdk:"region"`
	Regions                 types.List       `tfsdk:"regions"`
	Profile                 types.String     `tfsdk:"profile"`
	SharedConfigFiles       types.List       `tfsdk:"shared_config_files"`
	SharedCredentialsFiles  types.List       `tfsdk:"shared_credentials_files"`
	AccessKey               types.String     `tfsdk:"access_key"`
	SecretKey               types.String     `tfsdk:"secret_key"`
	Token                   types.String     `tfsdk:"token"`
	AssumeRole              *assumeRoleModel `tfsdk:"assume_role"`
	Endpoints               *endpointsModel  `tfsdk:"endpoints"`
	S3UsePathStyle          types.Bool       `tfsdk:"s3_use_path_style"`
	MaxRetries              types.Int64      `tfsdk:"max_retries"`
	MaxBackoff              types.String     `tfsdk:"max_backoff"`
	LookupRequestsPerSecond types.Float64    `tfsdk:"lookup_requests_per_second"`
}

type assumeRoleModel struct {
	RoleARN     types.String `tfsdk:"role_arn"`
	SessionName types.String `tfsdk:"session_name"`
	ExternalID  types.String `tfsdk:"external_id"`
	Duration    types.String `tfsdk:"duration"`
}

type endpointsModel struct {
	CloudTrail types.String `tfsdk:"cloudtrail"`
	S3         types.String `tfsdk:"s3"`
	STS        types.String `tfsdk:"sts"`
	Athena     types.String `tfsdk:"athena"`
}

func (p *opsauditProvider) Metadata(_ context.Context, _ provider.MetadataRequest, resp *provider.MetadataResponse) {
	resp.TypeName = "opsaudit"
	resp.Version = p.version
}

func (p *opsauditProvider) Schema(_ context.Context, _ provider.SchemaRequest, resp *provider.SchemaResponse) {
	endpoint := func(service string) schema.StringAttribute {
		return schema.StringAttribute{
			Optional: true,
			MarkdownDescription: fmt.Sprintf("Endpoint URL for %s, for example the sandbox's `http://127.0.0.1:4599`. "+
				"Default: the AWS SDK's resolution, which honours `AWS_ENDPOINT_URL` and `AWS_ENDPOINT_URL_%s`.",
				service, map[string]string{"CloudTrail": "CLOUDTRAIL", "S3": "S3", "STS": "STS", "Athena": "ATHENA"}[service]),
			Validators: []validator.String{endpointURL()},
		}
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "The opsaudit provider sets up the CloudTrail trail and S3 bucket that audit AWS OpsWorks CM " +
			"API calls, queries the events CloudTrail recorded, and evaluates compliance rules over them. Its arguments " +
			"follow the hashicorp/aws provider's; every one is optional and falls back to the AWS SDK's environment " +
			"variables and shared files.",
		Attributes: map[string]schema.Attribute{
			"region": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "Home region: where trails and buckets are created. Default: `AWS_REGION`, " +
					"`AWS_DEFAULT_REGION` or the profile's region.",
				Validators: []validator.String{knownRegion()},
			},
			"regions": schema.ListAttribute{
				ElementType: types.StringType,
				Optional:    true,
				MarkdownDescription: "Regions event queries fan out to. Default: the nine regions OpsWorks CM ran in (" +
					"`" + joinQuoted(awsclient.OpsWorksCMRegions) + "`).",
				Validators: regionList(),
			},
			"profile": schema.StringAttribute{
				Optional:            true,
				MarkdownDescription: "Named profile of the shared configuration files. Default: `AWS_PROFILE`.",
			},
			"shared_config_files": schema.ListAttribute{
				ElementType:         types.StringType,
				Optional:            true,
				MarkdownDescription: "Shared configuration files. Default: `AWS_CONFIG_FILE` or `~/.aws/config`.",
			},
			"shared_credentials_files": schema.ListAttribute{
				ElementType:         types.StringType,
				Optional:            true,
				MarkdownDescription: "Shared credentials files. Default: `AWS_SHARED_CREDENTIALS_FILE` or `~/.aws/credentials`.",
			},
			"access_key": schema.StringAttribute{
				Optional:            true,
				Sensitive:           true,
				MarkdownDescription: "Access key id. Default: `AWS_ACCESS_KEY_ID`, then the rest of the SDK's credential chain.",
			},
			"secret_key": schema.StringAttribute{
				Optional:            true,
				Sensitive:           true,
				MarkdownDescription: "Secret access key; required with `access_key`. Default: `AWS_SECRET_ACCESS_KEY`.",
			},
			"token": schema.StringAttribute{
				Optional:            true,
				Sensitive:           true,
				MarkdownDescription: "Session token of temporary credentials. Default: `AWS_SESSION_TOKEN`.",
			},
			"s3_use_path_style": schema.BoolAttribute{
				Optional: true,
				MarkdownDescription: "Address buckets as `https://endpoint/bucket` rather than `https://bucket.endpoint`. " +
					"The sandbox needs it. Default: `false`.",
			},
			"max_retries": schema.Int64Attribute{
				Optional: true,
				MarkdownDescription: fmt.Sprintf("Retries of a throttled or failed (5xx) AWS call, with exponential backoff. "+
					"Default: `%d`.", awsclient.DefaultMaxRetries),
				Validators: []validator.Int64{int64validator.Between(0, 25)},
			},
			"max_backoff": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: fmt.Sprintf("Longest wait before one retry: waits grow exponentially, with jitter, "+
					"up to this duration. Lower it where many retries are expected and a plan must stay short, as "+
					"against the sandbox's fault injection. Default: `%s`, the AWS SDK's.", awsclient.DefaultMaxBackoff),
				Validators: []validator.String{durationBetween(time.Millisecond, 5*time.Minute)},
			},
			"lookup_requests_per_second": schema.Float64Attribute{
				Optional: true,
				MarkdownDescription: fmt.Sprintf("Pace of CloudTrail LookupEvents calls in each region; all regions run at "+
					"once. AWS allows 2 per second per account and region, so raise it only against an endpoint that "+
					"allows more. Default: `%d`.", awsclient.DefaultLookupRequestsPerSecond),
				Validators: []validator.Float64{float64validator.Between(0.1, 1000)},
			},
		},
		Blocks: map[string]schema.Block{
			"assume_role": schema.SingleNestedBlock{
				MarkdownDescription: "A role to assume with the resolved credentials before any other call.",
				Attributes: map[string]schema.Attribute{
					"role_arn": schema.StringAttribute{
						Optional:            true,
						MarkdownDescription: "ARN of the role to assume. Required when the block is present.",
					},
					"session_name": schema.StringAttribute{
						Optional:            true,
						MarkdownDescription: "Session name; it appears in CloudTrail as the assumed role's session.",
					},
					"external_id": schema.StringAttribute{
						Optional:            true,
						MarkdownDescription: "External id the role's trust policy requires.",
					},
					"duration": schema.StringAttribute{
						Optional: true,
						MarkdownDescription: "Session duration, a Go duration string such as `1h`; between 15 minutes and " +
							"12 hours. Default: 15 minutes.",
						Validators: []validator.String{durationBetween(15*time.Minute, 12*time.Hour)},
					},
				},
			},
			"endpoints": schema.SingleNestedBlock{
				MarkdownDescription: "Custom service endpoints, for the sandbox or VPC endpoints.",
				Attributes: map[string]schema.Attribute{
					"cloudtrail": endpoint("CloudTrail"),
					"s3":         endpoint("S3"),
					"sts":        endpoint("STS"),
					"athena":     endpoint("Athena"),
				},
			},
		},
	}
}

func (p *opsauditProvider) Configure(ctx context.Context, req provider.ConfigureRequest, resp *provider.ConfigureResponse) {
	// A default in place of a value known only after apply would send the
	// plan's calls elsewhere (another endpoint, no role, other retries):
	// Terraform defers instead where it can, else the plan stops here.
	if unknown := unknownArguments(req.Config.Raw); len(unknown) > 0 {
		if req.ClientCapabilities.DeferralAllowed {
			resp.Deferred = &provider.Deferred{Reason: provider.DeferredReasonProviderConfigUnknown}
			return
		}
		for _, at := range unknown {
			resp.Diagnostics.AddAttributeError(at, "Provider argument known only after apply", fmt.Sprintf(
				"%s is known only after apply, and the provider needs it to set up %s before it can read any data "+
					"source or plan any resource. Set it from values known at plan time (variables, locals, data "+
					"sources of other providers), or apply what it comes from first with terraform apply -target.",
				at, argumentPurpose(at)))
		}
		return
	}
	var m providerModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	cfg, ok := m.toConfig(ctx, resp)
	if !ok {
		return
	}
	cfg.UserAgent = "opsaudit/" + p.version

	clients, err := awsclient.New(ctx, cfg)
	if err != nil {
		addConfigError(resp, err)
		return
	}
	resp.ResourceData = clients
	resp.DataSourceData = clients
}

func (m providerModel) toConfig(ctx context.Context, resp *provider.ConfigureResponse) (awsclient.Config, bool) {
	cfg := awsclient.Config{
		Region:                  m.Region.ValueString(),
		Profile:                 m.Profile.ValueString(),
		AccessKey:               m.AccessKey.ValueString(),
		SecretKey:               m.SecretKey.ValueString(),
		Token:                   m.Token.ValueString(),
		S3UsePathStyle:          m.S3UsePathStyle.ValueBool(),
		MaxRetries:              int(m.MaxRetries.ValueInt64()),
		LookupRequestsPerSecond: m.LookupRequestsPerSecond.ValueFloat64(),
	}
	if d := m.MaxBackoff.ValueString(); d != "" {
		// The validator has already accepted the duration.
		cfg.MaxBackoff, _ = time.ParseDuration(d)
	}
	resp.Diagnostics.Append(m.Regions.ElementsAs(ctx, &cfg.Regions, true)...)
	resp.Diagnostics.Append(m.SharedConfigFiles.ElementsAs(ctx, &cfg.SharedConfigFiles, true)...)
	resp.Diagnostics.Append(m.SharedCredentialsFiles.ElementsAs(ctx, &cfg.SharedCredentialsFiles, true)...)
	if m.Endpoints != nil {
		cfg.Endpoints = awsclient.Endpoints{
			CloudTrail: m.Endpoints.CloudTrail.ValueString(),
			S3:         m.Endpoints.S3.ValueString(),
			STS:        m.Endpoints.STS.ValueString(),
			Athena:     m.Endpoints.Athena.ValueString(),
		}
	}
	if m.AssumeRole != nil {
		if m.AssumeRole.RoleARN.ValueString() == "" {
			resp.Diagnostics.AddAttributeError(path.Root("assume_role").AtName("role_arn"), "Missing role ARN",
				"The assume_role block needs role_arn.")
		}
		cfg.AssumeRole = &awsclient.AssumeRole{
			RoleARN:     m.AssumeRole.RoleARN.ValueString(),
			SessionName: m.AssumeRole.SessionName.ValueString(),
			ExternalID:  m.AssumeRole.ExternalID.ValueString(),
		}
		if d := m.AssumeRole.Duration.ValueString(); d != "" {
			// The validator has already accepted the duration.
			cfg.AssumeRole.Duration, _ = time.ParseDuration(d)
		}
	}
	return cfg, !resp.Diagnostics.HasError()
}

// argumentPurpose says what the provider sets up with the argument at p.
func argumentPurpose(p path.Path) string {
	if steps := p.Steps(); len(steps) > 0 {
		if purpose, ok := argumentPurposes[steps[0].String()]; ok {
			return purpose
		}
	}
	return "its AWS clients"
}

// argumentPurposes says, for each top-level provider argument, what the
// provider sets up with it.
var argumentPurposes = map[string]string{
	"region":                     "the home region",
	"regions":                    "the regions event queries fan out to",
	"profile":                    "the AWS credentials",
	"shared_config_files":        "the AWS credentials",
	"shared_credentials_files":   "the AWS credentials",
	"access_key":                 "the AWS credentials",
	"secret_key":                 "the AWS credentials",
	"token":                      "the AWS credentials",
	"assume_role":                "the role it assumes",
	"endpoints":                  "the service endpoints",
	"s3_use_path_style":          "how S3 buckets are addressed",
	"max_retries":                "the retries of every AWS call",
	"max_backoff":                "the retries of every AWS call",
	"lookup_requests_per_second": "the pace of LookupEvents calls",
}

// unknownArguments lists the paths of the configuration's unknown values,
// whole blocks or lists included, without descending into them.
func unknownArguments(config tftypes.Value) []path.Path {
	var unknown []path.Path
	// The callback never fails, so neither does the walk.
	_ = tftypes.Walk(config, func(ap *tftypes.AttributePath, v tftypes.Value) (bool, error) {
		if v.IsKnown() {
			return true, nil
		}
		p := path.Empty()
		for _, step := range ap.Steps() {
			switch s := step.(type) {
			case tftypes.AttributeName:
				p = p.AtName(string(s))
			case tftypes.ElementKeyInt:
				p = p.AtListIndex(int(s))
			}
		}
		unknown = append(unknown, p)
		return false, nil
	})
	return unknown
}

func (p *opsauditProvider) Resources(_ context.Context) []func() resource.Resource {
	return []func() resource.Resource{NewTrailResource, NewLogBucketResource, NewAthenaTableResource}
}

func (p *opsauditProvider) DataSources(_ context.Context) []func() datasource.DataSource {
	return []func() datasource.DataSource{
		NewCallerIdentityDataSource,
		NewTrailDataSource,
		NewEventsDataSource,
		NewArchiveEventsDataSource,
		NewComplianceDataSource,
		NewLogValidationDataSource,
	}
}

func (p *opsauditProvider) Functions(_ context.Context) []func() function.Function {
	return []func() function.Function{NewCloudTrailBucketPolicyFunction}
}
