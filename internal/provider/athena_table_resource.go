package provider

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/athena"
	athenatypes "github.com/aws/aws-sdk-go-v2/service/athena/types"
	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/resourcevalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/setvalidator"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/setplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/athenaquery"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/awsclient"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/awserr"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/bucketpolicy"
)

var (
	_ resource.ResourceWithConfigure        = (*athenaTableResource)(nil)
	_ resource.ResourceWithImportState      = (*athenaTableResource)(nil)
	_ resource.ResourceWithModifyPlan       = (*athenaTableResource)(nil)
	_ resource.ResourceWithConfigValidators = (*athenaTableResource)(nil)
)

// defaultAthenaTableTimeout bounds a DDL statement, which Athena runs in
// seconds once it has started it.
const defaultAthenaTableTimeout = 5 * time.Minute

// NewAthenaTableResource is the CloudTrail table over a trail's bucket,
// with partition projection over account, region and day.
func NewAthenaTableResource() resource.Resource { return &athenaTableResource{} }

type athenaTableResource struct {
	clients *awsclient.Clients
}

func (r *athenaTableResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_athena_table"
}

func (r *athenaTableResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	replace := []planmodifier.String{stringplanmodifier.RequiresReplace()}
	// The location is given, or computed from the trail: a value given
	// replaces the table when it changes, one computed when the statement
	// does (ModifyPlan).
	location := func(desc string, v validator.String) schema.StringAttribute {
		return schema.StringAttribute{Optional: true, Computed: true, MarkdownDescription: desc,
			Validators:    []validator.String{v},
			PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplaceIfConfigured()}}
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "The CloudTrail table over a trail's S3 bucket in Amazon Athena: AWS's documented table (" +
			"\"Create the table for CloudTrail logs in Athena using partition projection\") in its organization form, with " +
			"partition projection over account, region and day, so that an organization trail's whole archive is one " +
			"table and a query reads only the accounts, regions and days it names. It is created with Athena DDL " +
			"(`CREATE EXTERNAL TABLE`, run by StartQueryExecution); the database is created when missing and is left " +
			"in place on destroy. Every argument that changes the statement replaces the table (`DROP TABLE` then " +
			"`CREATE EXTERNAL TABLE`: a table holds no data of its own, the log files stay where they are). A table " +
			"dropped outside Terraform shows in the next plan and is created again. Import with `database.table`. " +
			"`opsaudit_archive_events` and `opsaudit_compliance` query it with `engine = \"athena\"`.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{Computed: true, MarkdownDescription: "`database.name`.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}},
			"database": schema.StringAttribute{Required: true, PlanModifiers: replace,
				MarkdownDescription: "Glue Data Catalog database of the table: lower-case letters, digits and underscores. " +
					"Created if it does not exist; not deleted with the table.",
				Validators: []validator.String{athenaIdentifier("database")}},
			"name": schema.StringAttribute{Required: true, PlanModifiers: replace,
				MarkdownDescription: "Table name: lower-case letters, digits and underscores.",
				Validators:          []validator.String{athenaIdentifier("table")}},
			"trail": schema.StringAttribute{Optional: true,
				MarkdownDescription: "Name or ARN of the trail whose archive the table reads, as the data sources that " +
					"read the archive take it: its bucket and key prefix are read from CloudTrail at plan time and, for an " +
					"organization trail, its organization id from the one `AWSLogs/o-*/` folder of its bucket. Exactly " +
					"one of `trail` and `bucket`. Changing it replaces the table when the archive it names differs, or " +
					"is not known before apply.",
				Validators: []validator.String{trailNameOrARN()}},
			"bucket": location("The trail's S3 bucket, when `trail` is not given; computed from the trail otherwise. "+
				"Exactly one of `trail` and `bucket`.", bucketName()),
			"s3_key_prefix": location("The trail's S3 key prefix, without slashes at either end, when `bucket` is given; "+
				"computed from the trail otherwise. Default: none.", athenaKeyPrefix()),
			"organization_id": location("For an organization trail, the organization's id (`o-...`), when `bucket` "+
				"is given: its accounts' folders are under `AWSLogs/<organization id>/`. Computed from the trail's "+
				"bucket otherwise. Default: none, an account's trail.", organizationID()),
			"account_ids": schema.SetAttribute{ElementType: types.StringType, Required: true,
				PlanModifiers: []planmodifier.Set{setplanmodifier.RequiresReplace()},
				MarkdownDescription: "The accounts the table projects (`projection.account.values`): every account whose " +
					"folder a query may read. A query naming another account is refused, not answered with nothing.",
				Validators: []validator.Set{setvalidator.SizeAtLeast(1),
					setvalidator.ValueStringsAre(awsAccountID())}},
			"regions": schema.SetAttribute{ElementType: types.StringType, Required: true,
				PlanModifiers:       []planmodifier.Set{setplanmodifier.RequiresReplace()},
				MarkdownDescription: "The regions the table projects (`projection.region.values`).",
				Validators:          []validator.Set{setvalidator.SizeAtLeast(1), setvalidator.ValueStringsAre(knownRegion())}},
			"start_date": schema.StringAttribute{Required: true, PlanModifiers: replace,
				MarkdownDescription: "First day the date projection covers, `YYYY-MM-DD` (UTC): the day the trail started " +
					"logging, or the oldest day queries need. The projection runs to the day of each query.",
				Validators: []validator.String{isoDate()}},
			"workgroup": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString(athenaquery.DefaultWorkgroup),
				MarkdownDescription: "Athena workgroup the DDL statements run in. Changing it changes no table. Default: `" +
					athenaquery.DefaultWorkgroup + "`.",
				Validators: []validator.String{athenaWorkgroup()}},
			"output_location": schema.StringAttribute{Optional: true,
				MarkdownDescription: "Where Athena writes the statements' results, `s3://bucket/prefix/`. Required unless " +
					"the workgroup sets an output location. Changing it changes no table.",
				Validators: []validator.String{s3URL()}},
			"ddl": schema.StringAttribute{Computed: true,
				MarkdownDescription: "The `CREATE EXTERNAL TABLE` statement the table is created with, known at plan time " +
					"when the location is."},
			"location_template": schema.StringAttribute{Computed: true,
				MarkdownDescription: "The `storage.location.template` partition projection reads: " +
					"`s3://<bucket>/[<prefix>/]AWSLogs/[<organization id>/]${account}/CloudTrail/${region}/${timestamp}`."},
		},
		Blocks: map[string]schema.Block{
			"timeouts": timeouts.Block(ctx, timeouts.Opts{Create: true, Delete: true,
				CreateDescription: "How long to wait for the database and the table to be created (default `5m`).",
				DeleteDescription: "How long to wait for the table to be dropped (default `5m`)."}),
		},
	}
}

