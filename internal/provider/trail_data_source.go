package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework-validators/datasourcevalidator"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/awsclient"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/awserr"
)

var (
	_ datasource.DataSourceWithConfigure        = (*trailDataSource)(nil)
	_ datasource.DataSourceWithConfigValidators = (*trailDataSource)(nil)
)

// NewTrailDataSource reads any existing trail, managed here or not, with
// the attributes of the opsaudit_trail resource, for posture checks.
func NewTrailDataSource() datasource.DataSource { return &trailDataSource{} }

type trailDataSource struct {
	clients *awsclient.Clients
}

func (d *trailDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_trail"
}

// Schema mirrors the resource's: the same attributes, read only, except
// name and arn, one of which names the trail to read.
func (d *trailDataSource) Schema(ctx context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	var rs resource.SchemaResponse
	(&trailResource{}).Schema(ctx, resource.SchemaRequest{}, &rs)
	attrs := dataSourceAttributes(rs.Schema.Attributes)
	attrs["name"] = schema.StringAttribute{Optional: true, Computed: true,
		MarkdownDescription: "Name of the trail. Give `name` or `arn`."}
	attrs["arn"] = schema.StringAttribute{Optional: true, Computed: true,
		MarkdownDescription: "ARN of the trail. Give `name` or `arn`.",
		Validators:          []validator.String{trailARN()}}
	resp.Schema = schema.Schema{
		MarkdownDescription: "Reads an existing CloudTrail trail, by name or ARN, with the attributes of the " +
			"`opsaudit_trail` resource: settings, logging status, what it records, Insights and tags. For posture " +
			"checks on trails this configuration does not manage. A name is looked up in the provider's region, " +
			"where multi-region trails of other home regions are visible too.",
		Attributes: attrs,
	}
}

func (d *trailDataSource) ConfigValidators(context.Context) []datasource.ConfigValidator {
	return []datasource.ConfigValidator{
		datasourcevalidator.ExactlyOneOf(path.MatchRoot("name"), path.MatchRoot("arn")),
	}
}

func (d *trailDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.clients = clientsFrom(req.ProviderData, &resp.Diagnostics)
}

func (d *trailDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m trailModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	id := m.ARN.ValueString()
	if id == "" {
		id = m.Name.ValueString()
	}
	info, err := readTrail(ctx, d.clients, id)
	if err != nil {
		resp.Diagnostics.AddError("Reading trail", awserr.Explain(err))
		return
	}
	resp.Diagnostics.Append(m.fill(ctx, info)...)
	resp.Diagnostics.Append(resp.State.Set(ctx, m)...)
}
