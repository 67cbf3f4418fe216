terraform {
  backend "remote" {
    organization = "acme"

    workspaces {
      prefix = "app-"
    }
  }
}