func (r *athenaTableResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.clients = clientsFrom(req.ProviderData, &resp.Diagnostics)
}

func (r *athenaTableResource) ConfigValidators(context.Context) []resource.ConfigValidator {
	return []resource.ConfigValidator{
		resourcevalidator.ExactlyOneOf(path.MatchRoot("trail"), path.MatchRoot("bucket")),
		resourcevalidator.Conflicting(path.MatchRoot("trail"), path.MatchRoot("s3_key_prefix")),
		resourcevalidator.Conflicting(path.MatchRoot("trail"), path.MatchRoot("organization_id")),
	}
}

// ModifyPlan works out the location, from the trail or from what is
// given, and the statement, so that the plan shows the statement it will
// run; it replaces the table when the statement changes (the trail moved
// to another bucket, the table was changed outside Terraform) or, before
// the statement is known, when the trail does.
func (r *athenaTableResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		return
	}
	var plan, config athenaTableModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.Config.Get(ctx, &config)...)
	if resp.Diagnostics.HasError() {
		return
	}
	// What the configuration leaves out is not there: the location
	// arguments are computed only from a trail.
	switch {
	case plan.Trail.IsNull():
		plan.S3KeyPrefix = emptyIfNull(config.S3KeyPrefix)
		plan.OrganizationID = emptyIfNull(config.OrganizationID)
	case plan.Trail.IsUnknown() || r.clients == nil:
		plan.Bucket, plan.S3KeyPrefix, plan.OrganizationID = types.StringUnknown(), types.StringUnknown(), types.StringUnknown()
	default:
		if err := plan.readTrail(ctx, r.clients); err != nil {
			resp.Diagnostics.AddAttributeError(path.Root("trail"), "Reading the trail's archive", awserr.Explain(err))
			return
		}
	}
	t, known, diags := plan.table(ctx)
	resp.Diagnostics.Append(diags...)
	if err := plan.setComputed(t, known); err != nil {
		resp.Diagnostics.AddError("Invalid Athena table", err.Error())
		return
	}
	if !req.State.Raw.IsNull() {
		var state athenaTableModel
		resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
		switch {
		case known && plan.DDL.ValueString() != state.DDL.ValueString():
			resp.RequiresReplace = append(resp.RequiresReplace, path.Root("ddl"))
		case !known && !state.Trail.IsNull() && !plan.Trail.Equal(state.Trail):
			resp.RequiresReplace = append(resp.RequiresReplace, path.Root("trail"))
		}
	}
	resp.Diagnostics.Append(resp.Plan.Set(ctx, plan)...)
}

