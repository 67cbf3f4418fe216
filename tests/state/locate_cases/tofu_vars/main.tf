# OpenTofu >= 1.8 evaluates variables and locals in backend blocks early
terraform {
  backend "s3" {
    bucket = var.state_bucket
    key    = "${local.component}/${var.env}/terraform.tfstate"
    region = "eu-central-1"
  }
}

locals {
  component = "billing"
}
