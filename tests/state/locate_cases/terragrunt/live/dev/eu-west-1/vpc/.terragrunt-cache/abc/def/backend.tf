terraform {
  backend "s3" {
    bucket = "acme-tfstate-dev"
    key    = "dev/eu-west-1/vpc/terraform.tfstate"
    region = "eu-west-1"
  }
}
