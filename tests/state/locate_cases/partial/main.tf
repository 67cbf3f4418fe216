terraform {
  backend "s3" {
    region         = "eu-west-1"
    dynamodb_table = "tf-locks"
  }
}
