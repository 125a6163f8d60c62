package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework-validators/datasourcevalidator"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

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

func (d *trailDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	computed := func(name string) schema.StringAttribute {
		return schema.StringAttribute{Computed: true, MarkdownDescription: trailDocs[name]}
	}
	computedBool := func(name string) schema.BoolAttribute {
		return schema.BoolAttribute{Computed: true, MarkdownDescription: trailDocs[name]}
	}
	computedSet := func(name string) schema.SetAttribute {
		return schema.SetAttribute{Computed: true, ElementType: types.StringType, MarkdownDescription: trailDocs[name]}
	}
	statusAttrs := map[string]schema.Attribute{
		"is_logging": schema.BoolAttribute{Computed: true, MarkdownDescription: trailDocs["status.is_logging"]},
	}
	for _, n := range []string{"latest_delivery_time", "latest_delivery_error", "latest_digest_delivery_time"} {
		statusAttrs[n] = schema.StringAttribute{Computed: true, MarkdownDescription: trailDocs["status."+n]}
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "Reads an existing CloudTrail trail, by name or ARN, with the attributes of the " +
			"`opsaudit_trail` resource: settings, logging status, what it records, Insights and tags. For posture " +
			"checks on trails this configuration does not manage. A name is looked up in the provider's region, " +
			"where multi-region trails of other home regions are visible too.",
		Attributes: map[string]schema.Attribute{
			"name": schema.StringAttribute{Optional: true, Computed: true,
				MarkdownDescription: "Name of the trail. Give `name` or `arn`."},
			"arn": schema.StringAttribute{Optional: true, Computed: true,
				MarkdownDescription: "ARN of the trail. Give `name` or `arn`.",
				Validators:          []validator.String{trailARN()}},
			"id":                               computed("id"),
			"home_region":                      computed("home_region"),
			"s3_bucket_name":                   computed("s3_bucket_name"),
			"s3_key_prefix":                    computed("s3_key_prefix"),
			"is_multi_region_trail":            computedBool("is_multi_region_trail"),
			"include_global_service_events":    computedBool("include_global_service_events"),
			"enable_log_file_validation":       computedBool("enable_log_file_validation"),
			"enable_logging":                   computedBool("enable_logging"),
			"is_organization_trail":            computedBool("is_organization_trail"),
			"kms_key_id":                       computed("kms_key_id"),
			"cloud_watch_logs_group_arn":       computed("cloud_watch_logs_group_arn"),
			"cloud_watch_logs_role_arn":        computed("cloud_watch_logs_role_arn"),
			"sns_topic_name":                   computed("sns_topic_name"),
			"sns_topic_arn":                    computed("sns_topic_arn"),
			"tags":                             schema.MapAttribute{Computed: true, ElementType: types.StringType, MarkdownDescription: trailDocs["tags"]},
			"management_events":                computed("management_events"),
			"exclude_management_event_sources": computedSet("exclude_management_event_sources"),
			"insight_types":                    computedSet("insight_types"),
			"status": schema.SingleNestedAttribute{Computed: true, MarkdownDescription: trailDocs["status"],
				Attributes: statusAttrs},
		},
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
