# Against AWS: credentials and region come from the usual AWS environment.
provider "opsaudit" {
  region = "us-east-1"
}

# Against the sandbox (`opsaudit-sandbox -addr 127.0.0.1:4599`).
provider "opsaudit" {
  alias                      = "sandbox"
  region                     = "us-east-1"
  access_key                 = "test"
  secret_key                 = "test"
  s3_use_path_style          = true
  lookup_requests_per_second = 2

  endpoints {
    cloudtrail = "http://127.0.0.1:4599"
    s3         = "http://127.0.0.1:4599"
    sts        = "http://127.0.0.1:4599"
    athena     = "http://127.0.0.1:4599"
  }
}
