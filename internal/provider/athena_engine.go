package provider

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	athenatypes "github.com/aws/aws-sdk-go-v2/service/athena/types"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/archive"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/athenaquery"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/awsclient"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/awserr"
)

// The engine arguments of the data sources that read a trail's archive
// (opsaudit_archive_events, opsaudit_compliance with events_from =
// "archive"): engine and the athena block. The location, window and
// filter arguments stay the data source's: they say what the query is
// about, the engine only how it is read.

// Engines that read the archive.
const (
	engineS3     = "s3"
	engineAthena = "athena"
)

// defaultAthenaTimeout bounds an Athena read: queries over months of an
// organization's logs take minutes.
const defaultAthenaTimeout = 10 * time.Minute

// athenaEngineModel is the athena block.
type athenaEngineModel struct {
	Database       types.String `tfsdk:"database"`
	Table          types.String `tfsdk:"table"`
	Workgroup      types.String `tfsdk:"workgroup"`
	OutputLocation types.String `tfsdk:"output_location"`
	Timeout        types.String `tfsdk:"timeout"`
}

// engineAttribute is the engine argument; note says what goes with it in
// the data source.
func engineAttribute(note string) schema.StringAttribute {
	return schema.StringAttribute{
		Optional: true,
		MarkdownDescription: "How the archive is read: `s3`, the direct scan, which lists the day folders of the " +
			"accounts and regions named and reads every log file in them on the machine that runs Terraform; or " +
			"`athena`, which asks Amazon Athena through the table of the `athena` block (see `opsaudit_athena_table` " +
			"and the guide \"Querying an organization's archive with Athena\"). Both return the same totals, counts " +
			"and events; events read through Athena carry no `log_file`. " + note + " Default: `s3`.",
		Validators: []validator.String{stringvalidator.OneOf(engineS3, engineAthena)},
	}
}

// athenaEngineBlock is the athena block.
func athenaEngineBlock() schema.SingleNestedBlock {
	return schema.SingleNestedBlock{
		MarkdownDescription: "The Athena table to query with `engine = \"athena\"`: one `opsaudit_athena_table` created " +
			"over the same archive, projecting every account and region the query names from a day on or before " +
			"the window's first.",
		Attributes: map[string]schema.Attribute{
			"database": schema.StringAttribute{Optional: true, MarkdownDescription: "The table's database. Required in the block.",
				Validators: []validator.String{athenaIdentifier("database")}},
			"table": schema.StringAttribute{Optional: true, MarkdownDescription: "The table's name. Required in the block.",
				Validators: []validator.String{athenaIdentifier("table")}},
			"workgroup": schema.StringAttribute{Optional: true,
				MarkdownDescription: "Workgroup the queries run in. Default: `" + athenaquery.DefaultWorkgroup + "`.",
				Validators:          []validator.String{athenaWorkgroup()}},
			"output_location": schema.StringAttribute{Optional: true,
				MarkdownDescription: "Where Athena writes the results, `s3://bucket/prefix/`. Required unless the " +
					"workgroup sets an output location.",
				Validators: []validator.String{s3URL()}},
			"timeout": schema.StringAttribute{Optional: true,
				MarkdownDescription: "How long the queries may take, a duration such as `10m`; past it the running query " +
					"is stopped (StopQueryExecution), as it is when Terraform is interrupted. Default: `10m`.",
				Validators: []validator.String{durationBetween(time.Second, 24*time.Hour)}},
		},
	}
}

// engineConflict is an argument the Athena engine cannot honour, when set
// is true: refused at plan time, with why.
type engineConflict struct {
	attr string
	set  bool
	why  string
}

// notPushedDown is why the filters Athena's SQL cannot express exactly
// are refused rather than applied to the rows it returns.
const notPushedDown = "is not pushed down to Athena: its SQL has no portable way to test it exactly (Trino's IPADDRESS " +
	"type, lambdas over the resources array), and a filter applied to the rows Athena returns would make the totals wrong"

// validateEngine checks the engine arguments at plan time: the athena
// block goes with engine = "athena", and with it none of conflicts.
func validateEngine(engine types.String, block *athenaEngineModel, conflicts []engineConflict, diags *diag.Diagnostics) {
	athena := engine.ValueString() == engineAthena
	switch {
	case engine.IsUnknown():
		return
	case athena && block == nil:
		diags.AddAttributeError(path.Root("engine"), "Missing athena block",
			`engine = "athena" queries a table: add an athena block with the database and table of an opsaudit_athena_table.`)
		return
	case !athena && block != nil:
		diags.AddAttributeError(path.Root("athena"), "Athena block without the Athena engine",
			`The athena block is read only with engine = "athena": set it, or remove the block.`)
		return
	case !athena:
		return
	}
	for attr, v := range map[string]types.String{"database": block.Database, "table": block.Table} {
		if v.IsNull() {
			diags.AddAttributeError(path.Root("athena").AtName(attr), "Missing "+attr,
				fmt.Sprintf("The athena block needs the %s of the table to query.", attr))
		}
	}
	for _, c := range conflicts {
		if c.set {
			diags.AddAttributeError(path.Root(c.attr), "Argument not available with the Athena engine",
				fmt.Sprintf(`%s %s. Use engine = "s3" for it, or remove it.`, c.attr, c.why))
		}
	}
}

