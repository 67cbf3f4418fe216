locals {
  account_name   = "dev"
  aws_account_id = "222222222222"
}
