package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/awsclient"
)

var _ datasource.DataSourceWithConfigure = (*callerIdentityDataSource)(nil)

// NewCallerIdentityDataSource exposes what the provider resolved at
// configure time, as aws_caller_identity does, plus the regions it audits.
func NewCallerIdentityDataSource() datasource.DataSource { return &callerIdentityDataSource{} }

type callerIdentityDataSource struct {
	clients *awsclient.Clients
}

type callerIdentityModel struct {
	AccountID types.String `tfsdk:"account_id"`
	ARN       types.String `tfsdk:"arn"`
	Partition types.String `tfsdk:"partition"`
	Region    types.String `tfsdk:"region"`
	Regions   types.List   `tfsdk:"regions"`
}

func (d *callerIdentityDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_caller_identity"
}

func (d *callerIdentityDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "The identity and regions the provider works with, resolved once when it is configured " +
			"(STS GetCallerIdentity). Useful to build ARNs and to check a module runs in the intended account.",
		Attributes: map[string]schema.Attribute{
			"account_id": schema.StringAttribute{Computed: true, MarkdownDescription: "AWS account id of the caller."},
			"arn": schema.StringAttribute{Computed: true, MarkdownDescription: "ARN of the caller: an IAM user, a root " +
				"user or an assumed-role session (after `assume_role`)."},
			"partition": schema.StringAttribute{Computed: true, MarkdownDescription: "AWS partition, such as `aws`."},
			"region":    schema.StringAttribute{Computed: true, MarkdownDescription: "Home region of the provider."},
			"regions": schema.ListAttribute{Computed: true, ElementType: types.StringType,
				MarkdownDescription: "Regions event queries fan out to."},
		},
	}
}

func (d *callerIdentityDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.clients = clientsFrom(req.ProviderData, &resp.Diagnostics)
}

func (d *callerIdentityDataSource) Read(ctx context.Context, _ datasource.ReadRequest, resp *datasource.ReadResponse) {
	regions, diags := types.ListValueFrom(ctx, types.StringType, d.clients.Regions)
	resp.Diagnostics.Append(diags...)
	resp.Diagnostics.Append(resp.State.Set(ctx, callerIdentityModel{
		AccountID: types.StringValue(d.clients.AccountID),
		ARN:       types.StringValue(d.clients.CallerARN),
		Partition: types.StringValue(d.clients.Partition),
		Region:    types.StringValue(d.clients.Region),
		Regions:   regions,
	})...)
}