// emptyIfNull is v, or "" for an argument left out.
func emptyIfNull(v types.String) types.String {
	if v.IsNull() {
		return types.StringValue("")
	}
	return v
}

func (r *athenaTableResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan athenaTableModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, diags := plan.Timeouts.Create(ctx, defaultAthenaTableTimeout)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	// A trail created in the same apply is read now.
	if !plan.locationKnown() {
		if err := plan.readTrail(ctx, r.clients); err != nil {
			resp.Diagnostics.AddAttributeError(path.Root("trail"), "Reading the trail's archive", awserr.Explain(err))
			return
		}
	}
	t, _, diags := plan.table(ctx)
	resp.Diagnostics.Append(diags...)
	if err := plan.setComputed(t, true); err != nil {
		resp.Diagnostics.AddError("Invalid Athena table", err.Error())
	}
	if resp.Diagnostics.HasError() {
		return
	}

	db, err := athenaquery.CreateDatabaseStatement(t.Database)
	if err == nil {
		err = r.exec(ctx, &plan, db)
	}
	if err != nil {
		resp.Diagnostics.AddError("Creating Athena database", athenaError(fmt.Errorf("creating database %s: %w", t.Database, err), timeout))
		return
	}
	if err := r.exec(ctx, &plan, plan.DDL.ValueString()); err != nil {
		resp.Diagnostics.AddError("Creating Athena table", athenaError(fmt.Errorf("creating table %s: %w", plan.ID.ValueString(), err), timeout))
		return
	}
	tflog.Debug(ctx, "created Athena table", map[string]any{"table": plan.ID.ValueString()})
	// The table exists from here on: it is saved in state whatever the
	// read back says.
	found, err := r.read(ctx, &plan)
	if err == nil && !found {
		err = errors.New("GetTableMetadata does not find it")
	}
	if err != nil {
		resp.Diagnostics.AddWarning("Reading Athena table back", "The table was created, but reading it back failed: "+
			awserr.Explain(err))
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, plan)...)
}

func (r *athenaTableResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state athenaTableModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	found, err := r.read(ctx, &state)
	if err != nil {
		resp.Diagnostics.AddError("Reading Athena table", awserr.Explain(err))
		return
	}
	if !found {
		tflog.Debug(ctx, "Athena table is gone; removing it from state", map[string]any{"table": state.ID.ValueString()})
		resp.State.RemoveResource(ctx)
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, state)...)
}

// Update changes only where the statements run: the table stays as it is.
func (r *athenaTableResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan athenaTableModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(resp.State.Set(ctx, plan)...)
}

func (r *athenaTableResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state athenaTableModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, diags := state.Timeouts.Delete(ctx, defaultAthenaTableTimeout)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	drop, err := athenaquery.Table{Database: state.Database.ValueString(), Name: state.Name.ValueString()}.DropStatement()
	if err == nil {
		err = r.exec(ctx, &state, drop)
	}
	if err != nil {
		resp.Diagnostics.AddError("Dropping Athena table", athenaError(fmt.Errorf("dropping table %s: %w", state.ID.ValueString(), err), timeout))
		return
	}
	tflog.Debug(ctx, "dropped Athena table", map[string]any{"table": state.ID.ValueString()})
}

// ImportState takes database.table.
func (r *athenaTableResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	database, name, ok := strings.Cut(req.ID, ".")
	if ok {
		if err := errors.Join(athenaquery.CheckIdentifier("database", database), athenaquery.CheckIdentifier("table", name)); err != nil {
			resp.Diagnostics.AddError("Invalid import id", fmt.Sprintf("Import an Athena table as database.table: %s.", err))
			return
		}
	} else {
		resp.Diagnostics.AddError("Invalid import id", fmt.Sprintf("Import an Athena table as database.table, not %q.", req.ID))
		return
	}
	for attr, v := range map[string]string{"id": req.ID, "database": database, "name": name, "workgroup": athenaquery.DefaultWorkgroup} {
		resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root(attr), v)...)
	}
}

