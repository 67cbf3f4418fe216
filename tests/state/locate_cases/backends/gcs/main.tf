terraform {
  backend "gcs" {
    bucket = "acme-tf"
    prefix = "env/prod/"
  }
}