// archiveRead is a read of a trail's archive: the engine and athena
// block the data source was given, the bucket and the question.
type archiveRead struct {
	Engine types.String
	Block  *athenaEngineModel
	Bucket string
	Query  archive.Query
}

// engineOf is the engine a configuration names; the direct scan when it
// names none.
func engineOf(engine types.String) string {
	if engine.IsNull() || engine.IsUnknown() {
		return engineS3
	}
	return engine.ValueString()
}

// readArchive reads the archive with the engine r names and returns the
// ids of the Athena queries it ran. The error of an Athena read says what
// to do about it (athenaFailure); that of the direct scan is the engine's.
func readArchive(ctx context.Context, clients *awsclient.Clients, r archiveRead) (*archive.Result, []string, error) {
	if engineOf(r.Engine) != engineAthena {
		res, err := archive.Run(ctx, r.Query)
		return res, nil, err
	}
	res, err := runAthena(ctx, clients, r)
	if err != nil {
		return nil, nil, errors.New(athenaFailure(err))
	}
	return &res.Result, res.QueryExecutionIDs, nil
}

// runAthena asks Athena the question the data source would ask the
// direct scan, within the block's timeout.
func runAthena(ctx context.Context, clients *awsclient.Clients, r archiveRead) (*athenaquery.Result, error) {
	timeout := defaultAthenaTimeout
	if t := r.Block.Timeout.ValueString(); t != "" {
		// The validator has accepted the duration.
		timeout, _ = time.ParseDuration(t)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	q := r.Query
	res, err := athenaquery.Run(ctx, athenaquery.Query{
		Client:   clients.Athena(""),
		Database: r.Block.Database.ValueString(), Table: r.Block.Table.ValueString(),
		Workgroup: r.Block.Workgroup.ValueString(), OutputLocation: r.Block.OutputLocation.ValueString(),
		Bucket: r.Bucket, Location: q.Location, AccountIDs: q.AccountIDs, Regions: q.Regions,
		Start: q.Start, End: q.End, Filter: q.Filter, MaxEvents: q.MaxEvents,
	})
	if errors.Is(err, context.DeadlineExceeded) {
		return nil, fmt.Errorf("%w; the query did not finish within %s: raise the athena block's timeout, or narrow the "+
			"window, accounts or regions", err, timeout)
	}
	if errors.Is(err, context.Canceled) {
		return nil, fmt.Errorf("%w; Terraform was interrupted, and the query stopped", err)
	}
	if err != nil {
		return nil, err
	}
	return res, nil
}

// queryAdvice says what to do about a query Athena failed, by the error
// name that starts its reason (Athena's error catalog, "Troubleshoot
// issues" in its user guide): the provider writes the SQL, so what fails
// is the data, the table, the permissions or Athena's limits.
var queryAdvice = map[string]string{
	"HIVE_CURSOR_ERROR": badFile, "HIVE_BAD_DATA": badFile, "HIVE_CANNOT_OPEN_SPLIT": badFile,
	"TABLE_NOT_FOUND": noTable, "SCHEMA_NOT_FOUND": noTable,
	"HIVE_INVALID_METADATA": "The table's definition is not one Athena can read: recreate it with opsaudit_athena_table " +
		"(terraform apply replaces a table changed outside Terraform).",
	"HIVE_EXCEEDED_PARTITION_LIMIT": "The query names more partitions than Athena reads at once: name fewer accounts or " +
		"regions, or a shorter window, and read the rest in another data source.",
	"PERMISSION_DENIED": athenaS3Access, "HIVE_FILESYSTEM_ERROR": athenaS3Access,
	"EXCEEDED_TIME_LIMIT": tooBig, "EXCEEDED_MEMORY_LIMIT": tooBig, "EXCEEDED_CPU_LIMIT": tooBig,
}

const (
	badFile = "A file under the table's location is not a CloudTrail log file Athena can read (the reason names it), " +
		"and Athena fails the whole query for it: move it out of the trail's folders, or read with engine = \"s3\" " +
		"and on_file_error = \"warn\", which lists such files in files_failed and reads the others."
	noTable = "The table or its database no longer exists: terraform apply recreates a table of opsaudit_athena_table " +
		"dropped outside Terraform; otherwise check the athena block's database and table, and the provider's region."
	athenaS3Access = "Athena could not read the trail's bucket or write the output location with the caller's " +
		"credentials: grant s3:ListBucket and s3:GetObject on the trail's bucket (and kms:Decrypt on its key), and " +
		"s3:PutObject on the output location."
	tooBig             = "The query outgrew Athena's limits for the workgroup: name fewer accounts or regions, or a shorter window."
	cancelledElsewhere = "Something other than the provider cancelled the query: another caller's " +
		"StopQueryExecution, or the workgroup's per-query data usage control; raise the control or narrow the query, " +
		"and run again."
)

// athenaFailure is err, the failure of an Athena read, with what to do
// about it.
func athenaFailure(err error) string {
	var qe *athenaquery.QueryError
	if !errors.As(err, &qe) {
		return awserr.Explain(err)
	}
	if qe.State == athenatypes.QueryExecutionStateCancelled {
		return err.Error() + ". " + cancelledElsewhere
	}
	name, _, _ := strings.Cut(qe.Reason, ":")
	if a, ok := queryAdvice[name]; ok {
		return err.Error() + ". " + a
	}
	if qe.Retryable {
		return err.Error() + ". Run the plan again."
	}
	return err.Error()
}