// read fills m from GetTableMetadata; found is false when the table or
// its database is gone.
func (r *athenaTableResource) read(ctx context.Context, m *athenaTableModel) (found bool, err error) {
	database, name := m.Database.ValueString(), m.Name.ValueString()
	out, err := r.clients.Athena("").GetTableMetadata(ctx, &athena.GetTableMetadataInput{
		CatalogName: aws.String(athenaquery.Catalog), DatabaseName: aws.String(database), TableName: aws.String(name),
	})
	if entityNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("reading table %s: %w", athenaTableID(database, name), err)
	}
	t, shapeErr := athenaquery.TableFromMetadata(database, out.TableMetadata)
	if shapeErr != nil {
		tflog.Warn(ctx, "the Athena table is not of the shape this resource creates; the next apply replaces it",
			map[string]any{"table": athenaTableID(database, name), "difference": shapeErr.Error()})
	}
	diags := m.fill(ctx, t, shapeErr == nil)
	if diags.HasError() {
		return true, fmt.Errorf("reading table %s: %v", athenaTableID(database, name), diags)
	}
	return true, nil
}

// entityNotFound reports whether err is the Glue Data Catalog's answer for
// a database or table it does not have.
func entityNotFound(err error) bool {
	var me *athenatypes.MetadataException
	return errors.As(err, &me) && strings.Contains(me.ErrorMessage(), "EntityNotFoundException")
}

// exec runs one DDL statement where m says.
func (r *athenaTableResource) exec(ctx context.Context, m *athenaTableModel, sql string) error {
	_, err := athenaquery.Exec(ctx, r.clients.Athena(""), athenaquery.Statement{
		SQL: sql, Workgroup: m.Workgroup.ValueString(), OutputLocation: m.OutputLocation.ValueString(),
	})
	return err
}

// athenaError is the detail of a failed statement: the error, what to do
// about it, and the timeout when it ran out.
func athenaError(err error, timeout time.Duration) string {
	msg := awserr.Explain(err)
	var qe *athenaquery.QueryError
	if errors.As(err, &qe) && strings.Contains(qe.Reason, "AlreadyExistsException") {
		msg += ". A table of this name already exists: import it (terraform import <address> database.table) or " +
			"choose another name."
	}
	if errors.Is(err, context.DeadlineExceeded) {
		msg += fmt.Sprintf("\n\nThe statement did not finish within %s; raise the timeouts block's value.", timeout)
	}
	return msg
}

var athenaWorkgroupPattern = regexp.MustCompile(`^[a-zA-Z0-9._-]{1,128}$`)

func athenaIdentifier(what string) validator.String {
	return stringCheck{description: "value must be an Athena " + what + " name", check: func(s string) string {
		if err := athenaquery.CheckIdentifier(what, s); err != nil {
			return err.Error() + "."
		}
		return ""
	}}
}

func athenaWorkgroup() validator.String {
	return stringCheck{description: "value must be an Athena workgroup name", check: func(s string) string {
		if !athenaWorkgroupPattern.MatchString(s) {
			return fmt.Sprintf("%q is not a workgroup name: 1 to 128 letters, digits, periods, underscores and hyphens.", s)
		}
		return ""
	}}
}

// athenaKeyPrefix checks a key prefix as the trail and the table both
// take it.
func athenaKeyPrefix() validator.String {
	return stringCheck{description: "value must be a CloudTrail S3 key prefix", check: func(s string) string {
		if err := athenaquery.CheckKeyPrefix(s); err != nil {
			return err.Error() + "."
		}
		if err := bucketpolicy.ValidateKeyPrefix(s); err != nil {
			return err.Error() + "."
		}
		return ""
	}}
}

func isoDate() validator.String {
	return stringCheck{description: "value must be a date, YYYY-MM-DD", check: func(s string) string {
		if _, err := time.Parse(time.DateOnly, s); err != nil {
			return fmt.Sprintf("%q is not a date such as \"2024-01-31\".", s)
		}
		return ""
	}}
}

func s3URL() validator.String {
	return stringCheck{description: "value must be an s3:// URL", check: func(s string) string {
		u, err := url.Parse(s)
		if err != nil || u.Scheme != "s3" || bucketNameProblem(u.Host) != "" {
			return fmt.Sprintf("%q is not an S3 location such as \"s3://query-results-bucket/athena/\".", s)
		}
		return ""
	}}
}
