remote_state {
  backend = "gcs"
  config = {
    bucket   = "acme-tf"
    prefix   = "${path_relative_to_include()}"
    project  = "acme-infra"
    location = "eu"
  }
}
