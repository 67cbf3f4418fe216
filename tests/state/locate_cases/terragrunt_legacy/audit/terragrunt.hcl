include {
  path = find_in_parent_folders()
}

remote_state {
  backend = "s3"
  config = {
    bucket = "audit-${get_aws_account_id()}"
    key    = "audit/terraform.tfstate"
    region = "us-east-1"
  }
}
