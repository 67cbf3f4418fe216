terraform {
  cloud {
    organization = "acme"
    hostname     = "tfe.acme.internal"

    workspaces {
      name = "billing-prod"
    }
  }
}
