# no remote_state: the backend block is generated instead
generate "backend" {
  path      = "backend.tf"
  if_exists = "overwrite_terragrunt"
  contents  = <<EOF
terraform {
  backend "s3" {
    bucket = "acme-edge-tfstate"
    key    = "${basename(get_terragrunt_dir())}/edge.tfstate"
    region = "us-west-2"
  }
}
EOF
}
