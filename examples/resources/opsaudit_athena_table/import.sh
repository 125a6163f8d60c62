# By database and table name:
terraform import opsaudit_athena_table.org audit.cloudtrail_org
